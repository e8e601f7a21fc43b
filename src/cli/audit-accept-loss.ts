/**
 * `countersign audit accept-loss --reason "..."`: after start-up refused an emptied, replaced or
 * shortened audit database, an operator who knows why records that the loss is accepted. The
 * acceptance is an audit.loss_accepted record; the old checkpoint file is set aside (renamed, kept as
 * evidence) and a fresh checkpoint signs the log as it now is, so the next start proceeds.
 *
 * It acts on the store the settings name, as the bot and the other audit commands do: with
 * COUNTERSIGN_STORE=postgres, the PostgreSQL database (never a SQLite file made beside it).
 */
import { report, shownValue } from './terminal-text';
import fs from 'node:fs';
import path from 'node:path';
import { acceptAuditLoss, LossAcceptanceError } from '../app/accept-loss';
import { Checkpointer, checkpointFileOf } from '../audit/access/checkpoints';
import { archiveCheckpointFile, checkContinuity, checkpointArchiveName, damagedRefusal } from '../audit/access/continuity';
import { loadOrCreateSigningKey, PRIVATE_KEY_FILE, setAsideUnusableKeyFile } from '../audit/access/signing';
import { databaseFile } from '../settings';
import type { CountersignStore } from '../store/countersign-store';
import { emptiedDatabaseFile, openSqliteStore } from '../store/sqlite';
import { configuredStoreKind, requireAuditDatabase } from './audit-database';
import { AuditInputError, operatorOf } from './audit-io';
import { unreadableAsInput } from './database-file';
import type { AuditCliIo } from './audit-io';
import { resolveDataDir } from './audit-options';

/**
 * The configured store, opened to record in, with the -wal of a SQLite database file that held
 * nothing, as found before opening it took that -wal (a loss to record, whatever the checkpoints say).
 */
async function openConfiguredStore(
  dataDirOption: string | undefined,
  dataDir: string,
  io: AuditCliIo,
): Promise<{ store: CountersignStore; walOfEmptiedDatabase?: { file: string; bytes: number } }> {
  // PostgreSQL: the database the bot uses, opened as `audit checkpoint` and `audit export` open it
  // (with COUNTERSIGN_DATABASE_MIGRATE as set: an emptied database is given its tables here, on purpose,
  // where the start and the other commands refuse it).
  if (configuredStoreKind(io) === 'postgres') return { store: await requireAuditDatabase(dataDirOption, io).openStore({ emptied: 'accept' }) };
  const file = databaseFile(dataDir);
  const wal = emptiedDatabaseFile(file)?.wal;
  // An emptied or deleted database is opened (and given its tables) like a new one: that is the point.
  // SQLite deletes the -wal beside it then, as the refused start said it would be kept until now.
  const store = await unreadableAsInput(file, () => openSqliteStore({ file, writer: 'inline' }));
  return { store, ...(wal ? { walOfEmptiedDatabase: wal } : {}) };
}

