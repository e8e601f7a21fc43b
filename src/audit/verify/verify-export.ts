/**
 * Verifying an export file offline. The records are checked as a chain (or, for a filtered export,
 * each against its own hash and in seq order); with its signed manifest, the file must also be the
 * very bytes that were exported, with the same count, first and last record. Together these catch
 * any edit, deletion, reordering, duplication or truncation, and name what happened where.
 *
 * Record hashes carry no key: whoever edits a file can hash every record again. What no one can
 * redo without the private key is a signature: the manifest's, and those of the checkpoints the
 * export's own audit.checkpoint records carry. So those checkpoints are checked too (with the key,
 * when there is one): each must be signed by it and name a record the file holds as it is.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { CSV_COLUMNS } from '../formats/csv-columns';
import { CsvHeaderError, readCsv } from '../formats/csv-reader';
import { ChainDefect } from '../chain/record-text';
import { readJsonl } from '../formats/jsonl';
import { readOcsf } from '../formats/ocsf';
import { verifyChain } from './verify';
import type { ChainVerification } from './verify';
import type { ChainProblemKind } from '../chain/record-text';
import type { AuditRecord } from '../../domain/audit';
import { checkpointOfRecord, checkpointSignatureOk } from '../access/checkpoints';
import { manifestSignatureProblem, missingFromLog } from '../access/manifest';
import type { ExportManifest } from '../access/manifest';
import type { ExportFormat } from '../ports';
import type { AuditVerifier } from '../access/signing';

export type ExportProblemKind = ChainProblemKind | 'truncated' | 'added' | 'bytes-changed' | 'bad-signature' | 'forged' | 'rewritten' | 'foreign' | 'log-damaged';

export interface ExportProblem {
  kind: ExportProblemKind;
  message: string;
}

export interface ExportVerification {
  ok: boolean;
  format: ExportFormat;
  /** The record-level check. */
  chain: ChainVerification;
  /** The manifest checked against, when there was one. */
  manifest?: ExportManifest;
  /** The file's SHA-256 (computed only when there is a manifest to compare it with). */
  sha256?: string;
  /** The first problem is the most specific; empty when the export is intact. */
  problems: ExportProblem[];
  /** The signed checkpoints the file's audit.checkpoint records carry, and what checking them found. */
  checkpoints: ExportCheckpoints;
}

export interface ExportCheckpoints {
  /** How many the file carries. */
  found: number;
  /** Signed with the key given and naming a record of the file as it is. */
  checked: number;
  /** The highest record a checked checkpoint names. */
  upTo?: number;
  /** Signed with the key given, naming a record this file does not hold (a filtered export): nothing to compare. */
  elsewhere: number;
  /** Not checked: no key was given, or another key signed them, or the records before them did not check out. */
  unchecked: number;
  /** The records did not check out: what the checkpoints name was not compared. */
  chainBroken?: true;
  keyId?: string;
}

export interface VerifyExportOptions {
  format: ExportFormat;
  /**
   * The format the file is known to be in (given, or by its name), if known. A manifest of another
   * format does not belong to the file unless the file is the very bytes it signed.
   */
  fileFormat?: ExportFormat;
  manifest?: ExportManifest;
  /** Needed with a manifest: the key its signature is checked with (and the file's checkpoints, with or without one). */
  verifier?: AuditVerifier;
  /** Without a manifest: the export is a window of the chain (it need not start at record 1). */
  partial?: boolean;
  /**
   * Without a manifest: the export is a selection (made with --request, --type or --actor), so gaps
   * between its records are expected; each record is checked against its own hash and order only.
   */
  filtered?: boolean;
}

function readExport(file: string, format: ExportFormat): AsyncIterable<AuditRecord> {
  if (format === 'csv') return readCsv(file);
  if (format === 'ocsf') return readOcsf(file);
  return readJsonl(file);
}

/**
 * A CSV file its signed manifest says is a CSV export: a first row that is not Countersign's header
 * (a column added, removed, renamed or moved, the header row deleted) is an edit of the export, as
 * any other changed line is, not a file of another kind.
 */
async function* headerEdited(records: AsyncIterable<AuditRecord>): AsyncGenerator<AuditRecord> {
  try {
    yield* records;
  } catch (err) {
    if (!(err instanceof CsvHeaderError)) throw err;
    throw new ChainDefect('edited', `line 1 of the CSV export is not the header Countersign writes (${err.found}): it was edited.`);
  }
}

