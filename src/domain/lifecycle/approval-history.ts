/**
 * Every approval a request was given, read from its audit records (the trail is the source of truth:
 * the stored row lists only the approvals that still count), each with what became of it:
 *
 * - held: no later record took it away (what became of the request itself is another matter);
 * - voided by a change that needed re-approval (`drift.detected` drops every approval then held),
 *   then, when the same person's authority approved again after it, superseded by that re-approval;
 * - withdrawn by an `approval.revoked`: the one naming the delegation it was given under (revoked,
 *   replaced or ended), or one at the claim that failed the request (an approver lost the role, the
 *   policy tightened, the row not as recorded...), which ends every approval then held; and, when
 *   the same person's authority approved again after it, given again.
 *
 * An evidence bundle's summary lists them all, so a compliance reviewer sees approvals that no
 * longer count as well as those that do.
 */
import type { AuditRecord } from '../audit';
import type { Actor } from '../request';

/** A later approval by the same person's authority: its time and record. */
interface GivenAgain {
  at: string;
  seq: number;
}

export type ApprovalFate =
  | { kind: 'held' }
  | { kind: 'voided'; at: string; seq: number; again?: GivenAgain }
  | { kind: 'withdrawn'; at: string; seq: number; reason?: string; detail?: string; again?: GivenAgain };

export interface GivenApproval {
  /** The `approval.granted` record's seq and time. */
  seq: number;
  at: string;
  approver: Actor;
  operationHash: string;
  onBehalfOf?: Actor;
  delegationId?: string;
  /** For a quorum: the requirement it filled, as the record names it. */
  requirement?: string;
  fate: ApprovalFate;
}

function actorIn(value: unknown): Actor | undefined {
  const a = value as Partial<Actor> | null | undefined;
  return a && typeof a === 'object' && typeof a.aadObjectId === 'string' && typeof a.name === 'string' ? { aadObjectId: a.aadObjectId, tenantId: String(a.tenantId ?? ''), name: a.name } : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Whose authority an approval carries: the delegator's for a delegate, else the approver's. */
function principal(a: Pick<GivenApproval, 'approver' | 'onBehalfOf'>): string {
  return (a.onBehalfOf ?? a.approver).aadObjectId.toLowerCase();
}

function given(x: AuditRecord, approver: Actor): GivenApproval {
  const data = x.data ?? {};
  const onBehalfOf = actorIn(data.onBehalfOf);
  const delegationId = text(data.delegationId);
  const requirement = text(data.requirement);
  return {
    seq: x.seq,
    at: x.time,
    approver,
    operationHash: String(x.request?.operationHash ?? ''),
    ...(onBehalfOf ? { onBehalfOf } : {}),
    ...(delegationId ? { delegationId } : {}),
    ...(requirement ? { requirement } : {}),
    fate: { kind: 'held' },
  };
}

/** Every approval of request `requestId` its records (in seq order) show given, oldest first, each with its fate. */
export function approvalHistory(events: readonly AuditRecord[], requestId: string): GivenApproval[] {
  const all: GivenApproval[] = [];
  let held: GivenApproval[] = [];
  for (const x of events) {
    if (x.request?.id !== requestId) continue;
    if (x.type === 'approval.granted') {
      const approver = actorIn(x.actor);
      if (!approver) continue;
      const approval = given(x, approver);
      // An earlier approval of the same authority that no longer counted is given again by this one.
      for (const earlier of all) {
        if (earlier.fate.kind !== 'held' && !earlier.fate.again && principal(earlier) === principal(approval)) earlier.fate.again = { at: x.time, seq: x.seq };
      }
      all.push(approval);
      held.push(approval);
    } else if (x.type === 'drift.detected') {
      for (const a of held) a.fate = { kind: 'voided', at: x.time, seq: x.seq };
      held = [];
    } else if (x.type === 'approval.revoked') {
      const ids = x.data?.delegationIds;
      // Naming delegations: only the approvals given under them; else (at the claim) every one then held.
      const ended = Array.isArray(ids) ? held.filter((a) => a.delegationId !== undefined && ids.includes(a.delegationId)) : held;
      const reason = text(x.outcome.reason);
      const detail = text(x.outcome.detail);
      for (const a of ended) a.fate = { kind: 'withdrawn', at: x.time, seq: x.seq, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) };
      held = held.filter((a) => !ended.includes(a));
    }
  }
  return all;
}
