/**
 * An online backup of the SQLite store: SQLite's backup API copies the database page by page while
 * the bot keeps writing (a write restarts nothing: better-sqlite3 steps the copy between writes), and
 * the copy is a consistent database that `countersign audit verify` checks like the original.
 *
 * The copy is written beside its name as `<name>.partial-<pid>` (the name exports write under, so
 * the CLI's clean-up of what a killed command left applies to it too), flushed to disk, and moved to
 * its name only once complete. A backup killed partway thus leaves no empty or half-copied file under
 * the name, which the next backup would refuse as already there; a copy that fails is removed.
 *
 * The copy is one self-contained file: the backup API copies the source's WAL journal mode with its
 * pages, and a database in WAL mode grows a -wal and a -shm file beside it at the first open (even a
 * read-only one, such as the verification that follows). Before it gets its name the copy is switched
 * to the rollback journal (journal_mode=DELETE), which leaves no file beside it once closed.
 */
import { closeSync, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { existsAt, OutputTakenError, partialNameOf, placeOutput } from '../../output-file';
import { openReadOnly } from './connection';
import { PRIVATE_FILE_MODE } from '../private-files';

export class BackupTargetExistsError extends Error {
  constructor(readonly target: string) {
    // A folder given for the copy (as one would to cp) is no file to overwrite: said as what it is.
    super(
      isFolder(target)
        ? `${target} is a folder: a backup is written to a new file, not into a folder; give the new file's path, e.g. ${path.join(target, 'countersign-backup.db')}`
        : `${target} already exists: a backup never overwrites a file; choose a new name`,
    );
    this.name = 'BackupTargetExistsError';
  }
}

function isFolder(target: string): boolean {
  try {
    return statSync(target).isDirectory();
  } catch {
    return false;
  }
}

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

const BESIDE = ['-journal', '-wal', '-shm'];

/** Removes the copy under its temporary name and the journal SQLite may have left beside it. */
function removeCopy(temp: string): void {
  for (const f of [temp, ...BESIDE.map((suffix) => `${temp}${suffix}`)]) rmSync(f, { force: true });
}

/**
 * Switches the copy (nobody else has it open) out of WAL mode, so that no -wal or -shm file is ever
 * made beside it: leaving WAL mode checkpoints and deletes them, and the header then says so.
 */
function selfContained(temp: string): void {
  const copy = new Database(temp, { fileMustExist: true });
  try {
    const mode = copy.pragma('journal_mode = DELETE', { simple: true }) as string;
    if (mode !== 'delete') throw new Error(`the copy ${temp} stayed in journal mode ${mode}; it cannot be made a single file`);
  } finally {
    copy.close();
  }
  // None should be left; one that is would be taken up under the copy's name (SQLite finds it by name).
  for (const suffix of BESIDE) rmSync(`${temp}${suffix}`, { force: true });
}

function fsyncPath(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves the complete copy to `target` without ever replacing a file there (one that appeared while
 * the copy was made is kept), as every output of the CLI is put in place.
 */
function placeCopy(temp: string, target: string): void {
  try {
    placeOutput(temp, target, false);
  } catch (err) {
    if (err instanceof OutputTakenError) throw new BackupTargetExistsError(target);
    throw err;
  }
}

/**
 * Makes the copy's file under its temporary name, new (O_EXCL): SQLite opens the file it copies into
 * through whatever is at the name, so a link planted there (a backup into a shared folder, whose
 * temporary name is predictable) would have the database written over the file it points at, and a
 * journal planted beside it could be played into the copy. Nothing at either is taken, or removed.
 */
function claimCopyName(temp: string): void {
  const there = [temp, ...BESIDE.map((suffix) => `${temp}${suffix}`)].find(existsAt);
  if (there) throw new Error(`${there} is already there, and this backup did not make it: a backup writes only into files it creates. Find out what made it and remove it, or back up under another name`);
  try {
    // 0600, as the database it copies: requests, reasons and conversation references are in it.
    closeSync(openSync(temp, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${temp} appeared as this backup began, and this backup did not make it: find out what made it and remove it, or back up under another name`);
    throw err;
  }
}

export async function backupSqliteStore(file: string, target: string, onProgress?: (p: BackupProgress) => void): Promise<void> {
  if (existsAt(target)) throw new BackupTargetExistsError(target);
  const temp = partialNameOf(target);
  claimCopyName(temp);
  const db = openReadOnly(file);
  try {
    await db.backup(temp, {
      progress: (p) => {
        onProgress?.(p);
        return 200;
      },
    });
    selfContained(temp);
    // SQLite syncs its commit, but the copy is only as good as what reached the disk before it gets its name.
    fsyncPath(temp);
    placeCopy(temp, target);
  } catch (err) {
    removeCopy(temp);
    throw err;
  } finally {
    db.close();
  }
  // The new name itself survives a power cut only once its directory is flushed (not possible everywhere).
  try {
    fsyncPath(path.dirname(target));
  } catch {
    // Windows cannot open a directory to flush it; its rename is durable as made.
  }
}
