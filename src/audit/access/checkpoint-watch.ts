/**
 * While instances run on one PostgreSQL database: is the log still the one the shared checkpoint
 * file vouches for? A database restored from an earlier dump (`pg_restore --clean`) while they run
 * holds a shorter log: an instance that saw records past the dump point stops at its next write or
 * readiness probe, but one idle since then saw nothing it could miss, went on appending, and the
 * records after the dump were lost and their seqs taken by new ones. The checkpoint file, in the
 * data directory the instances share and outside the database, holds the newest checkpoint any of
 * them signed: every WATCH_INTERVAL_MS each instance reads the file's end (not the whole file) and
 * has the store check that the log still reaches that checkpoint's record with its hash; when it
 * does not, the store refuses every write from then on and readiness says why, as for a log emptied
 * under the instance. Records after the newest checkpoint are vouched for by nothing outside the
 * database (a checkpoint is signed every audit.checkpointEveryRecords records and every
 * audit.checkpointInterval): those the instances saw themselves stop them as before.
 */
import fs from 'node:fs';
import type { ChainHead } from '../../domain/audit';
import type { AuditCheckpoint } from '../ports';
import { checkpointSignatureOk } from './checkpoints';
import type { AuditVerifier } from './signing';

/** How often a running instance holds the log against the checkpoint file (ms). */
const WATCH_INTERVAL_MS = 5_000;

/** How much of the file's end is read: many checkpoints, however long the file has grown. */
const TAIL_BYTES = 64 * 1024;

/**
 * The highest checkpoint at the end of `file` signed with `verifier`'s key (undefined when there is
 * none, or no file). A line cut by the read's start, half-written by a crash, or not signed with the
 * key is passed over: it vouches for nothing.
 */
export function newestCheckpointInFile(file: string, verifier: AuditVerifier): AuditCheckpoint | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  let text: string;
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    text = buffer.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
  } finally {
    fs.closeSync(fd);
  }
  let newest: AuditCheckpoint | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let c: AuditCheckpoint;
    try {
      c = JSON.parse(line) as AuditCheckpoint;
    } catch {
      continue;
    }
    if (typeof c?.seq !== 'number' || typeof c.hash !== 'string' || c.keyId !== verifier.keyId) continue;
    if (newest && c.seq <= newest.seq) continue;
    if (checkpointSignatureOk(c, verifier)) newest = c;
  }
  return newest;
}

/**
 * Every `everyMs`, `holds` (the store's check) is given the file's newest checkpoint; it answers the
 * problem it found (the store has stopped writing for it, and says so), after which nothing more is
 * looked at. A look that fails (the database unreachable for now) is told to `failed` and tried again
 * at the next. `stop()` ends it.
 */
export function watchCheckpointFile(
  file: string,
  verifier: AuditVerifier,
  holds: (c: ChainHead) => Promise<string | undefined>,
  failed: (err: unknown) => void,
  everyMs = WATCH_INTERVAL_MS,
): { stop(): void } {
  let found = false;
  let looking = false;
  const look = async () => {
    if (looking || found) return;
    looking = true;
    try {
      const c = newestCheckpointInFile(file, verifier);
      if (c && (await holds({ seq: c.seq, hash: c.hash }))) found = true;
    } catch (err) {
      failed(err);
    } finally {
      looking = false;
    }
  };
  const timer = setInterval(() => void look(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
