/**
 * Approve now, run later, durably: scheduled requests are found in the store (so a restart loses
 * nothing), started when their time comes and expired when their approval stopped being valid before
 * they could start. Several instances may sweep at once: the execution's claim (a compare-and-swap)
 * lets one of them run it.
 */
import { missedWindow, missedWindowText, moveToNextOpening, oweOutcomeMessage, scheduleDue, type MissedWindow } from '../domain/lifecycle';
import type { ApprovalRequest } from '../domain/request';
import { transact, type AppDeps } from './context';
import { expireNow, requesterTime } from './decisions';
import { sendEndingMessage } from './outcome-message';
import { eachRequest } from './sweep-each';

/** Starts every scheduled request due now (through `start`, the executor), expires the ones past validity; returns the ids started. */
export async function sweepScheduled(deps: AppDeps, start: (r: ApprovalRequest) => void, stop?: AbortSignal): Promise<string[]> {
  const now = deps.clock.now();
  const scheduled = await deps.store.requests.list({ states: ['scheduled'] });
  const started: string[] = [];
  try {
    await eachRequest(
      deps,
      'scheduled requests sweep',
      scheduled,
      async (r) => {
        if (now.getTime() >= Date.parse(r.expiresAt)) await expireNow(deps, r);
        else if (missedWindow(r, now)) await waitForNextOpening(deps, r.id);
        else if (scheduleDue(r, now)) {
          start(r);
          started.push(r.id);
        }
      },
      stop,
    );
  } finally {
    if (started.length > 0) deps.log.info({ started }, 'scheduled requests due');
  }
  return started;
}

/**
 * A run whose window closed before it was started waits for the next opening (once across instances),
 * and the requester is told: the message is written as owed with the move (outcome-message.ts), so a
 * run killed before it went still sends it.
 */
export async function waitForNextOpening(deps: AppDeps, requestId: string): Promise<void> {
  const now = deps.clock.now();
  const read = await deps.store.requests.get(requestId);
  if (!read || !missedWindow(read, now)) return;
  // Told from the record's times, in the requester's zone; the record's detail keeps the ISO instants.
  const at = await requesterTime(deps, read);
  const outcome = await transact(deps, requestId, (current) => {
    const t = moveToNextOpening(current, now);
    const missed = t.ok ? (t.events[0]?.data as MissedWindow | undefined) : undefined;
    const detail = missed ? missedWindowText(missed, at) : (t.ok ? (t.events[0]?.outcome.detail ?? '') : '');
    return oweOutcomeMessage(t, now, () => `Request ${requestId} did not run: it ${detail}.`);
  });
  if (!outcome?.result.ok) return;
  const moved = outcome.result.request;
  deps.log.warn({ requestId, runAt: moved.runAt }, 'a request missed its maintenance window: moved to the next opening');
  sendEndingMessage(deps, moved, outcome.before);
}
