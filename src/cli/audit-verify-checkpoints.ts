/**
 * The signed checkpoints a database's verification checks (`audit verify`, and the verification an
 * evidence bundle carries): every copy, in the checkpoint table, the data directory's checkpoint
 * file, files given with --checkpoints and audit.checkpoint records, against the key and the chain.
 */
import { plural } from '../domain/duration-text';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkpointFileOf, checkpointOfRecord, readCheckpointFile } from '../audit/access/checkpoints';
import { checkpointCount, verifyCheckpoints } from '../audit/verify/verify-checkpoints';
import type { CheckpointVerification, SourcedCheckpoint } from '../audit/verify/verify-checkpoints';
import { protectionFound } from '../audit/verify/schema-findings';
import type { AuditVerifier } from '../audit/access/signing';
import type { AuditDatabase } from './audit-database';
import { AuditInputError } from './audit-io';
import type { AuditCliIo } from './audit-io';
import { PublicKeyFileUnusableError, verifierFor, type VerifyOptions } from './audit-verify-options';

/** The data directory's checkpoint file (none is no error); one that cannot be read is named. */
function readOwnCheckpointFile(file: string): ReturnType<typeof readCheckpointFile> {
  try {
    return readCheckpointFile(file);
  } catch (err) {
    throw new AuditInputError((err as Error).message);
  }
}

/** A file given with --checkpoints must hold some: otherwise nothing was checked against it. */
function readGivenCheckpointFile(file: string): ReturnType<typeof readCheckpointFile> {
  let read;
  try {
    read = readCheckpointFile(file);
  } catch (err) {
    // readCheckpointFile names the file and why already.
    throw new AuditInputError((err as Error).message);
  }
  if (!read.checkpoints.length) {
    const lines = read.unreadable.length ? `none of its ${read.unreadable.length} line(s) is a checkpoint` : 'it is empty';
    throw new AuditInputError(`${file} holds no checkpoints (${lines}), so nothing was checked against it: pass a checkpoint file (audit-checkpoints.jsonl, or a copy of it)`);
  }
  return read;
}

export async function checkCheckpoints(
  db: AuditDatabase,
  chain: { ok: boolean; lastSeq: number; checkpointSeqs?: readonly number[] },
  opts: VerifyOptions,
  io: AuditCliIo,
): Promise<{ result: CheckpointVerification; triggerWarnings: string[]; keyProblem?: string }> {
  const dataDir = db.dataDir;
  const reader = await db.checkpoints();
  try {
    const table = reader.table;
    const sourced: SourcedCheckpoint[] = table.map((c) => ({ checkpoint: c, from: 'the checkpoint table', recordSeq: c.recordSeq }));
    const unreadable: string[] = [];
    const files = [checkpointFileOf(dataDir), ...(opts.checkpoints ?? []).map((f) => path.resolve(io.cwd, f))];
    for (const [i, f] of files.entries()) {
      if (i > 0 && !existsSync(f)) throw new AuditInputError(`no checkpoint file at ${f}`);
      const read = i > 0 ? readGivenCheckpointFile(f) : readOwnCheckpointFile(f);
      sourced.push(...read.checkpoints.map((c) => ({ checkpoint: c, from: f })));
      if (read.unreadable.length) unreadable.push(`${read.unreadable.length === 1 ? 'line' : 'lines'} ${read.unreadable.join(', ')} of ${f} ${read.unreadable.length === 1 ? 'is not a checkpoint and was' : 'are not checkpoints and were'} skipped`);
    }
    const recorded: SourcedCheckpoint[] = [];
    // The chain's verification noted where the checkpoint records are when the log is intact: read
    // those by seq rather than scan the whole log again for them.
    const records = chain.checkpointSeqs && reader.readAt ? reader.readAt(chain.checkpointSeqs) : reader.read({ types: ['audit.checkpoint'] });
    for await (const r of records) {
      const c = r.seq <= chain.lastSeq ? checkpointOfRecord(r) : undefined;
      if (c) recorded.push({ checkpoint: c, from: `record ${r.seq}` });
    }
    const hashes = await reader.hashesAt([...sourced, ...recorded].map((c) => c.checkpoint.seq));
    let verifier: AuditVerifier | undefined;
    let keyProblem: string | undefined;
    let noVerifierWhy: string | undefined;
    if (sourced.length || recorded.length) {
      try {
        const copies = [...sourced, ...recorded];
        verifier = verifierFor(opts, io, `each of the ${checkpointCount(copies)} checkpoint(s) found (${plural(copies.length, 'copy', 'copies')})`);
      } catch (err) {
        if (!(err instanceof AuditInputError)) throw err;
        keyProblem = err.message;
        if (err instanceof PublicKeyFileUnusableError) noVerifierWhy = "the data directory's public key file cannot be used (below)";
      }
    }
    const result = verifyCheckpoints({
      checkpoints: sourced,
      recorded,
      table,
      ...(verifier ? { verifier } : {}),
      ...(noVerifierWhy ? { noVerifierWhy } : {}),
      lastSeq: chain.lastSeq,
      chainIntact: chain.ok,
      hashAt: (seq) => hashes.get(seq),
    });
    result.warnings.push(...unreadable);
    const missing = await reader.missingCheckpointTriggers();
    const triggerWarnings = missing.length
      ? [`the append-only protection of the checkpoint table is missing, disabled or changed (${protectionFound(missing)}): someone changed the database schema by hand`]
      : [];
    return { result, triggerWarnings, ...(keyProblem ? { keyProblem } : {}) };
  } finally {
    await reader.close();
  }
}
