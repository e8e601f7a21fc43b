/**
 * Signed checkpoints of the audit chain head. A hash chain shows any change to the records it
 * holds, but not records cut off its end: the shortened chain is still a valid chain. A checkpoint
 * is a signed "record N has hash H" kept in three places: the audit_checkpoints table (apart from
 * the log, so truncating the log leaves it), a JSON Lines file beside the database that can be
 * shipped elsewhere (and the log line each checkpoint writes), and an audit.checkpoint record in
 * the chain itself. Verification then knows how far the chain reached at least, and that it read
 * the same up to there (src/audit/verify/verify-checkpoints.ts checks them).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log/context';
import type { Clock } from '../../app/ports';
import type { AuditStore } from '../ports';
import type { ChainHead } from '../../domain/audit';
import type { AuditEventDraft, AuditRecord } from '../../domain/audit';
import { canonicalJson } from '../../domain/canonical';
import type { AuditCheckpoint } from '../ports';
import { keepSigningKeyFile, type AuditSigner, type AuditVerifier } from './signing';

const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';

export function checkpointFileOf(dataDir: string): string {
  return path.join(dataDir, CHECKPOINT_FILE);
}

function signedText(c: Pick<AuditCheckpoint, 'seq' | 'hash' | 'time' | 'keyId'>): string {
  return canonicalJson({ seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId });
}

export function signCheckpoint(head: ChainHead, time: string, signer: AuditSigner): AuditCheckpoint {
  const body = { seq: head.seq, hash: head.hash, time, keyId: signer.keyId };
  return { ...body, signature: signer.sign('checkpoint', signedText(body)) };
}

export function checkpointSignatureOk(c: AuditCheckpoint, verifier: AuditVerifier): boolean {
  return verifier.verify('checkpoint', signedText(c), c.signature);
}

export type CheckpointTrigger = 'start' | 'timer' | 'records' | 'execution' | 'shutdown' | 'cli';

function checkpointEvent(c: AuditCheckpoint, time: string, trigger: CheckpointTrigger, operator?: string): AuditEventDraft {
  return {
    type: 'audit.checkpoint',
    time,
    outcome: { result: 'ok', detail: `chain head at record ${c.seq}` },
    data: { trigger, ...(operator ? { operator } : {}), checkpoint: { ...c } },
  };
}

/**
 * Appends one checkpoint to the file, as a whole line of its own, and waits until it is on disk. A
 * crash in the middle of an append leaves a last line without its newline: the next checkpoint
 * starts with one, so it is not joined onto that torn line and lost with it (read as one line that
 * is not a checkpoint, and skipped).
 */
