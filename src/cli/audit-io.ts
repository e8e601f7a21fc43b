/**
 * What the audit commands share: where they read and write (AuditCliIo), who runs them, progress on
 * a terminal, and the error for a user's mistake (AuditInputError). How a failure is told:
 * failure-report.ts; the database a command names: database-file.ts; output files: atomic-output.ts.
 */
import os from 'node:os';
import type { Writable } from 'node:stream';
import { readCliSettings, type CliSettings } from '../settings';

/** Where the commands read and write; tests pass their own. */
export interface AuditCliIo {
  stdout: Writable;
  /** `isTTY` set: progress is shown there. */
  stderr: Writable & { isTTY?: boolean };
  /** The environment, as the settings read it. */
  settings: CliSettings;
  cwd: string;
  setExitCode(code: number): void;
  /** Who runs the command, as recorded with what it does (default: user@host of the process). */
  operator?: string;
}

export const processIo = (settings: CliSettings = readCliSettings()): AuditCliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  settings,
  cwd: process.cwd(),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});

export function operatorOf(io: AuditCliIo): string {
  if (io.operator) return io.operator;
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    user = io.settings.user ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}

/**
 * A report on standard output whose reader stopped reading (`countersign audit verify | head -1`):
 * the rest of it is dropped without a stack trace, and the exit code still gives the result. The
 * error arrives after the write returned, so the listener stays for the life of the stream.
 */
export function droppingOutputOnClosedPipe(out: Writable): void {
  if (!out.listeners('error').includes(closedPipe)) out.on('error', closedPipe);
}

function closedPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
}

/** A problem the user can fix, reported as one line and exit code 1 (never a stack trace). */
export class AuditInputError extends Error {}

/** Progress on a terminal, at most a few times a second; nothing when stderr is not one. */
export function progressLine(io: AuditCliIo, describe: () => string): { update(): void; done(): void } {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update() {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      io.stderr.write(`\r${describe()}\u001b[K`);
    },
    done() {
      if (shown) io.stderr.write(`\r${describe()}\u001b[K\n`);
    },
  };
}
