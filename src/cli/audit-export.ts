/**
 * `countersign audit export`: stream the audit records (filtered) as JSON Lines, CSV or OCSF, with a
 * signed manifest, and record the export itself in the audit log.
 */
import { plural } from '../domain/duration-text';
import { shownValue } from './terminal-text';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { canonicalRequestId, requestIdAsNamed } from '../domain/request-ids';
import type { AuditFilter } from '../domain/audit';
import { ExportIncompleteError, exportAudit, manifestFileOf } from '../audit/access/export';
import { recordExportBrokeOff, recordExportFinished } from '../audit/access/export-records';
import { eventTypesLike, isEntraObjectId, namesRequest, unknownEventType } from '../audit/access/export-request';
import type { ExportResult } from '../audit/access/export';
import type { ExportFormat } from '../audit/ports';
import type { AuditEventType } from '../domain/audit';
import { didYouMean } from '../config/suggest';
import { uuidv7 } from '../store/ids';
import { installationSigner, requireAuditDatabase, signedLogProblems } from './audit-database';
import type { CliStore } from './audit-database';
import { AuditInputError, operatorOf, progressLine } from './audit-io';
import { outputPath, writeFileAtomically, writeTextAtomically } from './atomic-output';
import type { AuditCliIo } from './audit-io';
import { checkExportTargets } from './export-target';
import { missingFromLog } from '../audit/access/manifest';
import { removeAbandonedPartials } from '../output-file';
import { keepRecordedLeftovers } from './recorded-leftovers';
import { selectionText } from './audit-report';
import type { ExportTarget } from './export-target';

export interface ExportOptions {
  dataDir?: string;
  format: ExportFormat;
  from?: string;
  to?: string;
  request?: string;
  actor?: string;
  type?: string[];
  out?: string;
  manifest?: string;
  /** Replace an --out or manifest file that exists (never one of the data directory's own files). */
  force?: boolean;
}

