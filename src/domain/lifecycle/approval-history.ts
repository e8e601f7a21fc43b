/**
 * Every approval a request was given, read from its audit records (the trail is the source of truth:
 * the stored row lists only the approvals that still count), each with what became of it:
 *
 * - held: no later record took it away (what became of the request itself is another matter);
 * - voided by a change that needed re-approval (`drift.detected` drops every approval then held),
 *   then, when the same person's authority approved again after it, superseded by that re-approval;
 * - withdrawn by an `approval.revoked`: the one naming it (`data.approvals`, at a claim failed because
 *   approvals no longer count: only those, each with its own reason; the others still held), the one
 *   naming the delegation it was given under (revoked, replaced or ended), or one at the claim that
 *   names neither for approvals that no longer count (`approver-lost-role` in a record written before
 *   claims named them), which ends every approval then held; and, when the same person's authority
 *   approved again after it, given again.
 *
 * An `approval.revoked` about none of the approvals (the policy tightened, the requester lost the
 * role, the command was removed, a reason or conversation rule tightened, the row not as its records
 * say) refused the request as a whole: its approvals stay held, and wholeRequestRefusals names it.
 *
 * An evidence bundle's summary lists them all, so a compliance reviewer sees approvals that no
 * longer count as well as those that do.
 */
import type { AuditRecord } from '../audit';
import { RefusalReason } from '../refusal';
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

/** An approval an `approval.revoked` record names as no longer counting (claim.ts): its approval.granted record's actor, on whose behalf, and time; and why. */
interface NamedLapse {
  approver: string;
  onBehalfOf?: string;
  at?: string;
  why?: string;
}

/** The approvals a record's `data.approvals` names, or undefined when it names none one by one (an older record, or one of another kind). */
function lapsedIn(value: unknown): NamedLapse[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((v: unknown) => {
    const e = v as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || typeof e.approver !== 'string') return [];
    const onBehalfOf = text(e.onBehalfOf);
    const at = text(e.at);
    const why = text(e.why);
    return [{ approver: e.approver.toLowerCase(), ...(onBehalfOf ? { onBehalfOf: onBehalfOf.toLowerCase() } : {}), ...(at ? { at } : {}), ...(why ? { why } : {}) }];
  });
}

/**
 * Whether a named lapse is this held approval: the same approver, on the same person's behalf (or on
 * nobody's); and, when more than one held approval is that, the one given at the time it names.
 */
function names(n: NamedLapse, a: GivenApproval, held: readonly GivenApproval[]): boolean {
  const same = (g: GivenApproval) => g.approver.aadObjectId.toLowerCase() === n.approver && g.onBehalfOf?.aadObjectId.toLowerCase() === n.onBehalfOf;
  if (!same(a)) return false;
  return held.filter(same).length === 1 || n.at === undefined || Date.parse(n.at) === Date.parse(a.at);
}

/** The reasons an `approval.revoked` gives for approvals that no longer count, whether or not it names them. */
const ABOUT_APPROVALS: ReadonlySet<string> = new Set([RefusalReason.ApproverLostRole, RefusalReason.DelegationRevoked, RefusalReason.DelegationEnded, RefusalReason.DriftDetected]);

/**
 * Whether an `approval.revoked` refused the request as a whole, for a reason about none of its
 * approvals: it names no approval (`data.approvals`) and no delegation (`data.delegationIds`), and its
 * reason is not one of approvals that no longer count.
 */
function refusesWholeRequest(x: AuditRecord): boolean {
  return x.type === 'approval.revoked' && !Array.isArray(x.data?.approvals) && !Array.isArray(x.data?.delegationIds) && !ABOUT_APPROVALS.has(String(x.outcome.reason));
}

/** An `approval.revoked` that refused the request as a whole: its time, record, reason and words. */
export interface WholeRequestRefusal {
  at: string;
  seq: number;
  reason?: string;
  detail?: string;
}

/** The records of request `requestId` (in seq order) that refused it as a whole, withdrawing no approval. */
export function wholeRequestRefusals(events: readonly AuditRecord[], requestId: string): WholeRequestRefusal[] {
  return events
    .filter((x) => x.request?.id === requestId && refusesWholeRequest(x))
    .map((x) => {
      const reason = text(x.outcome.reason);
      const detail = text(x.outcome.detail);
      return { at: x.time, seq: x.seq, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) };
    });
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
    } else if (x.type === 'approval.revoked' && !refusesWholeRequest(x)) {
      const ids = x.data?.delegationIds;
      const named = lapsedIn(x.data?.approvals);
      // Naming the approvals (at the claim): those alone, each for its own reason; naming delegations: the
      // approvals given under them; else (a claim's record of approvals lapsed, written before it named them)
      // every one then held. One about none of them (refusesWholeRequest) leaves them held.
      const ended = named
        ? held.flatMap((a) => {
            const entry = named.find((n) => names(n, a, held));
            return entry ? [{ a, why: entry.why }] : [];
          })
        : (Array.isArray(ids) ? held.filter((a) => a.delegationId !== undefined && ids.includes(a.delegationId)) : held).map((a) => ({ a, why: undefined }));
      const detail = text(x.outcome.detail);
      for (const { a, why } of ended) {
        const reason = why ?? text(x.outcome.reason);
        a.fate = { kind: 'withdrawn', at: x.time, seq: x.seq, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) };
      }
      held = held.filter((a) => !ended.some((e) => e.a === a));
    }
  }
  return all;
}