export async function acceptLoss(opts: { dataDir?: string; reason?: string; keyLost?: boolean }, io: AuditCliIo): Promise<number> {
  const dataDir = resolveDataDir(opts.dataDir, io.settings, io.cwd);
  if (!fs.existsSync(dataDir)) throw new AuditInputError(`no data directory at ${dataDir}; pass --data-dir <dir>`);
  const reason = (opts.reason ?? '').trim();
  if (!reason) throw new AuditInputError('--reason "<why the loss is accepted>" is required: it is recorded in the audit log');
  const { store, walOfEmptiedDatabase } = await openConfiguredStore(opts.dataDir, dataDir, io);
  try {
    const keyFile = path.join(dataDir, PRIVATE_KEY_FILE);
    // An emptied or damaged key file holds no key: with --key-lost it is set aside (kept) and a new key made, as for a missing one.
    const setAside = opts.keyLost ? setAsideUnusableKeyFile(dataDir, new Date()) : undefined;
    if (setAside) io.stderr.write(`The signing key file ${keyFile} was ${setAside.was}: set aside as ${setAside.aside}.\n`);
    const keyExisted = fs.existsSync(keyFile);
    const verifier = keyExisted ? loadOrCreateSigningKey(dataDir) : undefined;
    const checkpointFile = checkpointFileOf(dataDir);
    const finding = await checkContinuity({ store, verifier, keyExisted, keyFile, checkpointFile, ...(walOfEmptiedDatabase ? { walOfEmptiedDatabase } : {}) });
    if (finding.problems.length === 0) {
      io.stderr.write('There is no loss to accept: the audit database matches every checkpoint. Nothing was recorded.\n');
      return 0;
    }
    if (finding.damaged) throw new AuditInputError(`${damagedRefusal(finding, finding.damaged, dataDir).replace(/^Countersign will not start: /, '')}\nNothing was recorded.`);
    if (finding.keyOnly && !opts.keyLost) {
      // The wrong data directory is the likely cause: accepting a "loss" here would set the right
      // key aside and lock out the instances that have it.
      const signed = finding.keyOnly.signedWith.join(' and ');
      const here = finding.keyOnly.here ? `holds another key (${finding.keyOnly.here})` : 'holds no signing key';
      throw new AuditInputError(
        [
          `Nothing is known to be lost: the audit database's checkpoints were signed with key ${signed}, the records they name are still there as signed, and ${dataDir} ${here}.`,
          ...finding.problems.map((p) => `  - ${p}.`),
          `Run Countersign (and this command) with the data directory that holds key ${signed}: COUNTERSIGN_DATA_DIR or --data-dir. Only if that key is lost for good, run this again with --key-lost. Nothing was recorded.`,
        ].join('\n'),
      );
    }
    const clock = { now: () => new Date() };
    const operator = operatorOf(io);
    // The loss is recorded first, and the old checkpoint file set aside only after: killed in between,
    // the file still contradicts the log, so the next start is refused and accept-loss finds the loss
    // again (set aside first, a kill before the record left the loss unrecorded and nowhere found).
    const archivedAs = finding.fileCheckpoint ? checkpointArchiveName(checkpointFile, clock.now()) : undefined;
    const t = finding.tableCheckpoint;
    const f = finding.fileCheckpoint;
    let expired: string[];
    try {
      ({ expired } = await acceptAuditLoss(
        { store, clock },
        {
          reason,
          operator,
          problems: finding.problems,
          ...(t ? { tableCheckpoint: { seq: t.seq, hash: t.hash, time: t.time, signature: t.signature } } : {}),
          ...(f ? { fileCheckpoint: { seq: f.seq, hash: f.hash, time: f.time } } : {}),
          ...(archivedAs ? { archivedAs: path.basename(archivedAs) } : {}),
          ...(finding.head ? { head: finding.head } : {}),
        },
        !finding.keyOnly,
      ));
    } catch (err) {
      if (err instanceof LossAcceptanceError) throw new AuditInputError(err.message);
      throw err;
    }
    if (archivedAs) archiveCheckpointFile(checkpointFile, archivedAs);
    const signer = verifier ?? loadOrCreateSigningKey(dataDir);
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const c = await new Checkpointer({ store, signer, clock, file: checkpointFile, log: silent }).write('cli', { force: true, operator });
    report(io, `Recorded audit.loss_accepted by ${operator}: ${reason}\n`);
    for (const p of finding.problems) report(io, `  accepted: ${shownValue(p)}\n`);
    if (expired.length) {
      report(io, `${expired.length} request(s) still open (waiting for approval, approved or scheduled) expired unrun, since what was lost may show they were approved and already ran (or were rejected or cancelled): ${expired.join(', ')}. Check their targets in Azure; their requesters ask again if still needed.\n`);
    }
    if (archivedAs) report(io, `The old checkpoint file was kept as ${archivedAs}.\n`);
    if (c) report(io, `The log now ends at record ${c.seq}, signed in a new checkpoint; Countersign will start on it.\n`);
    return 0;
  } finally {
    await store.close();
  }
}
