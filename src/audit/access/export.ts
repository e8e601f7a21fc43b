/**
 * One export, however it is asked for (the CLI, a Teams download link, the HTTP API): records
 * streamed in seq order through the format's encoder, hashed on the way out, and a signed manifest
 * of the result; plus the audit event that records the export.
 */
import type { Writable } from 'node:stream';
import type { AuditFilter } from '../../domain/audit';
import { CSV_ENCODER } from '../formats/csv-writer';
import { JSONL_ENCODER } from '../formats/jsonl';
import { OCSF_ENCODER } from '../formats/ocsf';
import { writeRecords } from '../formats/output';
import type { RecordEncoder } from '../formats/encoder';
import type { ExportSource, ExportSummary } from '../formats/output';
import { neutralise } from '../../domain/audit';
import type { AuditEventDraft } from '../../domain/audit';
import type { Actor, Source } from '../../domain/request';
import { MANIFEST_VERSION, missingFromLog, signManifest } from './manifest';
import type { ExportManifest } from './manifest';
import type { ExportFormat } from '../ports';
import type { AuditSigner } from './signing';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv', 'ocsf'];

const ENCODERS: Record<ExportFormat, RecordEncoder> = { jsonl: JSONL_ENCODER, csv: CSV_ENCODER, ocsf: OCSF_ENCODER };

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  ocsf: 'application/x-ndjson; charset=utf-8',
};

/** File name ending of each format; OCSF exports are JSON Lines too, told apart by name. */
export const EXTENSIONS: Record<ExportFormat, string> = { jsonl: '.jsonl', csv: '.csv', ocsf: '.ocsf.jsonl' };

/** The format an export file name says it has. */
export function formatOfFile(file: string): ExportFormat {
  const name = file.toLowerCase();
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.ocsf.jsonl') || name.endsWith('.ocsf.json')) return 'ocsf';
  return 'jsonl';
}

/** Where the manifest of an export file goes by default. */
export function manifestFileOf(file: string): string {
  return `${file}.manifest.json`;
}

export interface ExportRequest {
  format: ExportFormat;
  filter: AuditFilter;
  exportId: string;
  exportedAt: string;
  exportedBy: string;
  /** The file's name, when written to one. */
  file?: string;
  /** Called after each batch of records (progress on a terminal). */
  progress?: (summary: Readonly<ExportSummary>) => void;
  /**
   * What the log was found to have lost before the export (signed into the manifest when any, with
   * the records the export finds stored altered).
   */
  logDamage?: string[];
}

export interface ExportResult {
  summary: ExportSummary;
  manifest: ExportManifest;
  /** The records found stored altered as they were exported (alteredInLog), in words; signed into the manifest's logDamage too. */
  altered?: string;
}

/**
 * Records an export read as stored text that is not the canonical form they were sealed in, in
 * words: someone with write access to the database edited the text (a member repeated or reordered,
 * spacing added) and left the hash, so the hash still checks while a reader that keeps the first of
 * two members (SQLite's json_extract, many JSON libraries) sees other values than it vouches for.
 */
function alteredInLog(altered: NonNullable<ExportSummary['altered']>, format: ExportFormat): string {
  const named = altered.seqs.join(', ');
  const more = altered.count > altered.seqs.length ? ` and ${altered.count - altered.seqs.length} more` : '';
  const held = format === 'jsonl' ? 'this export holds their text as stored' : `this ${format.toUpperCase()} export holds each as its hash vouches for, so its file alone does not show it`;
  return `${altered.count} record(s) (seq ${named}${more}) are stored in the log as text that is not the canonical form they were sealed in (a member repeated or reordered, or spacing added), their hash unchanged: their stored text was edited in the database after they were sealed (${held}). Run "countersign audit verify" on the database to find them`;
}

