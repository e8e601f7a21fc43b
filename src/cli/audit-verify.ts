/**
 * `countersign audit verify`: the database's chain and its checkpoints (read-only, safe while the
 * bot runs), or an export file against its signed manifest, offline.
 */
import { report, shownValue } from './terminal-text';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkpointFileOf, checkpointOfRecord, readCheckpointFile } from '../audit/access/checkpoints';
import { checkpointCount, verifyCheckpoints } from '../audit/verify/verify-checkpoints';
import type { CheckpointVerification, SourcedCheckpoint } from '../audit/verify/verify-checkpoints';
import { formatOfFile, manifestFileOf } from '../audit/access/export';
import { ManifestError, parseManifest } from '../audit/access/manifest';
import type { ExportManifest } from '../audit/access/manifest';
import type { ExportFormat } from '../audit/ports';
import { checkEvidence, EVIDENCE_MANIFEST, parseEvidenceManifest, recordedDamage } from '../audit/access/evidence';
import { sha256Hex } from '../domain/canonical';
import { missingFromSchema } from '../store/postgres/writer-stops';
import { protectionFound } from '../audit/verify/schema-findings';
import { loadPublicKey, readVerifier } from '../audit/access/signing';
import type { AuditVerifier } from '../audit/access/signing';
import { ManifestMismatchError, WrongFormatError, verifyExportFile } from '../audit/verify/verify-export';
import { DamagedDatabaseError, requireAuditDatabase } from './audit-database';
import type { AuditDatabase } from './audit-database';
import { resolveDataDir } from './audit-options';
import { AuditInputError, droppingOutputOnClosedPipe } from './audit-io';
import type { AuditCliIo } from './audit-io';
import { EXIT_DAMAGED, EXIT_INPUT, EXIT_OK, EXIT_UNPROTECTED, checkpointReport, exportReport, verificationReport } from './audit-report';

/** The bundle's file holding the verification of the log it was made from. */
const VERIFICATION_FILE = 'verification.json';

/** File names formatOfFile recognises (anything else it reads as JSON Lines by default). */
const KNOWN_EXPORT_NAME = /\.(csv|jsonl|json)$/i;

export interface VerifyOptions {
  dataDir?: string;
  file?: string;
  format?: ExportFormat;
  /** A path, or false for --no-manifest. */
  manifest?: string | false;
  publicKey?: string;
  checkpoints?: string[];
  partial?: boolean;
  filtered?: boolean;
}

export async function verify(opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  droppingOutputOnClosedPipe(io.stdout);
  if (opts.file) return verifyFile(opts.file, opts, io);
  if (opts.partial || opts.filtered) throw new AuditInputError(`${opts.partial ? '--partial' : '--filtered'} applies to an export file: use it with --file`);
  return verifyDatabase(opts, io);
}

/** --public-key, else the data directory's public key when there is one. */
function verifierFor(opts: VerifyOptions, io: AuditCliIo, required: string | undefined): AuditVerifier | undefined {
  if (opts.publicKey) return readVerifier(path.resolve(io.cwd, opts.publicKey));
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  try {
    return loadPublicKey(dataDir);
  } catch (err) {
    if (required) throw new AuditInputError(`${required} is checked with the audit public key: pass --public-key <file> (print it with countersign audit public-key)`);
    if (opts.dataDir) throw err;
    return undefined;
  }
}

function readManifestFile(file: string): ExportManifest {
  try {
    return parseManifest(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof ManifestError) throw new AuditInputError(err.message);
    throw new AuditInputError(`cannot read the manifest ${file}: ${(err as Error).message}`);
  }
}

