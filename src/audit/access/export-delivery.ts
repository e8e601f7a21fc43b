/**
 * One audit export as it is delivered over HTTP (a download link or the API): recorded as started
 * before the answer begins, streamed from the log itself with its last chunk held until the export
 * is recorded as finished, or recorded as broken off; a gap in the log, or records stored altered,
 * are logged as damage.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Clock } from '../../app/ports';
import type { AuditFilter } from '../../domain/audit';
import type { Actor } from '../../domain/request';
import type { Logger } from '../../log/context';
import type { AuditStore, ExportFormat } from '../ports';
import { CONTENT_TYPES, EXTENSIONS, ExportIncompleteError, exportAudit, type ExportChannel } from './export';
import { recordExportBrokeOff, recordExportFinished, recordExportStarted } from './export-records';
import { HeldTail } from './held-tail';
import { missingFromLog } from './manifest';
import type { AuditSigner } from './signing';

/** An export as the HTTP edge sends it: its headers, then its body written to the response. */
export interface ExportDelivery {
  kind: 'export';
  headers: Record<string, string>;
  write(out: Writable): Promise<void>;
  /** The export will not be written after all (the answer could not begin): its slot is given back. */
  abandon(): void;
}

export interface ExportDeliveryDeps {
  store: AuditStore;
  signer: AuditSigner;
  clock: Clock;
  log: Logger;
}

export async function exportDelivery(deps: ExportDeliveryDeps, input: {
  format: ExportFormat;
  filter: AuditFilter;
  actor: Actor;
  via: ExportChannel;
  manifestUrl(exportId: string): string;
  tokenHash?: string;
  data: Record<string, unknown>;
  /** Gives back the export's slot: called once the export ended, or did not begin. */
  release(): void;
}): Promise<ExportDelivery> {
  const exportId = randomUUID();
  // Recorded before the answer begins: a process that dies while sending still leaves who, what
  // and from where, and a start that cannot be recorded is answered 503 with nothing sent.
  try {
    await recordExportStarted(deps.store, { time: deps.clock.now().toISOString(), via: input.via, actor: input.actor, data: input.data, exportId, format: input.format, filter: input.filter });
  } catch (err) {
    input.release();
    throw err;
  }
  const stamp = deps.clock.now().toISOString().replace(/[:.]/g, '-');
  const file = `countersign-audit-${stamp}${EXTENSIONS[input.format]}`;
  const headers = {
    'content-type': CONTENT_TYPES[input.format],
    'content-disposition': `attachment; filename="${file}"`,
    'cache-control': 'no-store',
    'x-countersign-export-id': exportId,
    link: `<${input.manifestUrl(exportId)}>; rel="describedby"`,
  };
  const run = async (out: Writable) => {
    const exportedAt = deps.clock.now().toISOString();
    const request = { format: input.format, filter: input.filter, exportId, exportedAt, exportedBy: `${input.actor.name} (${input.actor.aadObjectId})`, file };
    const brokeOff = (error: ExportIncompleteError) =>
      recordExportBrokeOff(deps.store, { time: deps.clock.now().toISOString(), via: input.via, actor: input.actor, data: input.data, exportId, format: input.format, filter: input.filter, error });
    // The last chunk waits for the export's record: one that cannot be recorded never arrives whole.
    const held = new HeldTail(out);
    let result;
    try {
      // Every record the filter takes, read from the log itself: not through an index, which could
      // leave some out. As stored text where the store gives it, as the CLI reads it: each text not
      // in the canonical form it was sealed in is then found and said (result.altered).
      const audit = deps.store.audit;
      const source = audit.readStored ? { stored: audit.readStored(input.filter) } : audit.read(input.filter, { scan: true });
      result = await exportAudit(source, held, request, deps.signer);
    } catch (err) {
      if (!(err instanceof ExportIncompleteError)) throw err;
      deps.log.warn({ exportId, err: err.message }, 'audit export broke off');
      await brokeOff(err);
      throw err;
    }
    if (held.failure) {
      // The reader went away between two writes that did not wait: what reached it is recorded as broken off.
      const cut = new ExportIncompleteError(held.failure, result.summary.count);
      deps.log.warn({ exportId, err: cut.message }, 'audit export broke off');
      await brokeOff(cut);
      throw cut;
    }
    let edgeGap: string | undefined;
    try {
      ({ edgeGap } = await recordExportFinished(deps.store, result.manifest, { time: deps.clock.now().toISOString(), via: input.via, actor: input.actor, data: input.data }, input.tokenHash));
    } catch (err) {
      // Not recorded: the reader is cut off before the end (what it got is recorded as broken off, if that can be).
      const cut = new ExportIncompleteError(err, result.summary.count);
      deps.log.error({ exportId, err: String(err) }, 'audit export could not be recorded: the download is cut off before its end');
      await brokeOff(cut).catch((again: unknown) => deps.log.error({ exportId, err: String(again) }, 'audit export could not be recorded as broken off either'));
      throw cut;
    }
    // The CLI exits 2 for it; a download cannot, so the log says it, and the audit.exported record
    // (logDamaged), and `audit verify --file` of the download fails as it would for the CLI's file.
    const gap = [missingFromLog(result.manifest), edgeGap, result.altered].filter(Boolean).join('; ');
    if (gap) deps.log.error({ exportId, via: input.via, firstSeq: result.manifest.firstSeq, lastSeq: result.manifest.lastSeq }, `AUDIT LOG DAMAGED: ${gap}`);
    try {
      await held.release();
    } catch (err) {
      // Recorded as exported whole; the reader went away before the last bytes (it can ask again).
      deps.log.warn({ exportId, err: String(err) }, 'audit export reader went away before the end');
      throw err;
    }
  };
  const write = async (out: Writable) => {
    try {
      await run(out);
    } finally {
      input.release();
    }
  };
  return { kind: 'export', headers, write, abandon: input.release };
}
