/**
 * Recording an operator's acceptance that audit records are lost, so Countersign may start again
 * on what is left. The acceptance is an audit record like any other step: it names who, why, and
 * what was found missing, and it is chained and checkpointed from then on.
 */
import { lossAcceptedEvent, type AuditLossAcceptance } from '../domain/audit-loss';
import type { AuditRecord } from '../domain/audit';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { ApprovalRequest } from '../domain/request';
import { expireAfterAuditLoss, OPEN_AT_AUDIT_LOSS } from '../domain/lifecycle';
import type { Clock, Store } from './ports';

export class LossAcceptanceError extends Error {}

/**
 * `recordsLost` false: only the signing key is gone (every record its checkpoints name still there as
 * signed), so nothing that ran or was decided can be missing and no open request is expired.
 */
export async function acceptAuditLoss(deps: { store: Store; clock: Clock }, acceptance: AuditLossAcceptance, recordsLost = true): Promise<{ records: AuditRecord[]; expired: string[] }> {
  if (!acceptance.reason.trim()) throw new LossAcceptanceError('accepting a loss of audit records needs a reason (--reason "...")');
  if (acceptance.problems.length === 0) throw new LossAcceptanceError('there is no loss to accept: the audit database matches every checkpoint');
  // First: a command killed between the two leaves them expired and the loss still to accept, never the
  // loss accepted (the start then goes on) with requests that may have run still open.
  const expired = recordsLost ? await expireOpenAfterLoss(deps, acceptance.head?.seq) : [];
  return { records: await deps.store.audit.append([lossAcceptedEvent(acceptance, deps.clock.now().toISOString())]), expired };
}

/**
 * After an accepted loss: the requests left open (waiting for approval, approved or scheduled)
 * expire, unrun. The records lost may be their claim and execution (a write-ahead log cut short after
 * Azure ran them), and a request that ran leaves its target as approved only sometimes (a restart, a
 * start), so the drift check before a run cannot be relied on to stop a second run. For one left
 * waiting for approval they may be its approval and execution, or its rejection: its card offered
 * again, a second approval would run it twice or overturn the rejection, with nothing on the card to
 * say so. Returns the ids expired. Run with every instance stopped, as accept-loss is.
 */
async function expireOpenAfterLoss(deps: { store: Store; clock: Clock }, head: number | undefined): Promise<string[]> {
  const expired: string[] = [];
  for (const r of await deps.store.requests.list({ states: [...OPEN_AT_AUDIT_LOSS] })) {
    const t = expireAfterAuditLoss(r, deps.clock.now(), head);
    if (!t.ok) continue;
    await deps.store.requests.update(t.request, r.version, t.events);
    expired.push(r.id);
  }
  return expired;
}

/**
 * Why a click on a request an accepted loss of audit records expired is refused, said as that (not
 * only "has expired"): what was lost may hold its approval and run, or its rejection. Undefined when
 * the request did not end so.
 */
export function refusalAfterAuditLoss(r: ApprovalRequest, verb: string): Refusal | undefined {
  const loss = r.state === 'expired' ? r.expiredAtAuditLoss : undefined;
  if (!loss) return undefined;
  const done = verb === 'reject' ? 'rejected' : verb === 'cancel' ? 'cancelled' : verb === 'approve' ? 'approved' : 'decided';
  const log = loss.head === null ? 'the log was then empty' : `the log then ended at record ${loss.head}`;
  return refusal(
    RefusalReason.Expired,
    `Request ${r.id} expired, unrun, when a loss of audit records was accepted (countersign audit accept-loss; ${log}), so it can no longer be ${done}: what was lost may show it was already approved and ran, or was rejected or cancelled. Check the target in Azure; ask for it again if it is still needed.`,
    r.id,
  );
}
