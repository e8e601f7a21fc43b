/**
 * The message that tells the requester how their request ended ("Request CS-… succeeded.", "… was
 * rejected by …", "… expired: …", "… was not executed: …"), or of a stored change that did not end it
 * ("… needs approving again", "… missed its maintenance window", "… was escalated", "… was flagged"),
 * sent once even when Countersign dies between recording the change and sending it. The change's write
 * records the message as owed (domain/lifecycle/outcome-message.ts); the run that wrote it sends it
 * and, once Teams took it, records it settled. What a dead run left owed is sent by the sweep of owed
 * messages: at the start (a run that died on this SQLite store at once, other instances' after
 * OUTCOME_MESSAGE.holdMs) and at every sweep after, each message taken by a compare-and-swap before it
 * is sent so that one instance sends it. A message Teams refuses for good (the conversation gone, the
 * bot removed: 403, 404) is given up at once, like a card update; one that fails for now is tried
 * again at later sweeps, at most OUTCOME_MESSAGE.maxAttempts times; one owed for longer than
 * OUTCOME_MESSAGE.withinMs is given up with a log line. Between Teams taking the message and the
 * write settling it, a death leaves it owed: then it is sent a second time (docs/faults.md).
 */
import { outcomeMessageFree, outcomeMessageText, owedByChange, settleOutcomeMessage, takeOutcomeMessage } from '../domain/lifecycle';
import type { ApprovalRequest, OwedMessage } from '../domain/request';
import { readableRequests, transact, type AppDeps } from './context';
import type { Told } from './ports';
import { eachRequest } from './sweep-each';
import { outsideTurn } from './turn-deadline';

export const OUTCOME_MESSAGE = {
  /**
   * How long the run that took an owed message may still be sending it (waiting for the
   * conversation's rate limit, retrying Teams' transient answers) before another instance takes it.
   */
  holdMs: 10 * 60_000,
  /** How many runs try to send one message before it is given up. */
  maxAttempts: 5,
  /** How long a message stays owed: the window of the start's card catch-up (ENDED_CARDS_WINDOW_MS), 24 h. */
  withinMs: 24 * 60 * 60_000,
  /** How far back the start looks for owed messages: those owed longer than withinMs are given up there, with a log line. */
  startLookBackMs: 7 * 24 * 60 * 60_000,
};

/** Sends the outcome message the request owes (taken by this run), and settles it unless it failed for now. */
export async function sendOutcomeMessage(deps: AppDeps, request: ApprovalRequest): Promise<Told> {
  const told = await deps.notifier.tellRequester(request, outcomeMessageText(request));
  if (told === 'failed') {
    deps.log.warn({ requestId: request.id, attempts: request.outcomeMessage?.attempts }, 'outcome message not sent; it stays owed and is tried again by a later sweep');
    return told;
  }
  if (told === 'refused') deps.log.warn({ requestId: request.id }, 'outcome message given up: Teams refused it for good, or the conversation cannot be reached');
  await settle(deps, request.id, request.outcomeMessage);
  return told;
}

/**
 * Sends, in the background, the message a change other than an execution's outcome (a rejection, an
 * expiry, a refusal; a drift, a missed window, an escalation, a flagged break-glass use) just saved as
 * owed, if it did (`before`: the request as the change found it; a message a run before it still
 * owes is not this change's to send): after the person's answer, and outside their turn's deadline,
 * so that a message waiting for its conversation's rate limit is still settled once Teams took it
 * (not sent a second time by a later sweep).
 */
export function sendEndingMessage(deps: AppDeps, request: ApprovalRequest, before: ApprovalRequest | undefined): void {
  if (!owedByChange(before, request)) return;
  outsideTurn(() => void sendOutcomeMessage(deps, request));
}

/**
 * Sends the outcome messages dead runs left owed, among the requests changed within `lookBackMs`;
 * answers the ids of those sent. Those owed too long, or tried too often, are given up, logged.
 * Once `stop` is aborted (Countersign is stopping) it takes no other message: one taken is held by
 * this run for holdMs, so a stop would leave it to wait that long at another instance; those not
 * taken stay owed for the next start or another instance's sweep.
 */
export async function sendOwedOutcomeMessages(deps: AppDeps, lookBackMs = OUTCOME_MESSAGE.withinMs, stop?: AbortSignal): Promise<string[]> {
  const now = deps.clock.now();
  const owed = readableRequests(deps, await deps.store.requests.list({ updatedSince: new Date(now.getTime() - lookBackMs).toISOString(), outcomeMessageOwed: true }));
  const when = { now, holdMs: OUTCOME_MESSAGE.holdMs, ...(deps.onlyInstanceSince ? { onlyInstanceSince: deps.onlyInstanceSince } : {}) };
  const sent: string[] = [];
  await eachRequest(deps, 'sending the outcome messages left owed', owed, async (r) => {
    if (!outcomeMessageFree(r, when)) return;
    const owedMs = now.getTime() - Date.parse(r.outcomeMessage!.since);
    if (owedMs >= OUTCOME_MESSAGE.withinMs || r.outcomeMessage!.attempts >= OUTCOME_MESSAGE.maxAttempts) {
      const why = owedMs >= OUTCOME_MESSAGE.withinMs ? `owed since ${r.outcomeMessage!.since}, more than 24 h` : `tried ${r.outcomeMessage!.attempts} times`;
      deps.log.warn({ requestId: r.id, state: r.state, since: r.outcomeMessage!.since }, `outcome message given up, not sent: ${why}`);
      await settle(deps, r.id, r.outcomeMessage);
      return;
    }
    const taken = await transact(deps, r.id, (current) => takeOutcomeMessage(current, when), { refreshCards: false });
    // Another instance took it first, or it was settled meanwhile.
    if (!taken?.result.ok) return;
    deps.log.info({ requestId: r.id, since: r.outcomeMessage!.since, attempt: taken.result.request.outcomeMessage?.attempts }, 'sending the outcome message a run left owed');
    if ((await sendOutcomeMessage(deps, taken.result.request)) === 'sent') sent.push(r.id);
  }, stop);
  return sent;
}

/**
 * Records the owed message `sent` settled, unless a later change added to it (then what is owed is
 * left for a later sweep); a write that fails leaves it owed (sent again by a later sweep), logged.
 */
async function settle(deps: AppDeps, requestId: string, sent: OwedMessage | undefined): Promise<void> {
  try {
    await transact(deps, requestId, (current) => settleOutcomeMessage(current, deps.clock.now(), sent), { refreshCards: false });
  } catch (err) {
    deps.log.error({ requestId, err: String(err) }, 'could not record the outcome message as settled: a later sweep may send it again');
  }
}
