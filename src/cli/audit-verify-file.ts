/**
 * `countersign audit verify --file`: an export file against its signed manifest (or alone, with
 * --no-manifest), or an evidence bundle's folder against its own signed manifest and its records
 * against theirs, offline.
 */
import { report, shownValue } from './terminal-text';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatOfFile, manifestFileOf } from '../audit/access/export';
import { ManifestError, parseManifest } from '../audit/access/manifest';
import type { ExportManifest } from '../audit/access/manifest';
import { checkEvidence, EVIDENCE_MANIFEST, parseEvidenceManifest, recordedDamage } from '../audit/access/evidence';
import { sha256Hex } from '../domain/canonical';
import { ManifestMismatchError, WrongFormatError, verifyExportFile } from '../audit/verify/verify-export';
import { AuditInputError } from './audit-io';
import type { AuditCliIo } from './audit-io';
import { EXIT_DAMAGED, EXIT_OK, exportReport } from './audit-report';
import { keyInUse, verifierFor, type VerifyOptions } from './audit-verify-options';
import { notARegularFile, readBoundedFile } from '../config/bounded-file';

/** The bundle's file holding the verification of the log it was made from. */
const VERIFICATION_FILE = 'verification.json';

/** File names formatOfFile recognises (anything else it reads as JSON Lines by default). */
const KNOWN_EXPORT_NAME = /\.(csv|jsonl|json)$/i;

/** The most a manifest file is read of: a manifest is a few hundred bytes (a damaged log's lines added). */
const MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

function readManifestFile(file: string): ExportManifest {
  try {
    return parseManifest(readBoundedFile(file, MANIFEST_MAX_BYTES, 'a manifest').toString('utf8'), file);
  } catch (err) {
    if (err instanceof ManifestError) throw new AuditInputError(err.message);
    throw new AuditInputError(`cannot read the manifest ${file}: ${(err as Error).message}`);
  }
}

