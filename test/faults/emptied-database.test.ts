/**
 * An emptied, replaced or shortened audit database is refused at start, with what is missing, until
 * an operator accepts the loss with `countersign audit accept-loss` (itself audited). Checkpoints are
 * signed at every start and every N records, so the window a cut could hide in stays bounded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/log/context';
import { verifyChain } from '../../src/audit/verify/verify';
import { Checkpointer, checkpointFileOf, readCheckpointFile } from '../../src/audit/access/checkpoints';
import { AuditContinuityError } from '../../src/audit/access/continuity';
import { loadOrCreateSigningKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../../src/audit/access/signing';
import { parseConfig } from '../../src/config/load';
import type { AuditRecord } from '../../src/domain/audit';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { audit } from '../cli/run-audit';
import { EXAMPLE_CONFIG } from '../support/harness';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { anEvent } from '../store/fixtures';

const silent = pino({ level: 'silent' }) as pino.Logger & Logger;

/** A logger keeping each line it writes, parsed, in `lines`. */
function capturing(lines: Record<string, unknown>[]): pino.Logger & Logger {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return pino({ level: 'info' }, sink) as pino.Logger & Logger;
}

function configWith(everyRecords = 1000): ReturnType<typeof parseConfig> {
  const text = fs
    .readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace(/^ {2}checkpointInterval: .*$/m, '  checkpointInterval: 1h')
    .replace(/^ {2}checkpointEveryRecords: .*$/m, `  checkpointEveryRecords: ${everyRecords}`);
  return parseConfig(text, EXAMPLE_CONFIG);
}

async function recordsOf(dataDir: string): Promise<AuditRecord[]> {
  const store = await openSqliteStore({ file: databaseFile(dataDir) });
  const out: AuditRecord[] = [];
  for await (const r of store.audit.read()) out.push(r);
  await store.close();
  return out;
}

function removeDatabase(dataDir: string, how: 'truncate' | 'delete'): void {
  const file = databaseFile(dataDir);
  for (const side of ['-wal', '-shm']) fs.rmSync(file + side, { force: true });
  if (how === 'truncate') fs.truncateSync(file, 0);
  else fs.rmSync(file);
}

