/**
 * Checking the signed checkpoints of the audit chain head (src/audit/access/checkpoints.ts makes and
 * keeps them): each copy found (the checkpoint table, checkpoint files, audit.checkpoint records)
 * against the key in use and against the verified chain, naming a log cut short, rewritten, a
 * checkpoint forged or deleted, or one another key signed.
 */
import type { AuditCheckpoint } from '../ports';
import { checkpointSignatureOk } from '../access/checkpoints';
import type { AuditVerifier } from '../access/signing';

export interface SourcedCheckpoint {
  checkpoint: AuditCheckpoint;
  /** Where it was found, in words: "the checkpoint table", "file x", "record 12". */
  from: string;
  /** For a table row: the seq of the audit.checkpoint record written with it. */
  recordSeq?: number | null;
}

/**
 * `foreign`: checkpoints signed with a key other than the one in use, not followed by any the key in
 * use signed, so they could not be checked and neither could a cut-off end they would show.
 */
export type CheckpointProblemKind = 'truncated' | 'rewritten' | 'forged' | 'missing' | 'foreign';

export interface CheckpointProblem {
  kind: CheckpointProblemKind;
  message: string;
}

export interface CheckpointVerification {
  /** Distinct checkpoints whose signature was checked and found good. */
  checked: number;
  /** How many copies of them were found (table, files, records). */
  copies: number;
  /** The good checkpoint naming the highest record. */
  latest?: SourcedCheckpoint;
  problems: CheckpointProblem[];
  /** Things that could not be checked (an earlier key's checkpoints, unreadable file lines). */
  warnings: string[];
  /** Copies of checkpoints found but not checked (another key's, or no public key given). */
  unchecked: number;
  /** How many checkpoints those unchecked copies are of (by signature). */
  uncheckedCheckpoints: number;
  /** The id of the key they were checked with. */
  keyId?: string;
}

export interface CheckpointInput {
  checkpoints: SourcedCheckpoint[];
  /** Checkpoints carried by audit.checkpoint records: each must also be in the table. */
  recorded: SourcedCheckpoint[];
  table: AuditCheckpoint[];
  verifier?: AuditVerifier;
  /** Why there is no verifier, when it is not that none was given (a key file that cannot be used). */
  noVerifierWhy?: string;
  /** Where the verified chain ends. */
  lastSeq: number;
  /** False when the chain broke before its end: what lies past lastSeq is then already reported. */
  chainIntact: boolean;
  /** The hash of an intact record at seq (only asked for seq <= lastSeq). */
  hashAt(seq: number): string | undefined;
}

/** How many checkpoints the copies are of: one is kept in the table, the file and a record, so up to three copies. */
export function checkpointCount(copies: readonly SourcedCheckpoint[]): number {
  return new Set(copies.map((s) => s.checkpoint.signature)).size;
}

function when(s: SourcedCheckpoint): string {
  return `the checkpoint signed at ${s.checkpoint.time} (from ${s.from})`;
}