export async function verifyFile(fileOption: string, opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  const file = path.resolve(io.cwd, fileOption);
  if (!existsSync(file)) throw new AuditInputError(`no export file at ${file}`);
  const bundle = evidenceFolderOf(file);
  if (bundle) return verifyEvidence(bundle, opts, io);
  if (statSync(file).isDirectory()) {
    throw new AuditInputError(`${file} is a folder: --file takes an export file, or an evidence bundle's folder (one holding ${EVIDENCE_MANIFEST}), and this folder holds no ${EVIDENCE_MANIFEST}`);
  }
  // A device or a named pipe is read without end (/dev/zero), or waits for a writer: never an export.
  const kind = notARegularFile(file);
  if (kind) throw new AuditInputError(`${file} is ${kind}, not a file: --file takes an export file, or an evidence bundle's folder`);
  let manifestFile: string | undefined;
  if (typeof opts.manifest === 'string') {
    manifestFile = path.resolve(io.cwd, opts.manifest);
    if (!existsSync(manifestFile)) throw new AuditInputError(`no manifest at ${manifestFile}`);
  } else if (opts.manifest !== false) {
    // The manifest is what says the file is what was exported: going on without it is asked for, never assumed.
    manifestFile = manifestFileOf(file);
    if (!existsSync(manifestFile)) {
      throw new AuditInputError(
        `no manifest beside ${file} (looked for ${manifestFile}): pass the export's manifest with --manifest <file>, or check the records alone with --no-manifest (that shows they agree with each other, not that they are the records Countersign wrote)`,
      );
    }
  }
  const manifest = manifestFile ? readManifestFile(manifestFile) : undefined;
  const windowOnly = [opts.partial && '--partial', opts.filtered && '--filtered'].filter(Boolean);
  if (manifest && windowOnly.length > 0) {
    throw new AuditInputError(`${windowOnly.join(' and ')} ${windowOnly.length === 1 ? 'applies' : 'apply'} without a manifest (--no-manifest): the manifest ${manifestFile} says which records the export holds`);
  }
  // Without a manifest the key still checks the checkpoints the file carries, when there is one.
  const verifier = manifest ? verifierFor(opts, io, `the manifest ${manifestFile}`) : verifierFor(opts, io, undefined);
  // What the file is known to be: --format, or a name that says it (a manifest of another format is not its own).
  const knownFormat = opts.format ?? (KNOWN_EXPORT_NAME.test(file) ? formatOfFile(file) : undefined);
  let result;
  try {
    result = await verifyExportFile(file, {
      format: opts.format ?? formatOfFile(file),
      ...(knownFormat ? { fileFormat: knownFormat } : {}),
      ...(manifest ? { manifest } : {}),
      ...(verifier ? { verifier } : {}),
      ...(opts.partial ? { partial: true } : {}),
      ...(opts.filtered ? { filtered: true } : {}),
    });
  } catch (err) {
    if (err instanceof ManifestMismatchError) {
      throw new AuditInputError(
        `the manifest ${manifestFile} does not belong to ${file}: ${err.message}. Pass the export's own manifest with --manifest <file>, or check the records alone with --no-manifest`,
      );
    }
    if (err instanceof WrongFormatError) {
      const how = opts.format ? `--format ${opts.format}` : KNOWN_EXPORT_NAME.test(file) ? 'as its name says' : 'the default for a name that does not say';
      const give = err.looksLike === 'json' ? '--format jsonl or --format ocsf' : `--format ${err.looksLike}`;
      throw new AuditInputError(`${file} was not checked: ${err.message} (${how}): give ${give}`);
    }
    throw new AuditInputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  report(io, exportReport(file, result, !manifest && opts.filtered === true));
  if (manifest && verifier && manifest.keyId !== verifier.keyId) report(io, `${keyInUse(verifier, opts, io)}\n`);
  if (opts.format && result.format !== opts.format) {
    report(io, `NOTE: --format ${opts.format} was given, but the manifest signed these very bytes as ${result.format}: they were read as ${result.format}.\n`);
  }
  return result.ok ? EXIT_OK : EXIT_DAMAGED;
}

/** The evidence bundle's folder when `file` is one, or its manifest.json; otherwise undefined. */
function evidenceFolderOf(file: string): string | undefined {
  if (statSync(file).isDirectory()) return existsSync(path.join(file, EVIDENCE_MANIFEST)) ? file : undefined;
  if (path.basename(file) !== EVIDENCE_MANIFEST) return undefined;
  try {
    return (JSON.parse(readBoundedFile(file, MANIFEST_MAX_BYTES, 'a manifest').toString('utf8')) as { evidenceVersion?: unknown } | null)?.evidenceVersion !== undefined ? path.dirname(file) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a file in a bundle's folder is not the bundle's to read, or undefined: a link that leads out of
 * the folder (the file it names is not what was signed into the bundle, and the folder's names say
 * nothing of it), or a device or a named pipe, which is read without end or waits for a writer.
 */
function notInBundle(dir: string, file: string): string | undefined {
  const kind = notARegularFile(file);
  if (kind) return `is ${kind}, not a file`;
  const real = realpathSync(file);
  return real.startsWith(realpathSync(dir) + path.sep) ? undefined : `is a link out of the bundle's folder (to ${real})`;
}

/** Every file under `dir`, as a bundle names them (relative, "/" between folders). */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/**
 * An evidence bundle (`audit evidence`): its signed manifest.json against every file of the folder,
 * then its audit records (events.jsonl) against their own export manifest. Exit 0 when both hold.
 */
async function verifyEvidence(dir: string, opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  const exportOnly = [opts.manifest !== undefined && '--manifest/--no-manifest', opts.format && '--format', opts.partial && '--partial', opts.filtered && '--filtered'].filter(Boolean);
  if (exportOnly.length > 0) {
    throw new AuditInputError(`${exportOnly.join(', ')} ${exportOnly.length === 1 ? 'applies' : 'apply'} to an export file; ${dir} is an evidence bundle, checked against its own ${EVIDENCE_MANIFEST}`);
  }
  const manifestFile = path.join(dir, EVIDENCE_MANIFEST);
  let manifest;
  try {
    manifest = parseEvidenceManifest(readBoundedFile(manifestFile, MANIFEST_MAX_BYTES, 'a manifest').toString('utf8'), manifestFile);
  } catch (err) {
    throw new AuditInputError((err as Error).message);
  }
  const verifier = verifierFor(opts, io, `the evidence bundle's manifest ${manifestFile}`)!;
  const read = (name: string): Buffer | string | undefined => {
    const at = path.resolve(dir, name);
    // A name that leads out of the folder (a doctored manifest) is never read.
    if (!at.startsWith(dir + path.sep) || !existsSync(at) || statSync(at).isDirectory()) return undefined;
    const unread = notInBundle(dir, at);
    return unread ? `${unread}, so it was not read` : readFileSync(at);
  };
  const check = checkEvidence(manifest, verifier, filesUnder(dir).filter((n) => n !== EVIDENCE_MANIFEST), read);
  // The verification the bundle was signed with is evidence too: a bundle of a damaged log is as
  // signed, and says that its log was damaged (one changed since is named above, not quoted).
  const verification = read(VERIFICATION_FILE);
  const signedVerification = Buffer.isBuffer(verification) && Object.hasOwn(manifest.files, VERIFICATION_FILE) && sha256Hex(verification) === manifest.files[VERIFICATION_FILE];
  const damage = signedVerification ? recordedDamage(verification.toString('utf8')) : [];
  // What the bundle's files say (its manifest, its file names, its verification.json) is shown as one
  // line each: a line feed in a doctored manifest would otherwise add lines of its own to this report.
  const requestId = shownValue(manifest.requestId);
  const lines = [
    `Evidence bundle: ${shownValue(dir)}, request ${requestId}, made ${shownValue(manifest.createdAt)} by ${shownValue(manifest.createdBy)}, signed with key ${shownValue(manifest.keyId)}.`,
    ...(check.problems.length === 0 ? [`Evidence bundle intact: its ${check.files} files are as signed.`] : ['EVIDENCE BUNDLE DAMAGED:', ...check.problems.map((p) => `  ${shownValue(p)}`)]),
    ...(damage.length === 0
      ? []
      : [
          `AUDIT LOG DAMAGED: this bundle's signed ${VERIFICATION_FILE} records that the audit log it was made from was not intact when it was made, so the bundle may lack records of request ${requestId} (its events.jsonl holds only what was left):`,
          ...damage.map((d) => `  ${shownValue(d)}`),
        ]),
  ];
  if (manifest.keyId !== verifier.keyId) lines.push(keyInUse(verifier, opts, io));
  report(io, `${lines.join('\n')}\n`);
  // Its audit records, with their own manifest (a missing one is named above already).
  const events = path.join(dir, 'events.jsonl');
  if (!existsSync(events) || !existsSync(manifestFileOf(events))) return EXIT_DAMAGED;
  for (const f of [events, manifestFileOf(events)]) {
    const unread = notInBundle(dir, f);
    if (unread) {
      report(io, `EVIDENCE BUNDLE DAMAGED: ${path.basename(f)} ${unread}, so its records were not checked.\n`);
      return EXIT_DAMAGED;
    }
  }
  let recordsExit: number;
  try {
    recordsExit = await verifyFile(events, { ...(opts.publicKey ? { publicKey: opts.publicKey } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }, io);
  } catch (err) {
    if (!(err instanceof AuditInputError)) throw err;
    report(io, `The audit records (events.jsonl) were not checked: ${shownValue(err.message)}\n`);
    return EXIT_DAMAGED;
  }
  // Signed records of another request would pass as an export: they must be this request's, all of
  // them (an export of some of its types, of a time window, or of one person's records is not).
  const filter = readManifestFile(manifestFileOf(events)).filter;
  const exported = filter.requestId;
  if (exported !== manifest.requestId) {
    report(io, `EVIDENCE BUNDLE DAMAGED: events.jsonl is the export of ${exported ? `request ${shownValue(exported)}'s records` : 'records not of one request'}, not of request ${requestId}'s.\n`);
    return EXIT_DAMAGED;
  }
  const narrowed = Object.entries(filter).filter(([key, value]) => key !== 'requestId' && value !== undefined && !(Array.isArray(value) && value.length === 0));
  if (narrowed.length > 0) {
    report(io, `EVIDENCE BUNDLE DAMAGED: events.jsonl is an export of only some of request ${requestId}'s records (filtered by ${narrowed.map(([key, value]) => `${key} ${JSON.stringify(value)}`).join(', ')}), not of all of them.\n`);
    return EXIT_DAMAGED;
  }
  if (check.recordsUnbound) {
    report(io, 
      `Note: this bundle's manifest does not list events.jsonl.manifest.json (it was made by a Countersign before 2026-12-06), so its records are tied to it only by the request they name: an older or a later complete export of request ${requestId}'s records would pass as well.\n`,
    );
  }
  // Said last too, where a reader looks for the verdict: the records above checked out as signed.
  if (damage.length > 0) {
    report(io, `AUDIT LOG DAMAGED: this bundle attests an audit log that was not intact when it was made (see above): it may not be the whole record of request ${requestId}.\n`);
  }
  return check.problems.length === 0 && damage.length === 0 && recordsExit === EXIT_OK ? EXIT_OK : EXIT_DAMAGED;
}
