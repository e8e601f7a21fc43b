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

/** Keeps the finished export's signed manifest with its `audit.exported` record, in one transaction. */
export function recordExportFinished(store: AuditStore, manifest: ExportManifest, input: ExportRecordInput, tokenHash?: string): Promise<AuditRecord[]> {
  return store.compliance.saveExportManifest(manifest.exportId, manifest.exportedAt, manifest, [exportedEvent({ ...input, manifest })], tokenHash);
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
