/**
 * The message telling the requester how their request ended (an execution's outcome, a rejection,
 * an expiry, a refusal at the claim), or of a stored change that did not end it (it needs approving
 * again after a drift, it missed its maintenance window, it was escalated, its break-glass use was
 * flagged), owed until Teams took it. It is recorded
 * on the request in the same write as the outcome, so a run that dies between that write and the
 * message leaves it owed for another run (or the next start) to send; the run that sent it removes it.
 * Each run takes it by a compare-and-swap before sending, so of several instances one sends it, and
 * a taken message is left to its run for `holdMs` (or, with no other instance on the store, until
 * that run's process is gone).
 */
import { documentationLinks, failureCause } from '../failure-cause';
import { RefusalReason } from '../refusal';
import type { ApprovalRequest, OwedMessage } from '../request';
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
 * The change just recorded, with its message owed and taken by the run recording it. `text`, for a
 * change other than an execution's outcome (whose message is written from the request when it is
 * sent): the message, from the request as the change left it; when it answers undefined, nothing is owed.
 *
 * One slot holds what is owed: a message still owed from an earlier change (not yet taken by Teams:
 * a run killed, Teams failing for now, a run still sending it) is not dropped but kept in front of
 * the new one, in one message in the order of the changes (the same text is not repeated). The
 * combined message is owed from now, taken by this run; a run still sending the earlier one settles
 * only what it sent (settleOutcomeMessage), so the earlier part may reach the requester twice then,
 * never not at all.
 */
export function oweOutcomeMessage(t: Transition, now: Date, text?: (r: ApprovalRequest) => string | undefined): Transition {
  if (!t.ok) return t;
  const message = text ? text(t.request) : undefined;
  if (text && message === undefined) return t;
  const at = now.toISOString();
  const earlier = t.request.outcomeMessage;
  const combined = earlier ? inOrder(outcomeMessageText({ ...t.request, outcomeMessage: earlier }), message ?? completionText(t.request)) : message;
  return { ...t, request: { ...t.request, outcomeMessage: { since: at, takenAt: at, attempts: 1, ...(combined !== undefined ? { text: combined } : {}) } } };
}

/** The earlier message, then the newer one (once when they say the same). */
function inOrder(earlier: string, newer: string): string {
  return earlier === newer || earlier.endsWith(`\n\n${newer}`) ? earlier : `${earlier}\n\n${newer}`;
}

/** Whether the change from `before` to `after` owed a message (a new one, or one added to what was owed). */
export function owedByChange(before: ApprovalRequest | undefined, after: ApprovalRequest): boolean {
  const owed = after.outcomeMessage;
  if (owed?.text === undefined) return false;
  const was = before?.outcomeMessage;
  return !was || was.since !== owed.since || was.text !== owed.text;
}

/** The text of the message the request owes: its own, or the execution's outcome written from the request. */
export function outcomeMessageText(r: ApprovalRequest): string {
  return r.outcomeMessage?.text ?? completionText(r);
}

/** What the requester is told at an execution's end (the notifier marks sandbox requests as such). */
function completionText(r: ApprovalRequest): string {
  if (r.state === 'succeeded') return `Request ${r.id} (${r.command}) succeeded.${r.outcomeDetail ? ` ${r.outcomeDetail}` : ''}`;
  if (r.state === 'failed') {
    // Azure's cause in one line (not the "DeploymentFailed" wrapper), and Microsoft's page on it when Azure named one.
    const error = r.execution?.error;
    const link = error ? documentationLinks(error)[0] : undefined;
    return `Request ${r.id} (${r.command}) failed: ${error ? failureCause(error) : (r.outcomeDetail ?? 'unknown error')}.${link ? ` Microsoft's documentation: ${link}` : ''}`;
  }
  if (r.state === 'cancelled') return `Request ${r.id} (${r.command}) was cancelled. ${r.outcomeDetail ?? ''}`.trimEnd();
  return `Request ${r.id} (${r.command}) ended in an unknown state: ${(r.outcomeDetail ?? '').replace(/[.\s]+$/, '')}. Check the target in Azure before retrying.`;
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

/**
 * The owed message is settled: Teams took it, or it is given up (refused for good, too old, tried too
 * often). `sent`: the message as the run settling it took it; when what is owed changed since (a later
 * change added to it, another run took it again), it is left owed: what was added is still to send.
 */
export function settleOutcomeMessage(r: ApprovalRequest, now: Date, sent?: OwedMessage): Transition {
  if (!r.outcomeMessage) return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} has no outcome message owed.`);
  if (sent && (sent.since !== r.outcomeMessage.since || sent.text !== r.outcomeMessage.text)) {
    return refuse(r, RefusalReason.AlreadyDecided, `Request ${r.id} owes a message other than the one sent.`);
  }
  const { outcomeMessage: _settled, ...rest } = r;
  return { ok: true, request: bookkeeping(rest, now, {}), events: [] };
}