/** A filter that could only match nothing (a misspelt type, an actor that is not an object id) is refused, not run. */
function exportFilter(opts: ExportOptions): AuditFilter {
  const types = (opts.type ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  const bad = unknownEventType(types);
  if (bad !== undefined) {
    const hint = didYouMean(bad, eventTypesLike(bad)) || ` (known: ${eventTypesLike(bad).join(', ')})`;
    throw new AuditInputError(`--type "${bad}" is not an audit event type${hint}: nothing was exported`);
  }
  if (opts.actor !== undefined && !isEntraObjectId(opts.actor)) {
    throw new AuditInputError(
      `--actor "${opts.actor}" is not an Entra object id: records name their actor by object id, a GUID such as 00000000-0000-0000-0000-000000000000 (the user's Object ID in Entra ID); nothing was exported`,
    );
  }
  return {
    ...(opts.from ? { from: opts.from } : {}),
    ...(opts.to ? { to: opts.to } : {}),
    // As typed in chat: cs-pyrtn13s is CS-PYRTN13S.
    ...(opts.request ? { requestId: canonicalRequestId(opts.request) } : {}),
    // One person whatever the case of the GUID's letters (the stores compare it so too).
    ...(opts.actor ? { actorId: opts.actor.toLowerCase() } : {}),
    ...(types.length ? { types: types as AuditEventType[] } : {}),
  };
}

export async function exportRecords(opts: ExportOptions, io: AuditCliIo): Promise<number> {
  const filter = exportFilter(opts);
  const db = requireAuditDatabase(opts.dataDir, io);
  const target = opts.out ? outputPath(io, opts.out) : undefined;
  const manifestFile = opts.manifest ? outputPath(io, opts.manifest) : target ? manifestFileOf(target) : undefined;
  // Before anything is read or recorded: a refused export leaves no trace.
  checkExportTargets(exportTargets(target, manifestFile, opts), db.dataDir, opts.force === true);
  for (const file of [target, manifestFile]) {
    for (const left of file ? removeAbandonedPartials(file) : []) io.stderr.write(`Removed ${left}, left by an earlier export that did not finish.\n`);
  }
  const store = await db.openStore();
  try {
    if (target) await keepRecordedLeftovers(store, target, io, 'export');
    // A request nothing names (a typo) would make an empty, signed and recorded export: refused, as
    // a misspelt type or actor is, and as `audit evidence` refuses it.
    if (filter.requestId !== undefined && !(await namesRequest(store, filter.requestId))) {
      throw new AuditInputError(`there is no request ${requestIdAsNamed(opts.request!)} and no audit record names it: nothing was exported or recorded`);
    }
    const signer = await installationSigner(db, store);
    // A log its checkpoints show cut short or rewritten is exported as it is (what it holds), with
    // that signed into the manifest and said below, as a whole-log export with gaps is.
    const logDamage = await signedLogProblems(db, store, signer);
    const head = (await store.audit.head())?.seq ?? 0;
    const exportedAt = new Date().toISOString();
    const operator = operatorOf(io);
    const exportId = uuidv7();
    let written = 0;
    let lastSeq = 0;
    const progress = progressLine(io, () => `Exporting: ${written.toLocaleString('en-US')} ${written === 1 ? 'record' : 'records'}, up to seq ${lastSeq.toLocaleString('en-US')} of ${head.toLocaleString('en-US')}`);
    const run = (out: Writable) =>
      exportAudit({ stored: store.audit.readStored(filter) }, out, {
        format: opts.format,
        filter,
        exportId,
        exportedAt,
        exportedBy: `cli:${operator}`,
        ...(target ? { file: path.basename(target) } : {}),
        ...(logDamage.length ? { logDamage } : {}),
        progress: (s) => {
          written = s.count;
          lastSeq = s.lastSeq;
          progress.update();
        },
      }, signer);
    // Not appended to a log found cut short or rewritten: its record would take the seq of a lost one,
    // and turn the finding (records missing) into another (a record rewritten), as audit checkpoint
    // refuses to sign it. The file and its signed manifest say what was found.
    const recorded = logDamage.length === 0;
    let edgeGap: string | undefined;
    const record = async (result: ExportResult) => {
      if (recorded) edgeGap = await recordExport(store, result, operator);
    };
    let result: ExportResult;
    if (target) {
      result = await writeFileAtomically(target, run, record, opts.force === true, (r) => r.manifest.exportId);
    } else {
      try {
        result = await run(io.stdout);
      } catch (err) {
        // What went out before the pipe broke was exported all the same: it is recorded too.
        if (err instanceof ExportIncompleteError && recorded) {
          await recordExportBrokeOff(store, { time: new Date().toISOString(), via: 'cli', data: { operator }, exportId, format: opts.format, filter, error: err });
          throw new AuditInputError(`the export to standard output broke off ${howFar(err.recordsSent)} (recorded): ${whyBrokeOff(err)}`);
        }
        throw err;
      }
      await record(result);
    }
    progress.done();
    if (manifestFile) writeManifest(manifestFile, result, target, opts.force === true);
    const m = result.manifest;
    const range = m.records ? ` (seq ${m.firstSeq} to ${m.lastSeq})` : '';
    io.stderr.write(`Exported ${plural(m.records, 'audit record')}${range} as ${opts.format} to ${target ?? 'standard output'}.\n`);
    // What was asked for, as the manifest signs it: a count and a range of seqs alone read as the whole log.
    io.stderr.write(`Selection: ${selectionText(m.filter)}.\n`);
    io.stderr.write(
      manifestFile
        ? `Signed manifest: ${manifestFile} (SHA-256 ${m.sha256}, key ${m.keyId}).\n`
        : `No manifest file was written (pass --manifest <file>); the export ${recorded ? 'is recorded with its manifest' : 'has its manifest'} (SHA-256 ${m.sha256}) as ${m.exportId}.\n`,
    );
    if (!recorded) io.stderr.write('This export is not recorded in the audit log: the log is damaged (below), and a record appended now would take the place of a lost one.\n');
    // Written and recorded as it is (what the log holds), but said: verifying this export fails too.
    for (const d of logDamage) io.stderr.write(`AUDIT LOG DAMAGED: ${shownValue(d)}.\n`);
    if (logDamage.length) io.stderr.write('The export holds what is left of the log, and its manifest says so (audit verify --file reports it); run countersign audit verify on the database.\n');
    const gap = missingFromLog(m);
    if (gap) io.stderr.write(`AUDIT LOG DAMAGED: ${shownValue(gap)}.\n`);
    if (edgeGap) io.stderr.write(`AUDIT LOG DAMAGED: ${shownValue(edgeGap)}.\n`);
    // Found as the records were encoded, in every format: a CSV or OCSF file alone would not show it.
    if (result.altered) io.stderr.write(`AUDIT LOG DAMAGED: ${shownValue(result.altered)}. The export's signed manifest says so too (audit verify --file reports it).\n`);
    if (gap || edgeGap || result.altered) return 2;
    return logDamage.length ? 2 : 0;
  } finally {
    await store.close();
  }
}

/**
 * How much went out: records are counted as each batch is handed to the output, and how much of the
 * last one its reader took is not known (`| head -1` reads one line of it, then closes the pipe).
 */
function howFar(records: number): string {
  return records ? `after up to ${records} record(s) had been written to it` : 'before any record had been written to it';
}

function whyBrokeOff(err: ExportIncompleteError): string {
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  const message = cause?.message ?? err.message;
  return cause?.code === 'EPIPE' ? `its reader closed it (${message})` : message;
}

function exportTargets(target: string | undefined, manifestFile: string | undefined, opts: ExportOptions): ExportTarget[] {
  const targets: ExportTarget[] = [];
  if (target) targets.push({ file: target, named: `--out ${target}`, instead: 'choose another --out' });
  if (manifestFile) {
    targets.push(
      opts.manifest
        ? { file: manifestFile, named: `--manifest ${manifestFile}`, instead: 'choose another --manifest' }
        : { file: manifestFile, named: `the manifest ${manifestFile}`, instead: 'name another with --manifest' },
    );
  }
  return targets;
}

/** The export is in place and recorded (with its manifest) by now: a manifest that cannot be written says so. */
function writeManifest(manifestFile: string, result: ExportResult, target: string | undefined, replace: boolean): void {
  try {
    writeTextAtomically(manifestFile, `${JSON.stringify(result.manifest, null, 2)}\n`, replace);
  } catch (err) {
    const exported = `the export${target ? ` ${target}` : ''} was written and recorded as ${result.manifest.exportId} (its audit.exported record holds the manifest)`;
    throw new AuditInputError(`${exported}, but the manifest file ${manifestFile} could not be written: ${(err as Error).message}`);
  }
}

/**
 * Exports are audited: the audit.exported record carries the whole signed manifest. Answers what a
 * time window's edges show deleted from the log (recordExportFinished), if anything.
 */
async function recordExport(store: CliStore, result: ExportResult, operator: string): Promise<string | undefined> {
  return (await recordExportFinished(store, result.manifest, { time: new Date().toISOString(), via: 'cli', data: { operator } })).edgeGap;
}
