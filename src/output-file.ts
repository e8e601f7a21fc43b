/**
 * Putting a command's output file in place: written beside its name as `<name>.partial-<pid>`, then
 * moved to its name in one step. Without --force that step never replaces a file: a file that
 * appeared at the name while a long export was written is kept, and the export says where it is.
 * A partial file whose process is gone (killed mid-export) is removed by the next command that
 * writes to the same name; one named after its record (killed between recording and moving it) is
 * the caller's to keep or remove.
 */
import { linkSync, lstatSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';

/** The temporary name an output is written under by this process. */
export function partialNameOf(target: string): string {
  return `${target}.partial-${process.pid}`;
}

/** Whether a process of this id is running (one of another user's counts as running). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * The files beside `target` named `<target>.partial-<suffix>` whose suffix `shape` matches with the
 * pid of a process now gone as its first group (a running one's, another export to the same
 * name, is left alone): with the path and the rest of the match.
 */
function leftBehind(target: string, shape: RegExp): { file: string; match: RegExpExecArray }[] {
  const dir = path.dirname(target);
  const prefix = `${path.basename(target)}.partial-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: { file: string; match: RegExpExecArray }[] = [];
  for (const name of names) {
    const match = name.startsWith(prefix) ? shape.exec(name.slice(prefix.length)) : null;
    const pid = Number(match?.[1]);
    if (!match || pid === process.pid || running(pid)) continue;
    found.push({ file: path.join(dir, name), match });
  }
  return found;
}

/**
 * Removes what an earlier command left beside `target` when it was killed while writing it
 * (`<target>.partial-<pid>` of a process that is gone, and the `-journal` SQLite keeps beside a
 * backup's copy while it writes it); returns the paths removed. A partial file of a process still
 * running (another export to the same name) is left alone.
 */
export function removeAbandonedPartials(target: string): string[] {
  const left = leftBehind(target, /^(\d+)(?:-journal|-wal|-shm)?$/);
  for (const { file } of left) rmSync(file, { recursive: true, force: true });
  return left.map(({ file }) => file);
}

/** A complete output an earlier process left named after its record (`<target>.partial-<pid>.<tag>`). */
export interface AbandonedRecordedOutput {
  file: string;
  tag: string;
}

/**
 * The outputs beside `target` that a process now gone had finished and named after their record
 * just before recording them (see `writeFileAtomically`'s `recordedAs`): whether each was recorded
 * is for the caller to find out. `removeAbandonedPartials` leaves these alone.
 */
export function abandonedRecordedOutputs(target: string): AbandonedRecordedOutput[] {
  return leftBehind(target, /^(\d+)\.([0-9a-f-]{36})$/).map(({ file, match }) => ({ file, tag: match[2]! }));
}

export function existsAt(file: string): boolean {
  try {
    lstatSync(file); // a link to nowhere is there too
    return true;
  } catch {
    return false;
  }
}

/** The output could not be put at its name: a file appeared there meanwhile. `kept` says where the output is, if anywhere. */
export class OutputTakenError extends Error {
  constructor(
    readonly target: string,
    readonly kept?: string,
  ) {
    super(`${target} appeared while the output was written`);
  }
}

/**
 * Moves `temp` to `target`. With `replace`, whatever is at `target` is replaced (a link there too,
 * not followed). Without it, a file at `target` is never replaced: the move is a hard link, which
 * fails if the name is taken, and then `temp` is kept and OutputTakenError names it. On a file
 * system without hard links the name is checked just before a rename instead.
 */
export function placeOutput(temp: string, target: string, replace: boolean): void {
  if (replace) {
    renameSync(temp, target);
    return;
  }
  try {
    linkSync(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new OutputTakenError(target, temp);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
    if (existsAt(target)) throw new OutputTakenError(target, temp);
    renameSync(temp, target);
    return;
  }
  unlinkSync(temp);
}
