/**
 * The message telling the requester how their request ended (an execution's outcome, a rejection,
 * an expiry, a refusal at the claim), owed until Teams took it. It is recorded
 * on the request in the same write as the outcome, so a run that dies between that write and the
 * message leaves it owed for another run (or the next start) to send; the run that sent it removes it.
 * Each run takes it by a compare-and-swap before sending, so of several instances one sends it, and
 * a taken message is left to its run for `holdMs` (or, with no other instance on the store, until
 * that run's process is gone).
 */
import { RefusalReason } from '../refusal';
import type { ApprovalRequest } from '../request';
import { bookkeeping, refuse, type Transition } from './transition';

/** When an owed message may be taken by a run other than the one that last took it. */
interface OwedMessageTaking {
  now: Date;
  /** How long the run that took it may still be sending it. */
  holdMs: number;
  /** No other instance runs on the store since then: a message taken before it is a dead run's. */
  onlyInstanceSince?: Date;
}

/**
 * The outcome just recorded, with its message owed and taken by the run recording it. `text`, for an
 * end other than an execution's outcome (whose message is written from the request when it is sent):
 * the message, from the request as the change left it; when it answers undefined, nothing is owed.
 */
export function oweOutcomeMessage(t: Transition, now: Date, text?: (r: ApprovalRequest) => string | undefined): Transition {
  if (!t.ok) return t;
  const message = text ? text(t.request) : undefined;
  if (text && message === undefined) return t;
  const at = now.toISOString();
  return { ...t, request: { ...t.request, outcomeMessage: { since: at, takenAt: at, attempts: 1, ...(message !== undefined ? { text: message } : {}) } } };
}

/** Whether the request's outcome message is owed and no live run may be sending it. */
export function outcomeMessageFree(r: ApprovalRequest, when: OwedMessageTaking): boolean {
  const owed = r.outcomeMessage;
  if (!owed) return false;
  const taken = Date.parse(owed.takenAt);
  if (when.onlyInstanceSince && taken < when.onlyInstanceSince.getTime()) return true;
  return !(taken + when.holdMs > when.now.getTime());
}

/** Takes the owed message for this run: one more attempt, held from now. Refused when none is owed or another run holds it. */
export function takeOutcomeMessage(r: ApprovalRequest, when: OwedMessageTaking): Transition {
  if (!outcomeMessageFree(r, when)) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no outcome message to send, or another run is sending it.`);
  const owed = r.outcomeMessage!;
  return { ok: true, request: bookkeeping(r, when.now, { outcomeMessage: { ...owed, takenAt: when.now.toISOString(), attempts: owed.attempts + 1 } }), events: [] };
}

/** The owed message is settled: Teams took it, or it is given up (refused for good, too old, tried too often). */
export function settleOutcomeMessage(r: ApprovalRequest, now: Date): Transition {
  if (!r.outcomeMessage) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no outcome message owed.`);
  const { outcomeMessage: _settled, ...rest } = r;
  return { ok: true, request: bookkeeping(rest, now, {}), events: [] };
}