describe('an emptied or replaced audit database', function () {
  this.timeout(30000);
  let sandbox: ArmSandbox;
  let dataDir: string;
  const dirs: string[] = [];
  before(async () => {
    sandbox = await startTestSandbox();
  });
  after(async () => sandbox.close());
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-loss-'));
    dirs.push(dataDir);
  });
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  const start = (dir = dataDir, everyRecords?: number, log = silent): Promise<RunningCountersign> =>
    startCountersign({
      settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dir }),
      config: configWith(everyRecords),
      azure: gatewayFor(sandbox),
      log,
      sweepIntervalMs: 60_000,
    });
  const runOnce = async (dir = dataDir) => (await start(dir)).stop();

  it('signs a checkpoint at every start', async () => {
    await runOnce();
    const signed = (await recordsOf(dataDir)).filter((r) => r.type === 'audit.checkpoint');
    // Nothing moved after it, so shutdown had nothing new to sign.
    assert.deepEqual(signed.map((r) => r.data?.trigger), ['start']);
    assert.equal(readCheckpointFile(checkpointFileOf(dataDir)).checkpoints.length, 1);
  });

  it('writes an empty public key file again from the signing key at start and logs it; one holding another key is left as it is, and logged', async () => {
    await runOnce();
    const pubFile = path.join(dataDir, PUBLIC_KEY_FILE);
    const pem = fs.readFileSync(pubFile, 'utf8');
    fs.writeFileSync(pubFile, '');
    const lines: Record<string, unknown>[] = [];
    await (await start(dataDir, undefined, capturing(lines))).stop();
    assert.equal(fs.readFileSync(pubFile, 'utf8'), pem);
    assert.deepEqual(
      lines.filter((l) => /audit public key/.test(String(l.msg))).map((l) => ({ level: l.level, msg: l.msg, file: l.file, was: l.was })),
      [{ level: 40, msg: 'audit public key file repaired: written again from the signing key', file: pubFile, was: 'empty' }],
    );
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-other-key-'));
    dirs.push(other);
    const foreign = loadOrCreateSigningKey(other);
    fs.copyFileSync(path.join(other, PUBLIC_KEY_FILE), pubFile);
    lines.length = 0;
    await (await start(dataDir, undefined, capturing(lines))).stop();
    assert.equal(fs.readFileSync(pubFile, 'utf8'), foreign.publicKeyPem, 'never overwritten');
    const kept = lines.filter((l) => /audit public key/.test(String(l.msg)));
    assert.deepEqual(kept.map((l) => l.msg), ["audit public key file is not the signing key's public half: left as it is"]);
    assert.match(String(kept[0].problem), new RegExp(`holds the public key ${foreign.keyId}, not the public half of the signing key`));
  });

  it('signs a checkpoint at least every N records (audit.checkpointEveryRecords)', async () => {
    const bot = await start(dataDir, 3);
    const events = Array.from({ length: 7 }, (_, i) => ({ type: 'config.loaded' as const, time: new Date().toISOString(), outcome: { result: 'ok' as const, detail: `filler ${i}` } }));
    for (const e of events) await bot.deps.store.audit.append([e]);
    await new Promise((r) => setTimeout(r, 100));
    await bot.stop();
    const records = await recordsOf(dataDir);
    const byRecords = records.filter((r) => r.type === 'audit.checkpoint' && r.data?.trigger === 'records');
    assert.ok(byRecords.length >= 2, `checkpoints by record count: ${byRecords.length}`);
    let since = 0;
    for (const r of records) {
      since = r.type === 'audit.checkpoint' ? 0 : since + 1;
      assert.ok(since <= 4, `record ${r.seq}: ${since} records since the last checkpoint`);
    }
  });

  it('refuses to start on a database truncated to zero bytes, naming the checkpoint that shows the loss', async () => {
    await runOnce();
    const before = await recordsOf(dataDir);
    removeDatabase(dataDir, 'truncate');
    const err = await start().then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuditContinuityError);
    assert.match(err.message, /Countersign will not start: the audit database does not match what was signed before/);
    // The file's checkpoint signed the record before its own audit.checkpoint record.
    const signedSeq = before.length - 1;
    assert.match(err.message, new RegExp(`the audit log is empty, but the checkpoint of record ${signedSeq} .*checkpoint file.* reaches record ${signedSeq}: records 1 to ${signedSeq} at least are missing`));
    assert.match(err.message, /countersign audit accept-loss --data-dir .* --reason/);
    assert.match(err.message, /the database file .* is empty \(0 bytes\): it was not opened, so it and its -wal and -shm files are left as they are/);
    assert.equal(fs.statSync(databaseFile(dataDir)).size, 0, 'nothing was written into it');
  });

  it('leaves the -wal of an emptied database as it was when it refuses the start: it may hold the newest records', async () => {
    await runOnce();
    const file = databaseFile(dataDir);
    // A run killed with its newest records in the -wal only: copied while open, as a crash leaves it.
    const store = await openSqliteStore({ file, writer: 'inline' });
    await store.audit.append([anEvent('request.created', { data: { reason: 'reason-in-wal-only' } })]);
    const wal = fs.readFileSync(`${file}-wal`);
    assert.ok(wal.includes('reason-in-wal-only'));
    await store.close();
    fs.rmSync(`${file}-shm`, { force: true });
    fs.writeFileSync(`${file}-wal`, wal);
    fs.truncateSync(file, 0);
    await assert.rejects(start(), /the audit log is empty, but the checkpoint of record \d+ .*it was not opened/s);
    assert.ok(fs.readFileSync(`${file}-wal`).equals(wal), 'the -wal is as it was');
    assert.equal(fs.statSync(file).size, 0);
    // Deleted outright, the same.
    fs.rmSync(file);
    await assert.rejects(start(), /the database file .* is missing: it was not opened/);
    assert.ok(fs.readFileSync(`${file}-wal`).equals(wal));
    assert.equal(fs.existsSync(file), false);
  });

  it('refuses an emptied database beside a -wal holding records even with the checkpoint file gone too, leaves the files, and accept-loss records that loss', async () => {
    await runOnce();
    const file = databaseFile(dataDir);
    const store = await openSqliteStore({ file, writer: 'inline' });
    await store.audit.append([anEvent('request.created', { data: { reason: 'reason-in-wal-only' } })]);
    const wal = fs.readFileSync(`${file}-wal`);
    await store.close();
    fs.rmSync(`${file}-shm`, { force: true });
    fs.writeFileSync(`${file}-wal`, wal);
    fs.truncateSync(file, 0);
    // Nothing signed is left to show the loss: the -wal alone does.
    fs.rmSync(checkpointFileOf(dataDir));
    const lines: Record<string, unknown>[] = [];
    const err = await start(dataDir, undefined, capturing(lines)).then(
      async (bot) => (await bot.stop(), undefined),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuditContinuityError, String(err));
    assert.match(err.message, new RegExp(`  - the write-ahead log ${file.replace(/[.]/g, '\\.')}-wal holds ${wal.length} bytes of changes committed to the database, whose file held nothing: the records in it are not in the database`));
    assert.match(err.message, /is empty \(0 bytes\): it was not opened, so it and its -wal and -shm files are left as they are/);
    assert.equal(lines.filter((l) => /first start/.test(String(l.note))).length, 0, 'not taken for a first start');
    assert.ok(fs.readFileSync(`${file}-wal`).equals(wal), 'the -wal is as it was');
    assert.equal(fs.statSync(file).size, 0);
    // Deleted outright, the same.
    fs.rmSync(file);
    await assert.rejects(start(), /the write-ahead log .* holds \d+ bytes of changes .*\n.*the database file .* is missing: it was not opened/s);
    assert.ok(fs.readFileSync(`${file}-wal`).equals(wal));

    // Accepting the loss gives up the -wal (accept-loss opens the database on purpose) and records it.
    const accepted = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'database deleted after a crash, INC-4720']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /accepted: the write-ahead log .*-wal holds \d+ bytes of changes committed to the database/);
    await runOnce();
    const records = await recordsOf(dataDir);
    assert.equal(records[0].type, 'audit.loss_accepted');
    assert.ok((records[0].data?.problems as string[]).some((p) => /the write-ahead log .*-wal holds/.test(p)));
  });

  it('refuses a deleted database while its checkpoint file shows what it held', async () => {
    await runOnce();
    removeDatabase(dataDir, 'delete');
    await assert.rejects(start(), /the audit log is empty, but the checkpoint of record \d+ .* reaches record \d+: records 1 to \d+ at least are missing/);
  });

  it('starts as a first start where a signing key exists but nothing was ever recorded or signed (a first start that failed, or audit public-key run before it)', async () => {
    // As a first start killed right after it made the key, or `countersign audit public-key` run first, leave it.
    loadOrCreateSigningKey(dataDir);
    assert.equal(fs.existsSync(path.join(dataDir, PRIVATE_KEY_FILE)), true);
    const lines: Record<string, unknown>[] = [];
    const bot = await start(dataDir, undefined, capturing(lines));
    await bot.stop();
    const noted = lines.filter((l) => l.msg === 'audit continuity: an empty log beside an existing signing key');
    assert.equal(noted.length, 1);
    assert.match(String(noted[0].note), /the audit log is empty and nothing was ever signed here, though the signing key .* exists .*: starting as a first start/);
    assert.equal((await recordsOf(dataDir))[0].type, 'config.loaded');
    // From then on it has signed: emptying it again is refused as before.
    removeDatabase(dataDir, 'delete');
    await assert.rejects(start(), /records 1 to \d+ at least are missing/);
  });

  it('refuses a database put back from an older copy (its end cut off)', async () => {
    await runOnce();
    const copy = path.join(dataDir, 'old.db');
    fs.copyFileSync(databaseFile(dataDir), copy);
    const shorter = (await recordsOf(dataDir)).length;
    await runOnce();
    const longer = (await recordsOf(dataDir)).length;
    fs.copyFileSync(copy, databaseFile(dataDir));
    await assert.rejects(start(), new RegExp(`the audit log ends at record ${shorter}, but the checkpoint of record ${longer - 1} .* records ${shorter + 1} to ${longer - 1} at least are missing`));
  });

  it('refuses a database emptied and written again past its old checkpoints, though its newest checkpoint matches', async () => {
    await runOnce();
    const old = readCheckpointFile(checkpointFileOf(dataDir)).checkpoints.at(-1)!;
    // Emptied, then written again (as instances on a database emptied under them would go on doing),
    // past the old checkpoint, and the new head signed with this key into the same file.
    removeDatabase(dataDir, 'truncate');
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < old.seq + 5; i++) await store.audit.append([anEvent('request.created')]);
    // Signed as a running instance's timer would (audit checkpoint refuses a log its checkpoints contradict).
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    await new Checkpointer({ store, signer: loadOrCreateSigningKey(dataDir), clock: { now: () => new Date() }, file: checkpointFileOf(dataDir), log: silent }).write('timer');
    await store.close();
    assert.match((await audit(['checkpoint', '--data-dir', dataDir])).stderr, new RegExp(`^AUDIT LOG DAMAGED: record ${old.seq} is not the one the checkpoint of record ${old.seq} signed`));
    const newest = readCheckpointFile(checkpointFileOf(dataDir)).checkpoints.at(-1)!;
    assert.ok(newest.seq > old.seq, 'the newest checkpoint reaches past the old one, and matches the log');
    await assert.rejects(start(), new RegExp(`record ${old.seq} is not the one the checkpoint of record ${old.seq} signed at ${old.time.replace(/[.]/g, '\\.')} \\(in the checkpoint file .*\\) vouches for: the database was emptied and written again, replaced or rewritten`));
  });

  it('refuses another installation\'s database', async () => {
    await runOnce();
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-other-'));
    dirs.push(other);
    await runOnce(other);
    await runOnce(other);
    fs.copyFileSync(databaseFile(other), databaseFile(dataDir));
    const err = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e);
    assert.ok(err instanceof AuditContinuityError, String(err));
    // The other installation's table is intact in itself; this directory's own checkpoints name other records.
    assert.match(err.message, /was signed with key [0-9a-f]{16}, not this data directory's key [0-9a-f]{16}; the records it names are still in the log as signed/);
    assert.match(err.message, /record 1 is not the one the checkpoint of record 1 .* vouches for: the database was replaced or rewritten/);
    assert.match(err.message, /Restore the database \(and its -wal file\) from a backup/);
  });

  it('says only the key is not here when the signing key was taken away and the records are intact, and wants --key-lost to accept it', async () => {
    await runOnce();
    await runOnce();
    const aside = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-key-aside-'));
    dirs.push(aside);
    for (const f of ['audit-signing-key.pem', 'audit-signing-key.pub.pem']) fs.renameSync(path.join(dataDir, f), path.join(aside, f));
    const err = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e);
    assert.ok(err instanceof AuditContinuityError, String(err));
    assert.match(err.message, new RegExp(`the data directory ${dataDir} holds no signing key`));
    assert.match(err.message, /the records it names are still in the log as signed/);
    assert.match(err.message, /put that key file back in/);
    const refused = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'moved']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Nothing is known to be lost/);
    // Put back, it starts as before.
    for (const f of ['audit-signing-key.pem', 'audit-signing-key.pub.pem']) fs.renameSync(path.join(aside, f), path.join(dataDir, f));
    await runOnce();
  });

  it('refuses a start on an emptied signing key in words, and accept-loss --key-lost sets the empty file aside and goes on', async () => {
    await runOnce();
    await runOnce();
    const keyFile = path.join(dataDir, 'audit-signing-key.pem');
    fs.truncateSync(keyFile, 0);
    const err = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e);
    assert.match(String(err), new RegExp(`the audit signing key ${keyFile.replace(/[.]/g, '\\.')} is empty: put the key back from a backup .*countersign audit accept-loss --data-dir .* --key-lost --reason`));
    const lost = await audit(['accept-loss', '--data-dir', dataDir, '--key-lost', '--reason', 'key file emptied by a bad restore, INC-4716']);
    assert.equal(lost.code, 0, lost.stderr);
    assert.match(lost.stderr, /The signing key file .* was empty: set aside as .*audit-signing-key\.pem\.empty-/);
    assert.equal(fs.readdirSync(dataDir).filter((f) => f.startsWith('audit-signing-key.pem.empty-')).length, 1, 'kept');
    await runOnce();
  });

  it('refuses a start on a damaged signing key in words, and accept-loss --key-lost sets the damaged file aside and goes on', async () => {
    await runOnce();
    await runOnce();
    const keyFile = path.join(dataDir, 'audit-signing-key.pem');
    fs.writeFileSync(keyFile, fs.readFileSync(keyFile, 'utf8').slice(0, 50));
    const err = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e);
    assert.match(String(err), new RegExp(`the audit signing key ${keyFile.replace(/[.]/g, '\\.')} is damaged: it is not a PEM private key .* Put the key back from a backup .*countersign audit accept-loss --data-dir .* --key-lost --reason`));
    const lost = await audit(['accept-loss', '--data-dir', dataDir, '--key-lost', '--reason', 'key file damaged by a bad restore, INC-4717']);
    assert.equal(lost.code, 0, lost.stderr);
    assert.match(lost.stderr, /The signing key file .* was damaged: set aside as .*audit-signing-key\.pem\.damaged-/);
    assert.equal(fs.readdirSync(dataDir).filter((f) => f.startsWith('audit-signing-key.pem.damaged-')).length, 1, 'kept');
    await runOnce();
  });

  it('starts on what is left once an operator accepts the loss, which is audited and signed', async () => {
    await runOnce();
    removeDatabase(dataDir, 'truncate');
    await assert.rejects(start(), AuditContinuityError);

    const noReason = await audit(['accept-loss', '--data-dir', dataDir]);
    assert.equal(noReason.code, 64, 'a missing option is a usage error');
    assert.match(noReason.stderr, /required option '--reason <text>' not specified/);
    const blank = await audit(['accept-loss', '--data-dir', dataDir, '--reason', ' ']);
    assert.equal(blank.code, 1);
    assert.match(blank.stderr, /--reason .* is required/);

    const accepted = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'disk replaced, INC-4711']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /Recorded audit.loss_accepted by compliance@test-host: disk replaced, INC-4711/);
    const archived = fs.readdirSync(dataDir).filter((f) => f.startsWith('audit-checkpoints.jsonl.lost-'));
    assert.equal(archived.length, 1, 'the old checkpoint file is kept, set aside');

    await runOnce();
    const records = await recordsOf(dataDir);
    assert.equal(records[0].type, 'audit.loss_accepted');
    assert.equal(records[0].data?.reason, 'disk replaced, INC-4711');
    assert.equal(records[0].data?.operator, 'compliance@test-host');
    assert.ok((records[0].data?.problems as string[]).some((p) => /the audit log is empty, but the checkpoint of record/.test(p)));
    assert.equal(records[1].type, 'audit.checkpoint');
    assert.equal((await verifyChain((async function* () { yield* records; })())).ok, true);

    const again = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'again']);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /There is no loss to accept/);
  });

  it('keeps the loss in sight when accept-loss dies after recording it, before setting the checkpoint file aside', async () => {
    await runOnce();
    const copy = path.join(dataDir, 'old.db');
    fs.copyFileSync(databaseFile(dataDir), copy);
    await runOnce();
    fs.copyFileSync(copy, databaseFile(dataDir));
    await assert.rejects(start(), AuditContinuityError);
    // The process dies where the file would be set aside: the rename never happens.
    const rename = fs.renameSync;
    fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
      if (String(to).includes('audit-checkpoints.jsonl.lost-')) throw new Error('killed');
      return rename(from, to);
    }) as typeof fs.renameSync;
    try {
      const died = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'restored from backup, INC-9']).then((r) => r.code, (err: Error) => err.message);
      assert.notEqual(died, 0);
    } finally {
      fs.renameSync = rename;
    }
    assert.ok(fs.existsSync(checkpointFileOf(dataDir)), 'the checkpoint file still names what is missing');
    await assert.rejects(start(), AuditContinuityError, 'the start is still refused');
    const again = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'restored from backup, INC-9']);
    assert.equal(again.code, 0, again.stderr);
    await runOnce();
    const accepted = (await recordsOf(dataDir)).filter((r) => r.type === 'audit.loss_accepted');
    assert.equal(accepted.length, 2, 'both attempts are on record: the loss was never silent');
  });

  it('accepts a loss whose checkpoints are still in the table (records deleted, table kept) and starts after', async () => {
    await runOnce();
    await runOnce();
    const file = databaseFile(dataDir);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(file);
    const keep = 3;
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete');
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").pluck().all() as string[]) db.exec(`DROP TRIGGER "${t}"`);
    db.prepare('DELETE FROM audit_log WHERE seq > ?').run(keep);
    db.close();
    await assert.rejects(start(), /in the checkpoint table\) reaches record/);
    const accepted = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'restored from snapshot']);
    assert.equal(accepted.code, 0, accepted.stderr);
    await runOnce();
  });
});
