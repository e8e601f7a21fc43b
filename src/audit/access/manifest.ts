/**
 * The manifest of an export: what was exported (format, filter, record count, first and last seq,
 * the last record's hash) and the SHA-256 of the exact bytes, signed with the audit key. With the
 * public key, anyone can check offline that an export file is complete and unchanged.
 */
import type { AuditFilter } from '../../domain/audit';
import { canonicalJson } from '../../domain/canonical';
import type { ExportFormat } from '../ports';
import type { AuditSigner, AuditVerifier } from './signing';

/**
 * 2: a time window selects a run of the chain (every record from the first at or after `from` to the
 * last before `to`), so a gap in its seqs is a deletion. Version 1 windows selected each record by its
 * own time, and on PostgreSQL could skip a record whose time crossed a neighbour's: they are read as
 * before, a gap in them said nothing.
 */
export const MANIFEST_VERSION = 2;

/** The versions read: older manifests are still checked, by the rules of their version. */
const KNOWN_VERSIONS: readonly number[] = [1, 2];

export interface ExportManifest {
  manifestVersion: number;
  exportId: string;
  format: ExportFormat;
  /** The export file's name, when it was written to a file. */
  file?: string;
  /** SHA-256 (hex) of the export's bytes, and their number. */
  sha256: string;
  bytes: number;
  records: number;
  /** 0 when the export is empty. */
  firstSeq: number;
  lastSeq: number;
  /** Hash of the last exported record (64 zeros when none). */
  headHash: string;
  /** True when the records are an unbroken stretch of the chain (their links are checked too). */
  contiguous: boolean;
  /**
   * What the log was found to have lost when it was exported, in words (its signed checkpoints
   * show it cut short or rewritten): the export holds what was left. Absent when nothing was found,
   * so manifests of intact logs, and of Countersign before 2026-12-06, have no such field.
   */
  logDamage?: string[];
  filter: AuditFilter;
  exportedAt: string;
  /** Who exported it, in words: an auditor's name and object id, or the operating-system user of the CLI. */
  exportedBy: string;
  keyId: string;
  algorithm: 'Ed25519';
  /** Base64 Ed25519 signature over the canonical JSON of every other field. */
  signature: string;
}

export type UnsignedManifest = Omit<ExportManifest, 'keyId' | 'algorithm' | 'signature'>;

/**
 * Records missing from the log an export was made from, in words, when the export selected a run of
 * the chain (the whole log, from a seq on, or a time window) yet its records skip numbers: a log has
 * no gaps but where records were deleted from it. Exports selected by request, person or type skip
 * numbers (those are other records), and so did time windows before manifest version 2: they say
 * nothing here. A record deleted at the very edge of a window cannot be told from one outside it.
 */
export function missingFromLog(m: Pick<ExportManifest, 'manifestVersion' | 'filter' | 'records' | 'firstSeq' | 'lastSeq'>): string | undefined {
  const f = m.filter;
  if (f.requestId !== undefined || f.actorId !== undefined || (f.types?.length ?? 0) > 0) return undefined;
  const window = f.from !== undefined || f.to !== undefined;
  if (window && m.manifestVersion < 2) return undefined;
  if (m.records === 0) return undefined;
  // A window's run starts where its first record is; a selection by seq at its fromSeq (or 1).
  const first = window ? m.firstSeq : (f.fromSeq ?? 1);
  const missing = m.lastSeq - first + 1 - m.records;
  if (missing <= 0) return undefined;
  const selected = window
    ? `every record ${f.from !== undefined ? `from ${f.from} ` : ''}${f.to !== undefined ? `up to ${f.to}` : 'on'}${f.fromSeq !== undefined ? ` from seq ${f.fromSeq}` : ''}, an unbroken run of the log,`
    : f.fromSeq === undefined
      ? 'the whole log'
      : `every record from seq ${f.fromSeq}`;
  const since = m.firstSeq > first ? `(seq ${first} to ${m.firstSeq - 1} among them) ` : '';
  const held = window ? `from seq ${m.firstSeq} to ${m.lastSeq}` : `up to seq ${m.lastSeq}`;
  return `the export selected ${selected} and holds ${m.records} record(s) ${held}, so ${missing} record(s) ${since}were missing from the log it was made from: deleted from the database before the export. Run "countersign audit verify" on the database to find them`;
}

function signedText(m: Omit<ExportManifest, 'signature'>): string {
  return canonicalJson(m);
}

export function signManifest(unsigned: UnsignedManifest, signer: AuditSigner): ExportManifest {
  const body = { ...unsigned, keyId: signer.keyId, algorithm: 'Ed25519' as const };
  return { ...body, signature: signer.sign('export-manifest', signedText(body)) };
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const NUMBER_FIELDS = ['manifestVersion', 'bytes', 'records', 'firstSeq', 'lastSeq'] as const;
const TEXT_FIELDS = ['exportId', 'format', 'sha256', 'headHash', 'exportedAt', 'exportedBy', 'keyId', 'algorithm', 'signature'] as const;

/** A manifest read from JSON text, its shape checked (not yet its signature). */
export function parseManifest(text: string, source: string): ExportManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${source} is not a manifest: it is not JSON (${(err as Error).message})`);
  }
  const m = value as Record<string, unknown>;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new ManifestError(`${source} is not a manifest: it is not a JSON object`);
  for (const f of NUMBER_FIELDS) if (!Number.isSafeInteger(m[f])) throw new ManifestError(`${source} is not a manifest: ${f} is missing or not a whole number`);
  for (const f of TEXT_FIELDS) if (typeof m[f] !== 'string') throw new ManifestError(`${source} is not a manifest: ${f} is missing or not text`);
  if (typeof m.contiguous !== 'boolean') throw new ManifestError(`${source} is not a manifest: contiguous is missing`);
  if (m.logDamage !== undefined && !(Array.isArray(m.logDamage) && m.logDamage.every((d) => typeof d === 'string'))) {
    throw new ManifestError(`${source} is not a manifest: logDamage is not a list of texts`);
  }
  if (!KNOWN_VERSIONS.includes(m.manifestVersion as number)) throw new ManifestError(`${source} is a manifest of version ${String(m.manifestVersion)}, which this Countersign does not know`);
  return m as unknown as ExportManifest;
}

/** Undefined when the signature is good; otherwise why it is not. */
export function manifestSignatureProblem(m: ExportManifest, verifier: AuditVerifier): string | undefined {
  if (m.keyId !== verifier.keyId) {
    return `the manifest was signed with key ${m.keyId}, but the public key in use is ${verifier.keyId}`;
  }
  const { signature, ...body } = m;
  if (m.algorithm !== 'Ed25519' || !verifier.verify('export-manifest', signedText(body), signature)) {
    return 'the manifest signature does not match its content: the manifest was edited after it was signed';
  }
  return undefined;
}
