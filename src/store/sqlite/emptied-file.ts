/**
 * Whether the SQLite database file holds nothing (missing, 0 bytes, not beginning as a SQLite file),
 * found without opening it. SQLite deletes the -wal beside a database of no pages as soon as a
 * connection reads it, even a read-only one, and after a crash that -wal is the last copy of the
 * newest committed records. So the bot's start and every command that reads the database ask this
 * first, and leave such a file and its -wal as they are.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface EmptiedDatabaseFile {
  kind: 'missing' | 'empty' | 'headerless';
  /** In words, naming the file: `the database file … is empty (0 bytes)`. */
  what: string;
  /** The -wal beside it, when it holds frames (more than its 32-byte header): changes committed to the database. */
  wal?: { file: string; bytes: number };
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const WAL_HEADER_BYTES = 32;

/**
 * The file at `file` when it holds no database, with the -wal beside it; undefined when it may hold
 * one, or is not a regular file or cannot be read (SQLite then refuses it in its own words, and a
 * file it cannot read it cannot take the -wal of either).
 */
export function emptiedDatabaseFile(file: string): EmptiedDatabaseFile | undefined {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return undefined;
    size = stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return withWal(file, { kind: 'missing', what: `the database file ${file} is missing` });
  }
  if (size === 0) return withWal(file, { kind: 'empty', what: `the database file ${file} is empty (0 bytes)` });
  const head = Buffer.alloc(SQLITE_HEADER.length);
  try {
    const fd = openSync(file, 'r');
    try {
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (head.equals(SQLITE_HEADER)) return undefined;
  return withWal(file, { kind: 'headerless', what: `the database file ${file} is not a SQLite database (its ${size} bytes do not begin as one)` });
}

function withWal(file: string, found: EmptiedDatabaseFile): EmptiedDatabaseFile {
  const wal = `${file}-wal`;
  let bytes = 0;
  try {
    bytes = statSync(wal).size;
  } catch {
    // None (or none this user may see): nothing is said of it.
  }
  return bytes > WAL_HEADER_BYTES ? { ...found, wal: { file: wal, bytes } } : found;
}
