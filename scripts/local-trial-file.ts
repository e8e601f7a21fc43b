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

/**
 * The port PLAYGROUND_PORT asks for (empty: not set), or the default. Anything but a port from 1 to
 * 65535 stops the script naming the variable, as the bot's own settings do (0 would let the Playground
 * take a port of its choosing, which `npm run local:as` could not find).
 */
export function playgroundPortSetting(env: NodeJS.ProcessEnv): number {
  const text = env.PLAYGROUND_PORT;
  if (!text) return DEFAULT_PLAYGROUND_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`PLAYGROUND_PORT: must be a port number from 1 to 65535, got "${text}"`);
  return port;
}

/** TEAMSAPPTESTER_BROWSER as the Playground is handed it: empty is not set, so "none" (it opens a browser for any other value). */
export function playgroundBrowserSetting(env: NodeJS.ProcessEnv): string {
  return env.TEAMSAPPTESTER_BROWSER || 'none';
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
