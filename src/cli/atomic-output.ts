/**
 * A command's output files put at their names whole or not at all: written beside the target and
 * moved into place after the export is recorded, never replacing a file that appeared meanwhile
 * unless asked (--force).
 */
import { createWriteStream, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ExportIncompleteError } from '../audit/access/export';
import { existsAt, OutputTakenError, partialNameOf, placeOutput } from '../output-file';
import { PRIVATE_FILE_MODE } from '../store/private-files';
import { AuditInputError, type AuditCliIo } from './audit-io';

/** The output path, checked: its directory must exist. */
export function outputPath(io: AuditCliIo, file: string): string {
  const target = path.resolve(io.cwd, file);
  if (!existsSync(path.dirname(target))) throw new AuditInputError(`cannot write ${target}: its directory does not exist`);
  return target;
}

/**
 * Writes beside the target, then `commit` (which may still fail, e.g. the audit record), then
 * moves it into place: a failed export never leaves a file, half-written or unrecorded. Without
 * `replace`, a file that appeared at the target while it was written is never replaced: found
 * before `commit`, nothing is recorded and nothing kept; found in the moment after it (the export
 * is recorded), the export is kept under its temporary name, which the error gives.
 *
 * With `recordedAs`, the complete file is renamed `<temp>.<recordedAs(result)>` just before
 * `commit`, so that a process killed between the commit and the move leaves a file that names its
 * record: the next command can tell a recorded export from an unfinished one
 * (`abandonedRecordedOutputs`).
 */
export async function writeFileAtomically<T>(
  target: string,
  write: (out: Writable) => Promise<T>,
  commit: (result: T) => Promise<void>,
  replace = false,
  recordedAs?: (result: T) => string,
): Promise<T> {
  let temp = partialNameOf(target);
  // An export holds what people typed and who approved what: for its owner only, whatever the umask.
  // Up to 1 MiB may wait for the disk (the default is 16 kB, less than one batch of an export), so
  // the next records are read and encoded while the last are written: 1,000,000 records as CSV took
  // 4.9-5.5 s instead of 6.1-7.2 s.
  const out = createWriteStream(temp, { flags: 'wx', mode: PRIVATE_FILE_MODE, highWaterMark: 1 << 20 });
  let committed = false;
  try {
    const result = await write(out);
    out.end();
    await finished(out);
    if (!replace && existsAt(target)) throw new OutputTakenError(target);
    if (recordedAs) {
      const named = `${temp}.${recordedAs(result)}`;
      renameSync(temp, named);
      temp = named;
    }
    await commit(result);
    committed = true;
    placeOutput(temp, target, replace);
    return result;
  } catch (err) {
    out.destroy();
    if (err instanceof OutputTakenError && committed && err.kept) {
      throw new AuditInputError(`${target} appeared while the export was written and was not replaced; the export is recorded and kept as ${err.kept}`);
    }
    rmSync(temp, { force: true });
    if (err instanceof OutputTakenError) throw new AuditInputError(`${target} appeared while the export was written: nothing was exported or recorded; pass --force to replace it, or choose another --out`);
    const cause = (err instanceof ExportIncompleteError ? err.cause : err) as NodeJS.ErrnoException;
    if (cause?.code && cause.syscall) throw new AuditInputError(`cannot write ${target}: ${cause.message}`);
    throw err;
  }
}

/**
 * A small file (a manifest) written beside the target and renamed into place: never half a file under
 * its name, and a link standing there is replaced, not followed.
 */
export function writeTextAtomically(target: string, text: string, replace = false): void {
  const temp = partialNameOf(target);
  try {
    writeFileSync(temp, text, { flag: 'wx', mode: PRIVATE_FILE_MODE });
    placeOutput(temp, target, replace);
  } catch (err) {
    if (err instanceof OutputTakenError) {
      rmSync(temp, { force: true });
      throw new Error(`${target} appeared meanwhile and was not replaced (pass --force to replace it)`);
    }
    // A temporary file of that name that was there before is not ours to remove.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(temp, { force: true });
    throw err;
  }
}
