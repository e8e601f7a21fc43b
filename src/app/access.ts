/**
 * The tenant gate: every activity, whatever it is, passes it before anything else happens. A
 * refusal is audited (who, from where, what kind of activity) and told to the sender in words.
 */
import { neutralise } from '../domain/audit';
import { RefusalReason } from '../domain/refusal';
import type { Actor, Source } from '../domain/request';
import type { AppDeps } from './context';

export type Admission = { ok: true } | { ok: false; message: string };

export async function admit(deps: AppDeps, actor: Actor, source: Source, activityType: string): Promise<Admission> {
  if (deps.config.access.tenantAllowed(actor.tenantId)) return { ok: true };
  await deps.store.audit.append([
    neutralise({
      type: 'tenant.refused' as const,
      time: deps.clock.now().toISOString(),
      actor,
      source,
      outcome: { result: 'refused' as const, reason: RefusalReason.TenantNotAllowed, detail: `activity type ${activityType}` },
    }),
  ]);
  deps.log.warn({ tenantId: actor.tenantId, activityType }, 'tenant refused');
  return { ok: false, message: `Tenant ${actor.tenantId || '(none)'} is not allowed to use Countersign.` };
}