async function verifyFile(fileOption: string, opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  const file = path.resolve(io.cwd, fileOption);
  if (!existsSync(file)) throw new AuditInputError(`no export file at ${file}`);
  const bundle = evidenceFolderOf(file);
  if (bundle) return verifyEvidence(bundle, opts, io);
  if (statSync(file).isDirectory()) {
    throw new AuditInputError(`${file} is a folder: --file takes an export file, or an evidence bundle's folder (one holding ${EVIDENCE_MANIFEST}), and this folder holds no ${EVIDENCE_MANIFEST}`);
  }
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
    return (JSON.parse(readFileSync(file, 'utf8')) as { evidenceVersion?: unknown } | null)?.evidenceVersion !== undefined ? path.dirname(file) : undefined;
  } catch {
    return undefined;
  }
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
    manifest = parseEvidenceManifest(readFileSync(manifestFile, 'utf8'), manifestFile);
  } catch (err) {
    throw new AuditInputError((err as Error).message);
  }
  const verifier = verifierFor(opts, io, `the evidence bundle's manifest ${manifestFile}`)!;
  const read = (name: string): Buffer | undefined => {
    const at = path.resolve(dir, name);
    // A name that leads out of the folder (a doctored manifest) is never read.
    if (!at.startsWith(dir + path.sep) || !existsSync(at) || statSync(at).isDirectory()) return undefined;
    return readFileSync(at);
  };
  const check = checkEvidence(manifest, verifier, filesUnder(dir).filter((n) => n !== EVIDENCE_MANIFEST), read);
  // The verification the bundle was signed with is evidence too: a bundle of a damaged log is as
  // signed, and says that its log was damaged (one changed since is named above, not quoted).
  const verification = read(VERIFICATION_FILE);
  const signedVerification = verification !== undefined && Object.hasOwn(manifest.files, VERIFICATION_FILE) && sha256Hex(verification) === manifest.files[VERIFICATION_FILE];
  const damage = signedVerification ? recordedDamage(verification.toString('utf8')) : [];
  const lines = [
    `Evidence bundle: ${dir}, request ${manifest.requestId}, made ${manifest.createdAt} by ${manifest.createdBy}, signed with key ${manifest.keyId}.`,
    ...(check.problems.length === 0 ? [`Evidence bundle intact: its ${check.files} files are as signed.`] : ['EVIDENCE BUNDLE DAMAGED:', ...check.problems.map((p) => `  ${p}`)]),
    ...(damage.length === 0
      ? []
      : [
          `AUDIT LOG DAMAGED: this bundle's signed ${VERIFICATION_FILE} records that the audit log it was made from was not intact when it was made, so the bundle may lack records of request ${manifest.requestId} (its events.jsonl holds only what was left):`,
          ...damage.map((d) => `  ${d}`),
        ]),
  ];
  if (manifest.keyId !== verifier.keyId) lines.push(keyInUse(verifier, opts, io));
  report(io, `${lines.join('\n')}\n`);
  // Its audit records, with their own manifest (a missing one is named above already).
  const events = path.join(dir, 'events.jsonl');
  if (!existsSync(events) || !existsSync(manifestFileOf(events))) return EXIT_DAMAGED;
  let recordsExit: number;
  try {
    recordsExit = await verifyFile(events, { ...(opts.publicKey ? { publicKey: opts.publicKey } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }, io);
  } catch (err) {
    if (!(err instanceof AuditInputError)) throw err;
    report(io, `The audit records (events.jsonl) were not checked: ${err.message}\n`);
    return EXIT_DAMAGED;
  }
  // Signed records of another request would pass as an export: they must be this request's, all of
  // them (an export of some of its types, of a time window, or of one person's records is not).
  const filter = readManifestFile(manifestFileOf(events)).filter;
  const exported = filter.requestId;
  if (exported !== manifest.requestId) {
    report(io, `EVIDENCE BUNDLE DAMAGED: events.jsonl is the export of ${exported ? `request ${exported}'s records` : 'records not of one request'}, not of request ${manifest.requestId}'s.\n`);
    return EXIT_DAMAGED;
  }
  const narrowed = Object.entries(filter).filter(([key, value]) => key !== 'requestId' && value !== undefined && !(Array.isArray(value) && value.length === 0));
  if (narrowed.length > 0) {
    report(io, `EVIDENCE BUNDLE DAMAGED: events.jsonl is an export of only some of request ${manifest.requestId}'s records (filtered by ${narrowed.map(([key, value]) => `${key} ${JSON.stringify(value)}`).join(', ')}), not of all of them.\n`);
    return EXIT_DAMAGED;
  }
  if (check.recordsUnbound) {
    report(io, 
      `Note: this bundle's manifest does not list events.jsonl.manifest.json (it was made by a Countersign before 2026-12-06), so its records are tied to it only by the request they name: an older or a later complete export of request ${manifest.requestId}'s records would pass as well.\n`,
    );
  }
  // Said last too, where a reader looks for the verdict: the records above checked out as signed.
  if (damage.length > 0) {
    report(io, `AUDIT LOG DAMAGED: this bundle attests an audit log that was not intact when it was made (see above): it may not be the whole record of request ${manifest.requestId}.\n`);
  }
  return check.problems.length === 0 && damage.length === 0 && recordsExit === EXIT_OK ? EXIT_OK : EXIT_DAMAGED;
}

/**
 * Where the key that did not sign a manifest came from: with neither --public-key nor --data-dir it is
 * whatever ./data (or COUNTERSIGN_DATA_DIR) holds, often another installation's, which reads as
 * damage unless it is said.
 */
function keyInUse(verifier: AuditVerifier, opts: VerifyOptions, io: AuditCliIo): string {
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  const implicit = !opts.publicKey && !opts.dataDir ? ' (no --public-key or --data-dir was given, so the key of the default data directory was used)' : '';
  return `The public key in use, ${verifier.keyId}, is ${keySourceOf(opts, dataDir, io)}${implicit}. If the export comes from another installation, check it with that installation's public key: --public-key <file>.`;
}

function keySourceOf(opts: VerifyOptions, dataDir: string, io: AuditCliIo): string {
  return opts.publicKey ? `from --public-key ${path.resolve(io.cwd, opts.publicKey)}` : `the data directory's, in ${dataDir}`;
}

async function verifyDatabase(opts: VerifyOptions, io: AuditCliIo): Promise<number> {
  const db = requireAuditDatabase(opts.dataDir, io);
  let chain;
  try {
    chain = await db.verify();
  } catch (err) {
    if (err instanceof DamagedDatabaseError) {
      report(io, `Database: ${db.where}\nDATABASE DAMAGED: ${err.message}.\n`);
      return EXIT_DAMAGED;
    }
    // The audit table itself dropped (PostgreSQL): damage to report, not a wrong input.
    const missing = missingFromSchema(err);
    if (!missing) throw err;
    const what = missing === 'the table audit_log' ? 'AUDIT LOG DAMAGED (deleted)' : 'DATABASE DAMAGED';
    const gone = missing === 'the table audit_log' ? ': its audit records are gone from it' : '';
    report(io, `Database: ${db.where}\n${what}: ${missing} is missing from the database (dropped or renamed)${gone}. Restore the database from a backup (docs/faults.md).\n`);
    return EXIT_DAMAGED;
  }
  const checkpoints = await checkCheckpoints(db, chain, opts, io);
  const warnings = [...chain.warnings, ...checkpoints.triggerWarnings];
  report(io, verificationReport(db.where, chain, warnings, checkpoints.result.problems));
  report(io, checkpointReport(checkpoints.result, keySourceOf(opts, db.dataDir, io), !opts.publicKey));
  // Every copy checked is one whoever can write the data directory can delete: a cut back to an
  // earlier checkpoint (the later ones deleted with the records after it) needs no key, and only a
  // copy kept elsewhere shows it.
  if (checkpoints.result.checked > 0 && checkpoints.result.problems.length === 0 && !(opts.checkpoints?.length)) {
    report(io, 'NOTE: the checkpoints checked are all copies this installation keeps (its database, its data directory); a log cut back to an earlier checkpoint is caught only against a copy kept elsewhere: countersign audit verify --checkpoints <file>.\n');
  }
  if (chain.lossSeqs?.length) report(io, await acceptedLosses(db, chain.lossSeqs));
  const gone = chain.requestsWithoutRow;
  if (chain.missingTables.length > 0) {
    report(io, `DATABASE DAMAGED: ${chain.missingTables.length === 1 ? 'the table' : 'the tables'} ${chain.missingTables.join(', ')} ${chain.missingTables.length === 1 ? 'is' : 'are'} missing from the database (dropped or renamed): a start is refused. Restore the database from a backup (docs/faults.md).\n`);
  }
  if (chain.requestsTableMissing) {
    report(io, 'REQUESTS DELETED: the table requests is missing from the database (dropped), while the saved versions remain: no request can be decided or run. The audit records are as reported above; restore the table from a backup.\n');
  }
  // An index that leaves records out hides them from reads of one request or person, every record intact.
  for (const p of chain.indexProblems) report(io, `AUDIT LOG DAMAGED (index): ${shownValue(p)}.\n`);
  if (gone.length > 0) {
    const each = gone.map((r) => `  ${shownValue(r.id)}: last saved ${shownValue(r.state)} at ${shownValue(r.updatedAt)}`);
    report(io, 
      `REQUESTS DELETED: ${gone.length === 100 ? 'at least 100' : gone.length} request(s) have saved versions but no row: deleted outside Countersign, which never deletes one (an approved or scheduled one will never run):\n${each.join('\n')}\nThe audit records of each are intact: find out who deleted the rows, and restore them from a backup.\n`,
    );
  }
  if (!chain.ok || checkpoints.result.problems.length || gone.length > 0 || chain.requestsTableMissing || chain.missingTables.length > 0 || chain.indexProblems.length > 0) return EXIT_DAMAGED;
  // Checkpoints that could not be checked for want of a key are no pass: the user has to give it.
  if (checkpoints.keyProblem) {
    io.stderr.write(`error: ${checkpoints.keyProblem}\n`);
    return EXIT_INPUT;
  }
  return warnings.length ? EXIT_UNPROTECTED : EXIT_OK;
}

/**
 * The losses of records an operator accepted (countersign audit accept-loss), each recorded in the
 * log itself: the chain is intact as recorded since, but records before it were lost, so "intact"
 * alone would hide what the log no longer holds. Said after the verdict, each with who, when, why
 * and what was found missing then.
 */
async function acceptedLosses(db: AuditDatabase, seqs: readonly number[]): Promise<string> {
  const reader = await db.checkpoints();
  const lines: string[] = [];
  let count = 0;
  try {
    const records = reader.readAt ? reader.readAt(seqs) : reader.read({ types: ['audit.loss_accepted'] });
    for await (const r of records) {
      const data = (r.data ?? {}) as { operator?: unknown; reason?: unknown; problems?: unknown };
      count += 1;
      const problems = Array.isArray(data.problems) ? data.problems.filter((p): p is string => typeof p === 'string') : [];
      lines.push(`  record ${r.seq}, ${shownValue(r.time)}, by ${typeof data.operator === 'string' ? shownValue(data.operator) : 'an operator'}: ${JSON.stringify(typeof data.reason === 'string' ? data.reason : '')}`);
      for (const p of problems) lines.push(`    found then: ${shownValue(p)}`);
    }
  } finally {
    await reader.close();
  }
  return `NOTE: records were lost from this log, and the loss was accepted (countersign audit accept-loss) ${count === 1 ? 'once' : `${count} times`}: it is intact as recorded, not whole. Each acceptance, recorded in the log:\n${lines.join('\n')}\n`;
}

/** The data directory's checkpoint file (none is no error); one that cannot be read is named. */
function readOwnCheckpointFile(file: string): ReturnType<typeof readCheckpointFile> {
  try {
    return readCheckpointFile(file);
  } catch (err) {
    throw new AuditInputError((err as Error).message);
  }
}

/** A file given with --checkpoints must hold some: otherwise nothing was checked against it. */
function readGivenCheckpointFile(file: string): ReturnType<typeof readCheckpointFile> {
  let read;
  try {
    read = readCheckpointFile(file);
  } catch (err) {
    // readCheckpointFile names the file and why already.
    throw new AuditInputError((err as Error).message);
  }
  if (!read.checkpoints.length) {
    const lines = read.unreadable.length ? `none of its ${read.unreadable.length} line(s) is a checkpoint` : 'it is empty';
    throw new AuditInputError(`${file} holds no checkpoints (${lines}), so nothing was checked against it: pass a checkpoint file (audit-checkpoints.jsonl, or a copy of it)`);
  }
  return read;
}

export async function checkCheckpoints(
  db: AuditDatabase,
  chain: { ok: boolean; lastSeq: number; checkpointSeqs?: readonly number[] },
  opts: VerifyOptions,
  io: AuditCliIo,
): Promise<{ result: CheckpointVerification; triggerWarnings: string[]; keyProblem?: string }> {
  const dataDir = db.dataDir;
  const reader = await db.checkpoints();
  try {
    const table = reader.table;
    const sourced: SourcedCheckpoint[] = table.map((c) => ({ checkpoint: c, from: 'the checkpoint table', recordSeq: c.recordSeq }));
    const unreadable: string[] = [];
    const files = [checkpointFileOf(dataDir), ...(opts.checkpoints ?? []).map((f) => path.resolve(io.cwd, f))];
    for (const [i, f] of files.entries()) {
      if (i > 0 && !existsSync(f)) throw new AuditInputError(`no checkpoint file at ${f}`);
      const read = i > 0 ? readGivenCheckpointFile(f) : readOwnCheckpointFile(f);
      sourced.push(...read.checkpoints.map((c) => ({ checkpoint: c, from: f })));
      if (read.unreadable.length) unreadable.push(`lines ${read.unreadable.join(', ')} of ${f} are not checkpoints and were skipped`);
    }
    const recorded: SourcedCheckpoint[] = [];
    // The chain's verification noted where the checkpoint records are when the log is intact: read
    // those by seq rather than scan the whole log again for them.
    const records = chain.checkpointSeqs && reader.readAt ? reader.readAt(chain.checkpointSeqs) : reader.read({ types: ['audit.checkpoint'] });
    for await (const r of records) {
      const c = r.seq <= chain.lastSeq ? checkpointOfRecord(r) : undefined;
      if (c) recorded.push({ checkpoint: c, from: `record ${r.seq}` });
    }
    const hashes = await reader.hashesAt([...sourced, ...recorded].map((c) => c.checkpoint.seq));
    let verifier: AuditVerifier | undefined;
    let keyProblem: string | undefined;
    if (sourced.length || recorded.length) {
      try {
        const copies = [...sourced, ...recorded];
        verifier = verifierFor(opts, io, `each of the ${checkpointCount(copies)} checkpoint(s) found (${copies.length} copies)`);
      } catch (err) {
        if (!(err instanceof AuditInputError)) throw err;
        keyProblem = err.message;
      }
    }
    const result = verifyCheckpoints({
      checkpoints: sourced,
      recorded,
      table,
      ...(verifier ? { verifier } : {}),
      lastSeq: chain.lastSeq,
      chainIntact: chain.ok,
      hashAt: (seq) => hashes.get(seq),
    });
    result.warnings.push(...unreadable);
    const missing = await reader.missingCheckpointTriggers();
    const triggerWarnings = missing.length
      ? [`the append-only protection of the checkpoint table is missing, disabled or changed (${protectionFound(missing)}): someone changed the database schema by hand`]
      : [];
    return { result, triggerWarnings, ...(keyProblem ? { keyProblem } : {}) };
  } finally {
    await reader.close();
  }
}