/** How many of the latest records' hashes are kept to compare a checkpoint with: it names a record just before its own. */
const RECENT_HASHES = 65_536;

/** An audit.checkpoint record met in the file, with the hash the file holds for the record it names (when that is among the recent ones). */
interface MetCheckpoint {
  record: number;
  checkpoint: ReturnType<typeof checkpointOfRecord>;
  held?: string;
}

/** The records, noting on the way every audit.checkpoint record and the hash the file holds for what it names. */
async function* noting(records: AsyncIterable<AuditRecord>, met: MetCheckpoint[]): AsyncGenerator<AuditRecord> {
  const recent = new Map<number, string>();
  for await (const r of records) {
    recent.set(r.seq, r.hash);
    if (recent.size > RECENT_HASHES) recent.delete(recent.keys().next().value as number);
    if (r.type === 'audit.checkpoint') {
      const checkpoint = checkpointOfRecord(r);
      met.push({ record: r.seq, checkpoint, ...(checkpoint && recent.has(checkpoint.seq) ? { held: recent.get(checkpoint.seq) } : {}) });
    }
    yield r;
  }
}

/** What the file's checkpoints say, once its records checked out against each other. */
function checkCheckpoints(met: readonly MetCheckpoint[], verifier: AuditVerifier | undefined): { problems: ExportProblem[]; summary: ExportCheckpoints } {
  const summary: ExportCheckpoints = { found: met.length, checked: 0, elsewhere: 0, unchecked: 0, ...(verifier ? { keyId: verifier.keyId } : {}) };
  const problems: ExportProblem[] = [];
  /** Checkpoints naming another key than the one given: how many, which keys, and the furthest record they name. */
  const other = { count: 0, keys: new Set<string>(), reach: 0 };
  for (const { record, checkpoint: c, held } of met) {
    if (!c) {
      problems.push({ kind: 'forged', message: `record ${record} is an audit.checkpoint record whose checkpoint cannot be read (not a seq, hash, time, key id and signature): it was edited.` });
      continue;
    }
    if (!verifier || c.keyId !== verifier.keyId) {
      summary.unchecked += 1;
      if (verifier) Object.assign(other, { count: other.count + 1, reach: Math.max(other.reach, c.seq) }).keys.add(c.keyId);
      continue;
    }
    if (!checkpointSignatureOk(c, verifier)) {
      problems.push({
        kind: 'forged',
        message: `the checkpoint in record ${record}, for record ${c.seq}, has a signature that does not match it: it was forged or edited (anyone can hash records again; no one can sign without the key).`,
      });
      continue;
    }
    if (held !== undefined && held !== c.hash) {
      problems.push({
        kind: 'rewritten',
        message: `record ${c.seq} is not the record the checkpoint in record ${record} (signed at ${c.time}) vouches for (hash ${c.hash.slice(0, 12)}…): the records were rewritten at or before record ${c.seq} and hashed again.`,
      });
      continue;
    }
    if (held === undefined) {
      summary.elsewhere += 1;
      continue;
    }
    summary.checked += 1;
    summary.upTo = Math.max(summary.upTo ?? 0, c.seq);
  }
  // Anyone can write a key id: checkpoints naming another key count only where the key given has
  // vouched at least as far (an earlier key's, before a change of key). Beyond that they are a claim.
  if (verifier && other.count > 0 && other.reach > (summary.upTo ?? 0)) {
    problems.push({
      kind: 'foreign',
      message: `${other.count} checkpoint(s) in the file name key ${[...other.keys].join(', ')}, not the key given (${verifier.keyId}), and reach record ${other.reach}, further than any checkpoint of the key given${summary.upTo ? ` (record ${summary.upTo})` : ''}: their signatures could not be checked, and a key id can be written by anyone. If this export comes from before a change of key, check it with that key's public key, taken from a source you trust.`,
    });
  }
  return { problems, summary };
}

