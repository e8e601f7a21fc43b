/**
 * The bounded waits of a graceful stop: the executions, then the card updates and messages under
 * way, each given its share of the grace period before the store is closed. Used by the stop of the
 * composition root (src/composition-root.ts).
 */
import type { Server } from 'node:http';
import type { Countersign } from '../app/countersign';
import type { Executor } from '../app/execution';
import type { Logger } from '../log/context';
import type { TeamsNotifier } from '../teams/notifier';

/** Work under way (turns, audit answers), for a stop to wait for. */
export class UnderWay {
  private readonly work = new Set<Promise<unknown>>();

  get size(): number {
    return this.work.size;
  }

  /** `work`, counted until it settles. */
  readonly track = <T>(work: Promise<T>): Promise<T> => {
    this.work.add(work);
    return work.finally(() => this.work.delete(work));
  };

  /** Settles once nothing is under way (also what started meanwhile). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }
}

/** True once `work()` settled, false when `ms` passed first. */
export async function settledWithin(work: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([work().then(() => true), timedOut]);
  clearTimeout(timer);
  return settled;
}

/**
 * Gives executions under way time to finish before the store closes. One still running after the
 * grace period stays `executing` in the store, with the ARM ids recorded so far.
 */
export async function settleExecutions(executor: Executor, graceMs: number, log: Logger, stopWaitingForAzure: () => void): Promise<void> {
  if (await settledWithin(() => executor.idle(), graceMs)) return;
  log.warn({ graceMs }, 'executions still running at shutdown; each stays as recorded, for the next start: executing (resumed) or, not yet started, approved');
  // Stop waiting for Azure (a drift check's read as well as an operation's answer) and release their
  // leases, so the next start resumes them at once. Stopped first: nothing new starts, and a run whose
  // call to Azure is given up stays as recorded.
  const stopped = executor.stop();
  stopWaitingForAzure();
  if (!(await settledWithin(() => stopped, EXECUTOR_STOP_WAIT_MS))) {
    log.warn({ waitedMs: EXECUTOR_STOP_WAIT_MS }, 'an execution did not stop in time; it stays as recorded, and its lease runs out for the next start to take it up');
  }
}

/** How long the executions get to release their leases once their calls to Azure were given up. */
const EXECUTOR_STOP_WAIT_MS = 3_000;

/**
 * Gives the card updates and messages under way time to go. Those still waiting for a busy
 * conversation's share of Teams' rate limit (or for another try) after the grace period are not
 * sent (logged, with how many), and the rounds telling approvers start no other message: a stop
 * takes bounded time whatever Teams holds back, so the platform does not kill the process before
 * the store is closed and the shutdown checkpoint signed. Whom each round reached and whom not is
 * recorded before that, those it had no answer for as not reached.
 */
export async function settleMessages(app: Countersign, notifier: TeamsNotifier, graceMs: number, log: Logger): Promise<void> {
  const idle = () => Promise.all([app.tellingIdle(), notifier.idle()]);
  if (await settledWithin(idle, graceMs)) return;
  app.stopTelling();
  const dropped = notifier.abandonWaiting('Countersign is stopping');
  log.warn({ graceMs, dropped }, "card updates and messages still waiting for Teams' rate limit at shutdown were not sent");
  // Those already on their way to Teams finish, or get a last second; then the rounds are recorded as they stand.
  if (await settledWithin(idle, 1_000)) return;
  if (!(await settledWithin(() => app.cutTelling(), 1_000))) log.warn({}, 'who the messages under way at shutdown reached could not all be recorded');
  log.warn({}, 'card updates and messages still under way at shutdown were left unfinished');
}

/** How long the audit answers cut at a stop get to record that they broke off. */
const CUT_ANSWERS_WAIT_MS = 1_000;

/**
 * Stops the server listening. A response still streaming (an audit export a reader downloads slowly,
 * or holds without reading, up to COUNTERSIGN_AUDIT_EXPORT_IDLE each time it reads) would hold the
 * stop for as long: past `ms`, its connection is cut, and the export records that it broke off
 * before the store closes.
 */
export async function closeServer(server: Server, answers: UnderWay, ms: number, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (await settledWithin(() => closed, ms)) return;
  log.warn({ answers: answers.size, waitedMs: ms }, 'audit exports still being downloaded at shutdown were cut off; each is recorded as broken off');
  server.closeAllConnections();
  if (!(await settledWithin(() => Promise.all([closed, answers.idle()]), CUT_ANSWERS_WAIT_MS))) {
    log.warn({ answers: answers.size }, 'audit exports cut off at shutdown could not all be recorded as broken off');
  }
}