export function verifyCheckpoints(input: CheckpointInput): CheckpointVerification {
  const out: CheckpointVerification = { checked: 0, copies: 0, problems: [], warnings: [], unchecked: 0, uncheckedCheckpoints: 0 };
  const distinct = new Set<string>();
  if (!input.verifier) {
    const all = [...input.checkpoints, ...input.recorded];
    out.unchecked = all.length;
    out.uncheckedCheckpoints = checkpointCount(all);
    if (all.length) out.warnings.push(`${out.uncheckedCheckpoints} checkpoint(s) were not checked: ${input.noVerifierWhy ?? 'no public key was given'}`);
    return out;
  }
  const verifier = input.verifier;
  out.keyId = verifier.keyId;
  let truncatedAt: { s: SourcedCheckpoint; reach: number } | undefined;
  /** Per other key: its checkpoints' distinct signatures, and the one reaching furthest. */
  const other = new Map<string, { signatures: Set<string>; furthest: SourcedCheckpoint; reach: number }>();
  /**
   * Another key's checkpoints that name a record the log holds otherwise, one per signature. Their
   * signatures cannot be checked with the key in use, but what they name is not set aside for
   * that: a log rewritten and signed again with a new key (the key file replaced too) shows only
   * here, as the checkpoints of the old key disagreeing with it.
   */
  const contradicted = new Map<string, SourcedCheckpoint>();
  let ownReach = 0;
  for (const s of [...input.checkpoints, ...input.recorded]) {
    const c = s.checkpoint;
    // A table row also knows the seq of its own audit.checkpoint record, one past what it signed.
    const reach = Math.max(c.seq, s.recordSeq ?? 0);
    if (c.keyId !== verifier.keyId) {
      out.unchecked += 1;
      const held = c.seq <= input.lastSeq ? input.hashAt(c.seq) : undefined;
      if (held !== undefined && held !== c.hash && !contradicted.has(c.signature)) contradicted.set(c.signature, s);
      const seen = other.get(c.keyId);
      if (!seen) other.set(c.keyId, { signatures: new Set([c.signature]), furthest: s, reach });
      else {
        seen.signatures.add(c.signature);
        if (reach > seen.reach) Object.assign(seen, { furthest: s, reach });
      }
      continue;
    }
    if (!checkpointSignatureOk(c, verifier)) {
      out.problems.push({ kind: 'forged', message: `${when(s)} for record ${c.seq} has a signature that does not match it: it was forged or edited.` });
      continue;
    }
    distinct.add(c.signature);
    out.checked = distinct.size;
    out.copies += 1;
    if (!out.latest || c.seq > out.latest.checkpoint.seq) out.latest = s;
    ownReach = Math.max(ownReach, reach);
    if (reach > input.lastSeq && (!truncatedAt || reach > truncatedAt.reach)) truncatedAt = { s, reach };
    if (c.seq <= input.lastSeq && input.hashAt(c.seq) !== c.hash) {
      out.problems.push({
        kind: 'rewritten',
        message: `record ${c.seq} is not the record ${when(s)} vouches for (hash ${c.hash.slice(0, 12)}…): the log was rewritten at or before record ${c.seq}.`,
      });
    }
  }
  if (truncatedAt && input.chainIntact) {
    const { s, reach } = truncatedAt;
    const names = reach === s.checkpoint.seq ? `record ${reach} (hash ${s.checkpoint.hash.slice(0, 12)}…)` : `its own audit.checkpoint record ${reach}`;
    out.problems.unshift({
      kind: 'truncated',
      message: `the audit log was cut short (truncated): it ends at record ${input.lastSeq}, but ${when(s)} names ${names}, so records ${input.lastSeq + 1} to ${reach} at least are missing.`,
    });
  }
  // A row is the recorded checkpoint's when it names the same record and keeps its hash or its
  // signature: a row with one of them edited is still there (and named forged above), not deleted.
  // The seq alone would not do: after an accepted loss, old rows may name the same seqs as new ones.
  const rowsAt = new Map<number, AuditCheckpoint[]>();
  for (const t of input.table) rowsAt.set(t.seq, [...(rowsAt.get(t.seq) ?? []), t]);
  const inTable = (c: AuditCheckpoint) => (rowsAt.get(c.seq) ?? []).some((t) => t.hash === c.hash || t.signature === c.signature);
  for (const s of input.recorded) {
    if (!inTable(s.checkpoint)) {
      out.problems.push({
        kind: 'missing',
        message: `the checkpoint table lost the checkpoint of record ${s.checkpoint.seq} that ${s.from} recorded: rows were deleted from it.`,
      });
    }
  }
  for (const s of contradicted.values()) {
    const c = s.checkpoint;
    out.problems.push({
      kind: 'rewritten',
      message:
        `record ${c.seq} is not the record ${when(s)} vouches for (hash ${c.hash.slice(0, 12)}…), a checkpoint signed with key ${c.keyId}, not the key in use (${verifier.keyId}), so its signature was not checked: ` +
        `either the log was rewritten at or before record ${c.seq} and signed again with another key, or that checkpoint is not genuine. Check it with that key's public key (--public-key <its .pub.pem>).`,
    });
  }
  // Another key's checkpoints that the key in use followed with its own are an earlier key's (one
  // replaced when a loss was accepted): noted. Any that reach further are not a pass: they are
  // foreign or forged, or the key in use is not the one that signs this log.
  for (const [keyId, o] of other) {
    out.uncheckedCheckpoints += o.signatures.size;
    const n = `${o.signatures.size} checkpoint(s) signed with key ${keyId}`;
    if (o.reach <= ownReach) {
      out.warnings.push(
        `${n}, up to record ${o.reach}, were not checked: they are an earlier key's, followed by checkpoints of the key in use (${verifier.keyId}) up to record ${ownReach}. ` +
          `The records they name were compared with the log all the same; to check their signatures, pass that key's public key with --public-key`,
      );
      continue;
    }
    const latest = `the latest of them, ${when(o.furthest)}, reaches record ${o.reach}`;
    out.problems.push({
      kind: 'foreign',
      message: ownReach
        ? `${n} could not be checked with the key in use (${verifier.keyId}), whose own checkpoints reach only record ${ownReach}; ${latest}. They are foreign or forged, or the key in use is not the one that signs this log; a cut-off end after record ${ownReach} could not be checked.`
        : `none of the checkpoints could be checked with the key in use (${verifier.keyId}): ${n}; ${latest}. They are foreign or forged, or the key in use is not the one that signed this log; a cut-off end of the log could not be checked.`,
    });
  }
  return out;
}