/** The manifest given is not the file's: another format, other bytes. Nothing was checked against it. */
export class ManifestMismatchError extends Error {
  constructor(
    readonly manifest: ExportManifest,
    readonly fileFormat: ExportFormat,
    readonly sha256: string,
  ) {
    const m = manifest;
    super(
      `it signed a ${m.format} export${m.file ? ` (${m.file})` : ''} of ${m.records} record(s) with SHA-256 ${m.sha256}, and this file is ${fileFormat} with SHA-256 ${sha256}`,
    );
    this.name = 'ManifestMismatchError';
  }
}

const FORMAT_NAMES: Record<ExportFormat, string> = { jsonl: 'JSON Lines', csv: 'CSV', ocsf: 'OCSF' };

/** What a file's first line shows it to be: an export of a format, or some JSON object (cut off, or of neither kind). */
export type ContentFormat = ExportFormat | 'json';

const LOOKS: Record<ContentFormat, string> = {
  csv: 'a CSV export (its first line is the CSV header)',
  jsonl: 'a JSON Lines export (its first line is an audit record)',
  ocsf: 'an OCSF export (its first line is an OCSF event)',
  json: 'a JSON Lines or OCSF export (its first line is a JSON object)',
};

/**
 * The file is plainly another format than the one it was to be checked as (a CSV export read as JSON
 * Lines): reading on would report every record as edited. Nothing was checked.
 */
export class WrongFormatError extends Error {
  constructor(
    readonly checkedAs: ExportFormat,
    readonly looksLike: ContentFormat,
  ) {
    super(`it looks like ${LOOKS[looksLike]}, not ${FORMAT_NAMES[checkedAs]}`);
    this.name = 'WrongFormatError';
  }
}

/** How much of the file is read for its first line; a record is a few kilobytes. */
const FIRST_LINE_BYTES = 1024 * 1024;

/**
 * What the first non-blank line of the file shows it to be, when it plainly shows it: the CSV header,
 * an OCSF event, an audit record, or a JSON object of neither kind (or cut off). Undefined for
 * anything else (an empty file, a damaged header), which verification then names as it finds it.
 */
async function formatOfContent(file: string): Promise<ContentFormat | undefined> {
  const handle = await open(file, 'r');
  let text: string;
  let whole: boolean;
  try {
    const buffer = Buffer.alloc(FIRST_LINE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, FIRST_LINE_BYTES, 0);
    text = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    whole = bytesRead < FIRST_LINE_BYTES;
  } finally {
    await handle.close();
  }
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() !== '');
  if (at === -1) return undefined;
  const line = lines[at].replace(/\r$/, '');
  if (line === CSV_COLUMNS.join(',')) return 'csv';
  if (!line.trimStart().startsWith('{')) return undefined;
  // The line is complete if a line feed follows it, or the file ends with it.
  if (at < lines.length - 1 || whole) {
    try {
      const value = JSON.parse(line) as Record<string, unknown> | null;
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        if (value.class_uid === 6003 && typeof value.raw_data === 'string') return 'ocsf';
        if (typeof value.seq === 'number' && typeof value.hash === 'string' && !('class_uid' in value)) return 'jsonl';
      }
    } catch {
      // Not JSON as it stands (edited, or cut off): some JSON object all the same.
    }
  }
  return 'json';
}