/** The export broke off (the client went away, the disk filled): how far it got. */
export class ExportIncompleteError extends Error {
  constructor(
    override readonly cause: unknown,
    /**
     * Records handed to the output before it broke off (counted per batch), the batch being written
     * then included: the most that went out, since how much of that batch arrived is not known.
     */
    readonly recordsSent: number,
  ) {
    super(`the export broke off after up to ${recordsSent} record(s) had been written: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'ExportIncompleteError';
  }
}

export async function exportAudit(records: ExportSource, out: Writable, request: ExportRequest, signer: AuditSigner): Promise<ExportResult> {
  let sent = 0;
  let summary: ExportSummary;
  try {
    // Counted as each batch goes to the output, not once it is written: a reader that closes the
    // output (`| head -1`) fails the write of the very batch it read from.
    summary = await writeRecords(records, ENCODERS[request.format], out, (s) => request.progress?.(s), { writing: (s) => (sent = s.count) });
  } catch (err) {
    throw new ExportIncompleteError(err, sent);
  }
  const altered = summary.altered ? alteredInLog(summary.altered, request.format) : undefined;
  const logDamage = [...(request.logDamage ?? []), ...(altered ? [altered] : [])];
  const manifest = signManifest(
    {
      manifestVersion: MANIFEST_VERSION,
      exportId: request.exportId,
      format: request.format,
      ...(request.file ? { file: request.file } : {}),
      sha256: summary.sha256,
      bytes: summary.bytes,
      records: summary.count,
      firstSeq: summary.firstSeq,
      lastSeq: summary.lastSeq,
      headHash: summary.headHash,
      contiguous: summary.contiguous,
      ...(logDamage.length ? { logDamage } : {}),
      filter: request.filter,
      exportedAt: request.exportedAt,
      exportedBy: request.exportedBy,
    },
    signer,
  );
  return { summary, manifest, ...(altered ? { altered } : {}) };
}

/** How an export was asked for, as recorded. */
export type ExportChannel = 'cli' | 'teams-link' | 'http' | 'evidence';

export interface ExportedEventInput {
  time: string;
  via: ExportChannel;
  manifest: ExportManifest;
  actor?: Actor;
  source?: Source;
  /** Extra facts (the link id, the operating-system user). */
  data?: Record<string, unknown>;
  /** Records found missing just outside a time window's run (missingAtWindowEdges), in words. */
  edgeGap?: string;
}

/**
 * The audit.exported event of a finished export: its whole signed manifest, and, when the records it
 * selected as a run of the chain skip numbers, what was missing from the log (`logDamaged`): however
 * the export was asked for, the trail says the log it was made from had records deleted. Records the
 * export found stored altered (its manifest's logDamage) are in `logDamaged` too.
 */
export function exportedEvent(input: ExportedEventInput): AuditEventDraft {
  const m = input.manifest;
  const what = `${m.records} record(s)${m.records ? ` (seq ${m.firstSeq} to ${m.lastSeq})` : ''} as ${m.format} via ${input.via}`;
  const missing = [missingFromLog(m), input.edgeGap].filter(Boolean);
  // A recorded export's signed logDamage is what it found as it ran (records stored altered): a log
  // found damaged before is not appended to.
  const gap = [...missing, ...(m.logDamage ?? [])].join('; ') || undefined;
  const damage = [...(missing.length ? ['records were missing from the log'] : []), ...(m.logDamage?.length ? ['records were stored altered in the log'] : [])];
  return neutralise({
    type: 'audit.exported' as const,
    time: input.time,
    ...(input.actor ? { actor: input.actor } : {}),
    ...(input.source ? { source: input.source } : {}),
    outcome: { result: 'ok' as const, detail: gap ? `${what}; AUDIT LOG DAMAGED: ${damage.join('; ')}` : what },
    data: { via: input.via, ...(input.data ?? {}), ...(gap ? { logDamaged: gap } : {}), manifest: m },
  });
}

/**
 * A download or an HTTP export about to send its first byte: who asked, what for, from where. Its end
 * is recorded as `audit.exported` (finished, or broken off); a process that dies while sending leaves
 * this record without one, so an export never leaves without a trace.
 */
export function exportStartedEvent(input: Omit<ExportedEventInput, 'manifest'> & { exportId: string; format: ExportFormat; filter: AuditFilter }): AuditEventDraft {
  return neutralise({
    type: 'audit.export_started' as const,
    time: input.time,
    ...(input.actor ? { actor: input.actor } : {}),
    ...(input.source ? { source: input.source } : {}),
    outcome: { result: 'ok' as const, detail: `export ${input.exportId} as ${input.format} via ${input.via} started` },
    data: { via: input.via, ...(input.data ?? {}), exportId: input.exportId, format: input.format, filter: input.filter },
  });
}

/** An export that broke off is recorded too: what was asked for and how much was sent. */
export function incompleteExportEvent(
  input: Omit<ExportedEventInput, 'manifest'> & { exportId: string; format: ExportFormat; filter: AuditFilter; error: ExportIncompleteError },
): AuditEventDraft {
  return neutralise({
    type: 'audit.exported' as const,
    time: input.time,
    ...(input.actor ? { actor: input.actor } : {}),
    ...(input.source ? { source: input.source } : {}),
    outcome: { result: 'error' as const, reason: 'export-incomplete', detail: input.error.message.slice(0, 300) },
    data: { via: input.via, ...(input.data ?? {}), exportId: input.exportId, format: input.format, filter: input.filter, recordsSent: input.error.recordsSent },
  });
}
