/**
 * Recording an operator's acceptance that audit records are lost, so Countersign may start again
 * on what is left. The acceptance is an audit record like any other step: it names who, why, and
 * what was found missing, and it is chained and checkpointed from then on.
 */
import { lossAcceptedEvent, type AuditLossAcceptance } from '../domain/audit-loss';
import type { AuditRecord } from '../domain/audit';
import type { Clock, Store } from './ports';

export class LossAcceptanceError extends Error {}

export async function acceptAuditLoss(deps: { store: Store; clock: Clock }, acceptance: AuditLossAcceptance): Promise<AuditRecord[]> {
  if (!acceptance.reason.trim()) throw new LossAcceptanceError('accepting a loss of audit records needs a reason (--reason "...")');
  if (acceptance.problems.length === 0) throw new LossAcceptanceError('there is no loss to accept: the audit database matches every checkpoint');
  return deps.store.audit.append([lossAcceptedEvent(acceptance, deps.clock.now().toISOString())]);
}
