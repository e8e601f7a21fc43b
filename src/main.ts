/**
 * The entry point: `node dist/main.js` (or the sources through tsx), and `countersign start`, which
 * runs the same `main`. It starts the composition root (composition-root.ts), stops it cleanly on
 * SIGTERM / SIGINT / SIGHUP, also while it starts (the start is cut short, then stopped as any stop
 * is; from its first import on, early-stop-signals.ts), and stops it with exit code 1 when the store
 * can no longer write (onFatal), for the service manager to restart it.
 *
 * Before anything else it checks the Node it runs on (node-version.ts). Before it loads the rest of
 * Countersign it turns on Node's compile cache and, on the SQLite store,
 * starts the store's writer thread: the thread boots on another core while this one loads botbuilder
 * and the rest (a start would otherwise wait for it at the end).
 */
// First: from here on a stop signal no longer kills the process before main() listens for it.
import { claimStopSignals } from './early-stop-signals';
import './compile-cache';
import { nodeProblem } from './node-version';
import { readSettings, type Settings } from './settings';
import { WriterThreadBoot } from './store/sqlite/writer-boot';
import type { RunningCountersign } from './composition-root';

function startedEarly(settings: Settings): WriterThreadBoot | undefined {
  if (settings.store.kind !== 'sqlite') return undefined;
  try {
    return new WriterThreadBoot();
  } catch {
    return undefined; // no thread could be started now: the store tries again when it opens, and says why
  }
}

/** A stop signal came while starting: the reason the start was given up. */
class StoppedWhileStarting extends Error {
  constructor(signal: string) {
    super(`stopped by ${signal} while starting`);
    this.name = 'StoppedWhileStarting';
  }
}

/** The most a stop asked while starting may take (the drain's 20 s grace and the rest: docs/operations.md). */
const STOP_BOUND_MS = 28_000;

export async function main(): Promise<void> {
  // First, before the settings are read or the data directory made: on another Node the database
  // driver would fail to load, advising a rebuild for the unsupported Node.
  const wrongNode = nodeProblem();
  if (wrongNode) {
    process.stderr.write(`Countersign did not start: ${wrongNode}\n`);
    process.exit(1);
  }
  let running: RunningCountersign | undefined;
  let fatal: string | undefined;
  let stopping = false;
  /** The stop signal received while starting. */
  let stopAsked: string | undefined;
  const starting = new AbortController();
  let stopBound: NodeJS.Timeout | undefined;
  const onSignal = (signal: string): void => {
    if (running) return stop(signal);
    if (stopAsked) return;
    stopAsked = signal;
    starting.abort(new StoppedWhileStarting(signal));
    // Whatever the start waits for, the process ends within the stop's bound: nothing was claimed yet
    // before it listens, and the database releases the locks of a process gone.
    stopBound = setTimeout(() => {
      process.stderr.write(`Countersign did not stop within ${STOP_BOUND_MS / 1000} seconds of ${signal} while starting: exiting\n`);
      process.exit(1);
    }, STOP_BOUND_MS).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // The usual "reload" signal (and a closed terminal): the config is read at start only, so this is a
  // stop like the others, with its drain and shutdown checkpoint, not an exit on the spot.
  process.on('SIGHUP', () => onSignal('SIGHUP'));
  claimStopSignals();
  // A signal that came while the modules loaded (early-stop-signals.ts) is taken now, before anything
  // is read, made or started: one turn of the event loop, where it waits.
  await new Promise((resolve) => setImmediate(resolve));
  if (stopAsked) {
    process.stderr.write(`Countersign stopped while starting (${stopAsked})\n`);
    process.exit(0);
  }
  try {
    const settings = readSettings();
    const sqliteWriterThread = startedEarly(settings);
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded after the thread was started */
    const { startCountersign } = require('./composition-root') as typeof import('./composition-root');
    const { routeConsoleToLog } = require('./log/console') as typeof import('./log/console');
    /* eslint-enable @typescript-eslint/no-require-imports */
    running = await startCountersign({
      settings,
      ...(sqliteWriterThread ? { sqliteWriterThread } : {}),
      stopStart: starting.signal,
      onFatal: (reason) => {
        fatal = reason;
        if (running) stop('fatal');
      },
    });
    routeConsoleToLog(running.deps.log);
  } catch (err) {
    // A signal that came during a synchronous wait (SQLite's busy wait for its write lock) is handled first.
    await new Promise((resolve) => setImmediate(resolve));
    if (stopAsked) {
      process.stderr.write(`Countersign stopped while starting (${stopAsked})${err instanceof StoppedWhileStarting ? '' : `: ${(err as Error).message}`}\n`);
      process.exit(0);
    }
    process.stderr.write(`Countersign did not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const started = running;
  // A stop asked once the bot listened (while it caught up): the start was cut short; stopped now, the
  // stop bounding itself from here.
  clearTimeout(stopBound);
  if (stopAsked) stop(stopAsked);
  function stop(signal: string): void {
    if (stopping) return;
    stopping = true;
    started.deps.log.info({ signal }, 'stopping');
    started.stop().then(
      () => process.exit(fatal === undefined ? 0 : 1),
      (err: unknown) => {
        process.stderr.write(`Countersign did not stop cleanly: ${String(err)}\n`);
        process.exit(1);
      },
    );
  }
  // The store failed for good while starting: stop now, with exit code 1.
  if (fatal !== undefined) stop('fatal');
}

if (require.main === module) void main();
