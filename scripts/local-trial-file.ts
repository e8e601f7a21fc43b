/**
 * Where `npm run local` tells `npm run local:as` which port its Agents Playground listens on: a small
 * file in the data folder, written at start and removed at stop. So `PLAYGROUND_PORT=56191 npm run
 * local` in one terminal and a plain `npm run local:as -- bob approve ...` in another find each other.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The Playground's port when PLAYGROUND_PORT is not set. */
export const DEFAULT_PLAYGROUND_PORT = 56150;

export function localTrialFile(dataDir: string): string {
  return path.join(dataDir, 'local-trial.json');
}

/** The port PLAYGROUND_PORT asks for, or the default. */
export function playgroundPortSetting(env: NodeJS.ProcessEnv): number {
  return Number(env.PLAYGROUND_PORT || DEFAULT_PLAYGROUND_PORT);
}

export function writeLocalTrial(dataDir: string, playgroundPort: number): void {
  writeFileSync(localTrialFile(dataDir), `${JSON.stringify({ playgroundPort, pid: process.pid })}\n`);
}

export function removeLocalTrial(dataDir: string): void {
  rmSync(localTrialFile(dataDir), { force: true });
}

/** The port a running `npm run local` recorded; undefined when none runs (no file, or its process is gone). */
export function runningLocalTrial(dataDir: string): { playgroundPort: number } | undefined {
  let recorded: { playgroundPort?: unknown; pid?: unknown };
  try {
    recorded = JSON.parse(readFileSync(localTrialFile(dataDir), 'utf8')) as typeof recorded;
  } catch {
    return undefined;
  }
  if (typeof recorded.playgroundPort !== 'number' || typeof recorded.pid !== 'number') return undefined;
  try {
    process.kill(recorded.pid, 0);
  } catch (err) {
    // EPERM: the process lives but is someone else's; ESRCH: it is gone and the file is stale.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { playgroundPort: recorded.playgroundPort };
}
