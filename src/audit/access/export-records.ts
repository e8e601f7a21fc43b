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
  const edgeGap = (await missingAtWindowEdges(store, manifest)) ?? (await missingUnderSelection(store, manifest));
  const records = await store.auditAccess.saveExportManifest(manifest.exportId, manifest.exportedAt, manifest, [exportedEvent({ ...input, manifest, ...(edgeGap ? { edgeGap } : {}) })], tokenHash);
  return { records, ...(edgeGap ? { edgeGap } : {}) };
}

/**
 * Records deleted at either end of a time window's run, in words: the run goes from the first record
 * at or after `from` to the last before `to`, so a record the log lacks just before its first or just
 * after its last (up to the head) was deleted, however many went with it. A gap inside the run is
 * missingFromLog's; the export's file cannot show one at the edges, the database can.
 */
async function missingAtWindowEdges(store: Pick<AuditStore, 'audit' | 'auditAccess'>, m: Pick<ExportManifest, 'manifestVersion' | 'filter' | 'records' | 'firstSeq' | 'lastSeq'>): Promise<string | undefined> {
  const f = m.filter;
  const timeOnly = (f.from !== undefined || f.to !== undefined) && f.requestId === undefined && f.actorId === undefined && !(f.types?.length ?? 0);
  if (!timeOnly || m.manifestVersion < 2) return undefined;
  // A window that selected nothing has no edges to look beside: all of its records may be the ones
  // deleted (an incident's hour cut out), and its empty file verifies as intact. The log's count says
  // whether any record is gone, as for a selection.
  if (m.records === 0) return await deletedFromLog(store, 'the time window selected no record, but the log it was read from', 'in the window');
  const head = (await store.audit.head())?.seq ?? 0;
  const before = m.firstSeq - 1 >= Math.max(1, f.fromSeq ?? 1) ? [m.firstSeq - 1] : [];
  const after = m.lastSeq + 1 <= head ? [m.lastSeq + 1] : [];
  if (before.length + after.length === 0) return undefined;
  const present = await store.auditAccess.recordHashes([...before, ...after]);
  const gone = [...before, ...after].filter((seq) => !present.has(seq));
  if (gone.length === 0) return undefined;
  const where = gone.map((seq) => (seq < m.firstSeq ? `seq ${seq}, just before its first record` : `seq ${seq}, just after its last`)).join(', and ');
  return `the time window's run holds seq ${m.firstSeq} to ${m.lastSeq}, but the log lacks ${where}: records were deleted at the edge of the window (how many, the export cannot tell). Run "countersign audit verify" on the database to find them`;
}

/** How many seqs of the log missingUnderSelection counts at a time. */
const COUNT_WINDOW = 50_000;

/**
 * Records deleted from a log a selection by request, person or type was exported from, in words. Such
 * a selection skips numbers by design, so neither its file nor missingFromLog can show a record gone
 * from it (a request's rejection deleted: its export reads as whole), but the log itself can: up to
 * its head it holds one record for each seq, and a count short of that means records were deleted,
 * any of which may have been among those selected.
 */
async function missingUnderSelection(store: Pick<AuditStore, 'audit' | 'auditAccess'>, m: Pick<ExportManifest, 'manifestVersion' | 'filter'>): Promise<string | undefined> {
  const f = m.filter;
  const selection = f.requestId !== undefined || f.actorId !== undefined || (f.types?.length ?? 0) > 0;
  if (!selection || m.manifestVersion < 2) return undefined;
  return await deletedFromLog(store, 'the log this selection was read from', 'among the records selected');
}

/** Records deleted from the log (its count up to its head short of the head's seq), in words; undefined when none. */
async function deletedFromLog(store: Pick<AuditStore, 'audit' | 'auditAccess'>, what: string, where: string): Promise<string | undefined> {
  const head = (await store.audit.head())?.seq ?? 0;
  if (head === 0) return undefined;
  // Counted a window at a time, so that a running bot's thread is not held by one read of the whole log.
  let records = 0;
  for (let after = 0; after < head; after += COUNT_WINDOW) records += (await store.auditAccess.recordsNaming(after, Math.min(after + COUNT_WINDOW, head))).records;
  if (records >= head) return undefined;
  return `${what} holds ${records} record(s) for seq 1 to ${head}, so ${head - records} were deleted from the database before the export; any of them may have been ${where}, which the export cannot tell. Run "countersign audit verify" on the database to find them`;
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