/** Whether a file whose first line looks like `content` is plainly not a `format` export. */
function plainlyNot(format: ExportFormat, content: ContentFormat | undefined): boolean {
  if (content === undefined || content === format) return false;
  // A JSON object that is neither an audit record nor an OCSF event is damage to JSON Lines or OCSF, not CSV.
  return content !== 'json' || format === 'csv';
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function verifyExportFile(file: string, options: VerifyExportOptions): Promise<ExportVerification> {
  const m = options.manifest;
  const format = m?.format ?? options.format;
  if (m && options.fileFormat && options.fileFormat !== m.format) {
    const sha256 = await fileSha256(file);
    if (sha256 !== m.sha256) throw new ManifestMismatchError(m, options.fileFormat, sha256);
  }
  // Without a manifest to say what the bytes are, a file plainly of another format is a mistake in the asking, not damage.
  if (!m) {
    const content = await formatOfContent(file);
    if (plainlyNot(format, content)) throw new WrongFormatError(format, content!);
  }
  const start = m ? (m.contiguous && m.firstSeq <= 1 ? 'genesis' : 'anywhere') : options.partial || options.filtered ? 'anywhere' : 'genesis';
  const met: MetCheckpoint[] = [];
  const read = readExport(file, format);
  const chain = await verifyChain(noting(m && format === 'csv' ? headerEdited(read) : read, met), { start, links: m ? m.contiguous : !options.filtered });
  const problems: ExportProblem[] = [];
  if (chain.problem) problems.push({ kind: chain.problem.kind, message: chain.problem.message });
  // Past a broken chain the records read say nothing more; the checkpoints are checked over an intact one.
  const signed = chain.problem
    ? { problems: [], summary: { found: met.length, checked: 0, elsewhere: 0, unchecked: met.length, ...(options.verifier ? { keyId: options.verifier.keyId } : {}), chainBroken: true as const } }
    : checkCheckpoints(met, options.verifier);
  problems.push(...signed.problems);
  const checkpoints = signed.summary;
  if (!m) return { ok: problems.length === 0, format, chain, problems, checkpoints };

  if (!options.verifier) throw new Error('a manifest is checked with a public key: none was given');
  const signature = manifestSignatureProblem(m, options.verifier);
  if (signature) problems.unshift({ kind: 'bad-signature', message: `${signature}.` });
  const sha256 = await fileSha256(file);
  if (!chain.problem) problems.push(...againstManifest(chain, m));
  // An export of the whole log that skips numbers was made from a log records were deleted from.
  const gap = missingFromLog(m);
  if (gap && !signature) problems.push({ kind: 'deleted', message: `${gap}.` });
  // A more specific problem already explains a different hash; alone, it is a change of another kind.
  if (sha256 !== m.sha256 && problems.length === 0) {
    problems.push({
      kind: 'bytes-changed',
      message: `the file is not the one exported: its SHA-256 is ${sha256}, the manifest signed ${m.sha256}. Every record still checks, so it was changed in another way (reformatted, re-encoded, text added).`,
    });
  }
  // The log was found cut short or rewritten as it was exported (signed into the manifest): the file
  // is what was left. After the file's own problems, which say whether it is as signed.
  if (!signature) for (const d of m.logDamage ?? []) problems.push({ kind: 'log-damaged', message: `the audit log it was exported from was damaged: ${d}.` });
  return { ok: problems.length === 0, format, chain, manifest: m, sha256, problems, checkpoints };
}

/** What the records read say against what the manifest signed. */
function againstManifest(chain: ChainVerification, m: ExportManifest): ExportProblem[] {
  const found = `${chain.count} record(s)${chain.count ? `, seq ${chain.firstSeq} to ${chain.lastSeq}` : ''}`;
  const signed = `${m.records} record(s)${m.records ? `, seq ${m.firstSeq} to ${m.lastSeq}` : ''}`;
  if (chain.count === m.records && chain.firstSeq === m.firstSeq && chain.lastSeq === m.lastSeq && chain.headHash === m.headHash) return [];
  if (chain.count === 0 && m.records > 0) {
    return [{ kind: 'truncated', message: `the export holds no records (emptied, or cut before its first record), but the manifest says it holds ${signed}.` }];
  }
  if (chain.count < m.records && chain.lastSeq < m.lastSeq && chain.firstSeq === m.firstSeq) {
    return [{ kind: 'truncated', message: `the export was cut short (truncated): it ends at record ${chain.lastSeq || 'none'}, but the manifest says it runs to record ${m.lastSeq} (${m.records - chain.count} record(s) missing at the end). Found ${found}; signed ${signed}.` }];
  }
  if (chain.count < m.records && chain.firstSeq !== m.firstSeq) {
    return [{ kind: 'deleted', message: `records were removed from the start of the export: it begins at record ${chain.firstSeq || 'none'}, but the manifest says it begins at record ${m.firstSeq}. Found ${found}; signed ${signed}.` }];
  }
  if (chain.count < m.records) {
    return [{ kind: 'deleted', message: `${m.records - chain.count} record(s) were deleted from the export. Found ${found}; signed ${signed}.` }];
  }
  if (chain.count > m.records) {
    return [{ kind: 'added', message: `the export holds ${chain.count - m.records} record(s) more than were exported (added or copied in). Found ${found}; signed ${signed}.` }];
  }
  return [{ kind: 'edited', message: `the records are not the ones exported: the last one hashes to ${chain.headHash}, the manifest signed ${m.headHash}. Found ${found}; signed ${signed}.` }];
}
