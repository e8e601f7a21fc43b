/**
 * Imported first by the entry point (main.ts; bin/countersign.js for `countersign start`), before the
 * rest of Countersign loads: listens for the stop signals from then on. Until a process listens for
 * SIGTERM, SIGINT or SIGHUP, the signal's default action kills it on the spot, and loading the modules
 * the entry point imports before main() installs its own listeners takes a noticeable time (tenths of a
 * second through tsx, more under load). With a listener here, a signal in that time waits for the
 * event loop, by when main() listens too: it is then a stop while starting, as any later (exit code 0).
 *
 * Node's own start and tsx's, before this module runs, remain: a signal then ends the process by its
 * default action, before Countersign made, opened or wrote anything (docs/operations.md#shutdown).
 */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

let claimed = false;

function untilClaimed(signal: NodeJS.Signals): void {
  if (claimed) return;
  // Loaded by something that never calls main() (it would have listened in the same turn of the
  // event loop): the signal does what it would have done without this module.
  for (const s of STOP_SIGNALS) process.removeListener(s, untilClaimed);
  process.kill(process.pid, signal);
}

for (const s of STOP_SIGNALS) process.on(s, untilClaimed);

/**
 * Called by main() once its own listeners are on: these step aside. A signal that came before still
 * reaches main()'s listener (the process never stopped listening for it).
 */
export function claimStopSignals(): void {
  claimed = true;
  for (const s of STOP_SIGNALS) process.removeListener(s, untilClaimed);
}
