/**
 * Every export is recorded, whoever asked and however (the CLI, Teams' download links, the HTTP API,
 * an evidence bundle): a finished one with its signed manifest, one that broke off with how much went
 * out. The record-keeping lives here once; the callers only say who and how.
 */
import type { AuditRecord } from '../../domain/audit';
import { exportedEvent, exportStartedEvent, incompleteExportEvent, type ExportedEventInput, type ExportIncompleteError } from './export';
import type { ExportManifest } from './manifest';
import type { AuditStore, ExportFormat } from '../ports';
import type { AuditFilter } from '../../domain/audit';

export type ExportRecordInput = Omit<ExportedEventInput, 'manifest' | 'time'> & { time: string };

/**
 * Keeps the finished export's signed manifest with its `audit.exported` record, in one transaction;
 * answers what a time window's edges show missing from the log (missingAtWindowEdges), which the
 * record says too.
 */
export async function recordExportFinished(store: AuditStore, manifest: ExportManifest, input: ExportRecordInput, tokenHash?: string): Promise<{ records: AuditRecord[]; edgeGap?: string }> {
  const edgeGap = await missingAtWindowEdges(store, manifest);
  const records = await store.compliance.saveExportManifest(manifest.exportId, manifest.exportedAt, manifest, [exportedEvent({ ...input, manifest, ...(edgeGap ? { edgeGap } : {}) })], tokenHash);
  return { records, ...(edgeGap ? { edgeGap } : {}) };
}

/**
 * Records deleted at either end of a time window's run, in words: the run goes from the first record
 * at or after `from` to the last before `to`, so a record the log lacks just before its first or just
 * after its last (up to the head) was deleted, however many went with it. A gap inside the run is
 * missingFromLog's; the export's file cannot show one at the edges, the database can.
 */
async function missingAtWindowEdges(store: Pick<AuditStore, 'audit' | 'compliance'>, m: Pick<ExportManifest, 'manifestVersion' | 'filter' | 'records' | 'firstSeq' | 'lastSeq'>): Promise<string | undefined> {
  const f = m.filter;
  const timeOnly = (f.from !== undefined || f.to !== undefined) && f.requestId === undefined && f.actorId === undefined && !(f.types?.length ?? 0);
  if (!timeOnly || m.manifestVersion < 2 || m.records === 0) return undefined;
  const head = (await store.audit.head())?.seq ?? 0;
  const before = m.firstSeq - 1 >= Math.max(1, f.fromSeq ?? 1) ? [m.firstSeq - 1] : [];
  const after = m.lastSeq + 1 <= head ? [m.lastSeq + 1] : [];
  if (before.length + after.length === 0) return undefined;
  const present = await store.compliance.recordHashes([...before, ...after]);
  const gone = [...before, ...after].filter((seq) => !present.has(seq));
  if (gone.length === 0) return undefined;
  const where = gone.map((seq) => (seq < m.firstSeq ? `seq ${seq}, just before its first record` : `seq ${seq}, just after its last`)).join(', and ');
  return `the time window's run holds seq ${m.firstSeq} to ${m.lastSeq}, but the log lacks ${where}: records were deleted at the edge of the window (how many, the export cannot tell). Run "countersign audit verify" on the database to find them`;
}

/** Records an export that broke off: what went out before it did was exported all the same. */
export function recordExportBrokeOff(
  store: AuditStore,
  input: ExportRecordInput & { exportId: string; format: ExportFormat; filter: AuditFilter; error: ExportIncompleteError },
): Promise<AuditRecord[]> {
  return store.audit.append([incompleteExportEvent(input)]);
}

/** Records that an export is about to send its first byte (a download, an HTTP export): before it does. */
export function recordExportStarted(store: AuditStore, input: ExportRecordInput & { exportId: string; format: ExportFormat; filter: AuditFilter }): Promise<AuditRecord[]> {
  return store.audit.append([exportStartedEvent(input)]);
}
