/**
 * The timers of a running bot: the sweeps for expiry, scheduled requests, reminders, escalations,
 * break-glass reviews and outcome messages left owed, and the takeover of executions a dead run left, each logged under its job.
 * Started by the composition root (src/composition-root.ts) once the bot listens.
 */
import type { Countersign } from '../app/countersign';
import type { Logger } from '../log/context';
import { withLogContext } from '../log/logger';
import type { Settings } from '../settings';

/**
 * Starts the sweeps (and runs the takeover once, awaited); `stop()` clears every timer. Once
 * `stopping` is aborted (Countersign is stopping), a sweep under way for expiry, scheduled requests
 * or owed outcome messages takes no other request: what it left is the next start's.
 */
export async function startSweeps(
  app: Countersign,
  log: Logger,
  options: { sweepIntervalMs?: number },
  settings: Pick<Settings, 'executionLeaseMs'>,
  storeReady: () => Promise<boolean>,
  stopping?: AbortSignal,
): Promise<{ stop(): void }> {
  const sweeper = setInterval(() => {
    withLogContext({ job: 'expiry-sweep' }, () => app.sweepExpired(stopping)).catch((err: unknown) => log.error({ err: String(err) }, 'expiry sweep failed'));
    // The store's files are checked even when nothing is written and nobody probes /readyz: a database
    // file deleted under an idle bot stops it within a sweep, not at its next write.
    void storeReady();
  }, options.sweepIntervalMs ?? 15_000);
  sweeper.unref();
  // Scheduled requests whose time came are started (the execution's claim runs each once across instances).
  const scheduleSweeper = setInterval(() => {
    withLogContext({ job: 'schedule-sweep' }, () => app.sweepScheduled(stopping)).catch((err: unknown) => log.error({ err: String(err) }, 'schedule sweep failed'));
  }, options.sweepIntervalMs ?? 15_000);
  scheduleSweeper.unref();
  // Escalations and reminders due: recorded on the request before anyone is told, so once across instances.
  const reachSweeper = setInterval(() => {
    withLogContext({ job: 'reach-sweep' }, () => app.sweepReach()).catch((err: unknown) => log.error({ err: String(err) }, 'reminder and escalation sweep failed'));
    withLogContext({ job: 'break-glass-review-sweep' }, () => app.sweepBreakGlassReviews()).catch((err: unknown) => log.error({ err: String(err) }, 'break-glass review sweep failed'));
    // Outcome messages an instance that died left owed, and those that failed for now: each taken by compare-and-swap before it is sent.
    withLogContext({ job: 'owed-messages' }, () => app.sendOwedMessages(false, stopping)).catch((err: unknown) => log.error({ err: String(err) }, 'sending the outcome messages left owed failed'));
  }, options.sweepIntervalMs ?? 15_000);
  reachSweeper.unref();
  // Executions a run that died (or stopped) left behind are resumed once their lease expired: now, and
  // whenever one expires later (a lease held by a run that just died expires after startup).
  const resumeAbandoned = () =>
    withLogContext({ job: 'resume-sweep' }, async () => {
      await app.resumeAbandoned();
      await app.runStranded();
    }).catch((err: unknown) => log.error({ err: String(err) }, 'resuming executions failed'));
  await resumeAbandoned();
  const resumer = setInterval(() => void resumeAbandoned(), Math.min(15_000, Math.max(250, Math.floor(settings.executionLeaseMs / 2))));
  resumer.unref();
  return {
    stop() {
      clearInterval(sweeper);
      clearInterval(scheduleSweeper);
      clearInterval(reachSweeper);
      clearInterval(resumer);
    },
  };
}