function appendCheckpointFile(file: string, c: AuditCheckpoint): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a+', 0o644);
  try {
    const { size } = fs.fstatSync(fd);
    const last = Buffer.alloc(1);
    const torn = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    fs.writeSync(fd, `${torn ? '\n' : ''}${canonicalJson(c)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the checkpoint file is missing or holds nothing. */
function fileIsEmpty(file: string): boolean {
  try {
    return fs.statSync(file).size === 0;
  } catch {
    return true;
  }
}

/** Checkpoints of a file; a missing file has none. A line that is not a checkpoint is reported. */
export function readCheckpointFile(file: string): { checkpoints: AuditCheckpoint[]; unreadable: number[] } {
  if (!fs.existsSync(file)) return { checkpoints: [], unreadable: [] };
  const checkpoints: AuditCheckpoint[] = [];
  const unreadable: number[] = [];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? 'it is a directory, not a file' : code === 'EACCES' || code === 'EPERM' ? 'this user may not read it' : (err as Error).message;
    throw new Error(`cannot read the checkpoint file ${file}: ${why} (it holds the signed checkpoints of the audit log; put the file back, or move what is at that path aside)`);
  }
  text
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const c = JSON.parse(line) as AuditCheckpoint;
        if (!isCheckpoint(c)) throw new Error('not a checkpoint');
        checkpoints.push(c);
      } catch {
        unreadable.push(i + 1);
      }
    });
  return { checkpoints, unreadable };
}

function isCheckpoint(c: unknown): c is AuditCheckpoint {
  const x = c as Record<string, unknown> | null;
  return (
    !!x &&
    Number.isSafeInteger(x.seq) &&
    typeof x.hash === 'string' &&
    typeof x.time === 'string' &&
    typeof x.keyId === 'string' &&
    typeof x.signature === 'string'
  );
}

/** The checkpoint an audit.checkpoint record carries. */
export function checkpointOfRecord(r: AuditRecord): AuditCheckpoint | undefined {
  const c = (r.data as { checkpoint?: unknown } | undefined)?.checkpoint;
  return isCheckpoint(c) ? c : undefined;
}

export interface CheckpointerDeps {
  store: AuditStore;
  signer: AuditSigner;
  clock: Clock;
  /** The checkpoint file (checkpointFileOf(dataDir)). */
  file: string;
  log: Logger;
  /**
   * The data directory whose key file holds the signer's key: when given (the bot), each write first
   * looks that the file still holds it, and writes it again when it was deleted (keepSigningKeyFile).
   */
  keyDir?: string;
}

/** Writes checkpoints: on a timer, at shutdown, and on demand (`countersign audit checkpoint`). */
export class Checkpointer {
  constructor(private readonly deps: CheckpointerDeps) {}

  /**
   * Signs the current head and keeps the checkpoint in the table (with its audit record) and the
   * file. Unless forced, it does nothing when the log has not moved since the last checkpoint (the
   * checkpoint's own record aside), so an idle log does not fill up with checkpoints. `head`: sign
   * this head (one the caller verified) rather than the log's head as it is read here.
   */
  async write(trigger: CheckpointTrigger, options: { force?: boolean; operator?: string; head?: ChainHead } = {}): Promise<AuditCheckpoint | undefined> {
    const { store, signer, clock, file, log } = this.deps;
    this.lookAtKeyFile();
    const head = options.head ?? (await store.audit.head());
    if (!head) return undefined;
    const last = await store.auditAccess.lastCheckpoint();
    if (!options.force && last && (head.seq === last.seq || head.seq === last.recordSeq)) return undefined;
    const time = clock.now().toISOString();
    const checkpoint = signCheckpoint(head, time, signer);
    await store.auditAccess.saveCheckpoint(checkpoint, [checkpointEvent(checkpoint, time, trigger, options.operator)]);
    // The file is the copy of the signed checkpoints kept beside the database (and copied off the
    // machine): one gone or emptied while the table holds checkpoints is said, once, as it is started again.
    if (last && fileIsEmpty(file)) {
      log.warn({ file, lastCheckpointSeq: last.seq }, 'the audit checkpoint file was deleted or emptied (the database still holds its checkpoints): it starts again with this checkpoint; put the earlier lines back from your copy of it');
    }
    appendCheckpointFile(file, checkpoint);
    // The log line is a third copy that leaves the machine with the logs.
    log.info({ checkpoint, trigger }, 'audit checkpoint');
    return checkpoint;
  }

  /**
   * The store stopped under the bot (its log cut short, deleted or replaced): the last record this
   * process committed is signed into the checkpoint file only, since the database can take nothing
   * more, so that the next start checks the log against it and finds what went missing.
   */
  witnessOnStop(head: ChainHead): AuditCheckpoint {
    const { signer, clock, file, log } = this.deps;
    const checkpoint = signCheckpoint(head, clock.now().toISOString(), signer);
    appendCheckpointFile(file, checkpoint);
    log.error({ checkpoint, file }, 'the last record this instance committed is signed into the audit checkpoint file as the store stopped: the next start checks the log against it');
    return checkpoint;
  }

  /** The signing key file, deleted or replaced while the bot runs, is found at the next tick, not the next start. */
  private lookAtKeyFile(): void {
    const { keyDir, signer, log } = this.deps;
    if (keyDir === undefined) return;
    const found = keepSigningKeyFile(keyDir, signer);
    if (found.kind === 'restored') {
      log.warn({ file: found.file, keyId: signer.keyId }, `the audit signing key file was ${found.was} while Countersign ran: written again from the key in use, so that the next start can check the checkpoints`);
    } else if (found.kind === 'unchecked') {
      log.warn({ file: found.file, keyId: signer.keyId, problem: found.problem }, 'the audit signing key file could not be looked at this time');
    } else if (found.kind === 'problem') {
      log.error({ file: found.file, keyId: signer.keyId, problem: found.problem }, 'the audit signing key file does not hold the key in use');
    }
  }
}
