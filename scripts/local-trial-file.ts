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

/** Written once the Playground runs: its pid too, so a start after a `kill -9` of this one can name it. */
export function writeLocalTrial(dataDir: string, playgroundPort: number, playgroundPid?: number): void {
  writeFileSync(localTrialFile(dataDir), `${JSON.stringify({ playgroundPort, pid: process.pid, playgroundPid })}\n`);
}

export function removeLocalTrial(dataDir: string): void {
  rmSync(localTrialFile(dataDir), { force: true });
}

interface Recorded {
  playgroundPort: number;
  pid: number;
  playgroundPid?: number;
}

/** The file's content; null when there is none, 'unreadable' when it is not what writeLocalTrial writes. */
function readLocalTrial(dataDir: string): Recorded | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(localTrialFile(dataDir), 'utf8');
  } catch {
    return null;
  }
  let recorded: { playgroundPort?: unknown; pid?: unknown; playgroundPid?: unknown };
  try {
    recorded = JSON.parse(text) as typeof recorded;
  } catch {
    return 'unreadable';
  }
  if (typeof recorded?.playgroundPort !== 'number' || typeof recorded.pid !== 'number') return 'unreadable';
  return { playgroundPort: recorded.playgroundPort, pid: recorded.pid, playgroundPid: typeof recorded.playgroundPid === 'number' ? recorded.playgroundPid : undefined };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: the process lives but is someone else's; ESRCH: it is gone.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/**
 * Whether the process has ended and waits only to be reaped (Linux's /proc: state Z). One whose parent
 * died is handed to the container's first process, which in a CI container often reaps nothing: it keeps
 * its pid but holds no port and runs nothing, so it is not a Playground still running.
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the command's name may hold spaces and parentheses, so the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** The port a running `npm run local` recorded; undefined when none runs (no file, or its process is gone). */
export function runningLocalTrial(dataDir: string): { playgroundPort: number } | undefined {
  const recorded = readLocalTrial(dataDir);
  if (recorded === null || recorded === 'unreadable' || !alive(recorded.pid)) return undefined;
  return { playgroundPort: recorded.playgroundPort };
}

/**
 * At the start of `npm run local`: a local-trial.json left by one that ended without its stop (`kill -9`,
 * a crash, a machine switched off) is removed, and what was found is said (undefined when there was
 * nothing to remove: no file, or its owner still runs, which the data directory's lock then refuses).
 */
export function clearStaleLocalTrial(dataDir: string): string | undefined {
  const recorded = readLocalTrial(dataDir);
  if (recorded === null) return undefined;
  const file = localTrialFile(dataDir);
  if (recorded === 'unreadable') {
    removeLocalTrial(dataDir);
    return `${file} was not one npm run local writes (cut short when it was written?): removed it.`;
  }
  if (alive(recorded.pid)) return undefined;
  removeLocalTrial(dataDir);
  const playground =
    recorded.playgroundPid !== undefined && alive(recorded.playgroundPid)
      ? ` A process has the pid its Agents Playground had (${recorded.playgroundPid}): if port ${recorded.playgroundPort} is said to be in use, that Playground still runs: stop it (kill ${recorded.playgroundPid}).`
      : '';
  return `The npm run local that wrote ${file} (pid ${recorded.pid}) ended without stopping (killed?): removed the file it left.${playground}`;
}
