/**
 * On PostgreSQL, an audit log emptied or cut short by someone with the server's superuser (triggers
 * disabled) is refused at start, with advice for PostgreSQL; `countersign audit accept-loss` with the
 * same settings records the loss in that database (never in a SQLite file made beside it), so the
 * next start proceeds and `audit verify` finds the log intact.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Logger } from '../../src/log/context';
import { checkpointFileOf } from '../../src/audit/access/checkpoints';
import { AuditContinuityError } from '../../src/audit/access/continuity';
import { loadConfig } from '../../src/config/load';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { audit, storeCommand } from '../cli/run-audit';
import { EXAMPLE_CONFIG } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { anEvent } from '../store/fixtures';

const silent = pino({ level: 'silent' }) as pino.Logger & Logger;

describe('an emptied or cut audit log on PostgreSQL', function () {
  this.timeout(60_000);
  let sandbox: ArmSandbox;
  let db: TestDatabase;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    sandbox = await startTestSandbox();
  });
  after(async () => sandbox.close());
  beforeEach(async () => {
    db = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pg-loss-'));
    env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url, COUNTERSIGN_DATA_DIR: dataDir };
  });
  afterEach(async () => {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (): Promise<RunningCountersign> =>
    startCountersign({
      settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', ...env }),
      config: loadConfig(EXAMPLE_CONFIG),
      azure: gatewayFor(sandbox),
      log: silent,
      sweepIntervalMs: 60_000,
    });

  /** Two runs, with records between the checkpoints; returns the seq of the last record. */
  async function runTwice(): Promise<number> {
    let bot = await start();
    for (let i = 0; i < 5; i++) await bot.deps.store.audit.append([anEvent('config.loaded')]);
    await bot.stop();
    bot = await start();
    await bot.stop();
    return (await sql<{ m: number }>('SELECT max(seq)::int AS m FROM audit_log'))[0].m;
  }

  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const c = await db.superuser();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** As a superuser would: the append-only triggers disabled, rows removed, the triggers enabled again. */
  async function tamper(statements: string): Promise<void> {
    await sql(`ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;
      ${statements};
      ALTER TABLE audit_log ENABLE TRIGGER USER; ALTER TABLE audit_checkpoints ENABLE TRIGGER USER`);
  }

  /** The start's refusal (a start that succeeds fails the test). */
  async function startRefused(): Promise<AuditContinuityError> {
    const err = await start().then(
      async (bot) => {
        await bot.stop();
        return assert.fail('started');
      },
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuditContinuityError, String(err));
    return err;
  }

  async function refusedStart(): Promise<AuditContinuityError> {
    const err = await startRefused();
    // The advice is PostgreSQL's: its database and its settings, not SQLite's file and -wal file.
    assert.doesNotMatch(err.message, /-wal/);
    assert.match(err.message, new RegExp(`Restore the PostgreSQL database postgres://postgres@127\\.0\\.0\\.1:5432/${db.name} from its backup`));
    assert.match(err.message, /COUNTERSIGN_STORE=postgres/);
    assert.match(err.message, /countersign audit accept-loss --data-dir .* --reason/);
    return err;
  }

  async function acceptAndStart(reason: string, verified: 'intact' | 'not checked' = 'intact'): Promise<void> {
    const accepted = await audit(['accept-loss', '--reason', reason], env);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
    assert.match(accepted.stdout, new RegExp(`Recorded audit.loss_accepted by compliance@test-host: ${reason}`));
    assert.equal(fs.existsSync(databaseFile(dataDir)), false, 'no SQLite database was created in the data directory');
    const archived = fs.readdirSync(dataDir).filter((f) => f.startsWith('audit-checkpoints.jsonl.lost-'));
    assert.equal(archived.length, 1, 'the old checkpoint file is kept, set aside');
    assert.ok(fs.existsSync(checkpointFileOf(dataDir)), 'a new checkpoint file signs the log as it now is');

    const recorded = await sql<{ seq: number; record: string }>("SELECT seq::int AS seq, record FROM audit_log WHERE type = 'audit.loss_accepted'");
    assert.equal(recorded.length, 1, 'the loss is recorded in PostgreSQL');
    assert.match(recorded[0].record, new RegExp(reason));
    assert.match(accepted.stdout, new RegExp(`The log now ends at record ${recorded[0].seq}, signed in a new checkpoint`));

    const bot = await start();
    await bot.stop();
    if (verified === 'intact') {
      const v = await audit(['verify'], env);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /Audit chain intact/);
    }
    assert.equal(fs.existsSync(databaseFile(dataDir)), false, 'still no SQLite database');

    const again = await audit(['accept-loss', '--reason', 'again'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /There is no loss to accept/);
  }

  it('tells an instance started with the wrong data directory to use the one with the key, and accept-loss asks for --key-lost before it sets that key aside', async () => {
    await runTwice();
    const right = { ...env };
    const wrong = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pg-wrong-dir-'));
    try {
      env = { ...env, COUNTERSIGN_DATA_DIR: wrong };
      const err = await startRefused();
      assert.match(err.message, new RegExp(`the audit database was signed with key [0-9a-f]{16}, and the data directory ${wrong} holds no signing key`));
      assert.match(err.message, /Nothing is known to be lost/);
      assert.match(err.message, /Every instance on one PostgreSQL database uses the same data directory's key/);
      assert.match(err.message, /Start Countersign with COUNTERSIGN_DATA_DIR set to the data directory that holds key/);
      assert.match(err.message, /countersign audit accept-loss --data-dir .* --key-lost --reason/);
      assert.doesNotMatch(err.message, /Restore the PostgreSQL database/);

      const refused = await audit(['accept-loss', '--reason', 'wrong dir'], env);
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /Nothing is known to be lost: .* Only if that key is lost for good, run this again with --key-lost\. Nothing was recorded\./s);
      assert.deepEqual(await sql("SELECT seq FROM audit_log WHERE type = 'audit.loss_accepted'"), [], 'nothing recorded');
      assert.equal(fs.existsSync(path.join(wrong, 'audit-signing-key.pem')), false, 'no key made in the wrong directory');

      // The instances with the right data directory still start.
      env = right;
      const bot = await start();
      await bot.stop();

      // A key lost for good is a loss the operator may accept, said so.
      env = { ...env, COUNTERSIGN_DATA_DIR: wrong };
      const lost = await audit(['accept-loss', '--key-lost', '--reason', 'key destroyed with the old host, INC-4715'], env);
      assert.equal(lost.code, 0, lost.stdout + lost.stderr);
      const next = await start();
      await next.stop();
    } finally {
      env = right;
      fs.rmSync(wrong, { recursive: true, force: true });
    }
  });

  it('refuses a log whose last records and their checkpoints were deleted, and starts once the loss is accepted', async () => {
    const last = await runTwice();
    const keep = last - 3;
    await tamper(`DELETE FROM audit_log WHERE seq > ${keep}; DELETE FROM audit_checkpoints WHERE seq > ${keep}`);
    const err = await refusedStart();
    assert.match(err.message, new RegExp(`the audit log ends at record ${keep}, but the checkpoint of record`));
    await acceptAndStart('replica promoted without the last writes, INC-4712');
    const [first] = await sql<{ seq: number }>("SELECT seq::int AS seq FROM audit_log WHERE type = 'audit.loss_accepted'");
    assert.equal(first.seq, keep + 1, 'the loss is recorded after what is left');
  });

  it('refuses a log truncated with its checkpoint table, and starts once the loss is accepted', async () => {
    await runTwice();
    await tamper('TRUNCATE audit_log, audit_checkpoints');
    const err = await refusedStart();
    assert.match(err.message, /the audit log is empty, but the checkpoint of record \d+ .* reaches record \d+/);
    await acceptAndStart('database emptied by mistake, INC-4713');
  });

  it('tells a database emptied of its tables (schema dropped) from a new one: the start and migrate-schema refuse before making any table, naming the loss and the restore', async () => {
    await runTwice();
    await sql('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    const noTables = async () => assert.deepEqual(await sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"), [], 'no table was made');
    const err = await refusedStart();
    assert.match(err.message, /the audit log is empty, but the checkpoint of record \d+ .* reaches record \d+: records 1 to \d+ at least are missing/);
    assert.match(err.message, new RegExp(`the schema public of postgres://postgres@127\\.0\\.0\\.1:5432/${db.name} holds none of Countersign's tables \\(there is no schema_migrations\\): nothing was created in it, so the backup can be restored into it as it is`));
    assert.doesNotMatch(err.message, /migrate-schema|older than this Countersign/);
    // A slip in the settings (another schema named) reads the same as a loss: said before restore and accept-loss.
    const [first, second] = err.message.split('\n');
    assert.match(first, /^Countersign will not start/);
    assert.match(second, /^First check the settings: the schema .* holds none of Countersign's tables .*If COUNTERSIGN_DATABASE_SCHEMA or COUNTERSIGN_DATABASE_URL names another schema or database than the bots'/);
    await noTables();

    // The schema's owner told to make the tables again: refused the same way, unless --force.
    const refused = await storeCommand(['migrate-schema'], env);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /^error: the audit database does not match what was signed before\./);
    assert.match(refused.stderr, /the audit log is empty, but the checkpoint of record \d+ .*: records 1 to \d+ at least are missing/);
    assert.match(refused.stderr, /Nothing was created\. Only to accept the loss .* run countersign store migrate-schema --force\./);
    await noTables();
    // The audit commands that record what they do, run by the schema's owner with MIGRATE=auto: refused
    // the same way (exit 2), not given empty tables to record in.
    const auto = { ...env, COUNTERSIGN_DATABASE_MIGRATE: 'auto' };
    for (const args of [['checkpoint'], ['export', '--format', 'jsonl', '--out', path.join(dataDir, 'out.jsonl')]]) {
      const r = await audit(args, auto);
      assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^error: the audit database does not match what was signed before\./, args[0]);
      assert.match(r.stderr, /holds none of Countersign's tables .*: nothing was created in it/, args[0]);
      await noTables();
    }
    // Run without the bots' data directory, nothing tells it from a new database: said so.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pg-nodata-'));
    try {
      const forced = await storeCommand(['migrate-schema', '--force', '--data-dir', elsewhere], env);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /^Applied \d+ migrations to the schema of/);
      assert.match(forced.stderr, /Note: no checkpoint file at .*: run it with --data-dir/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
    await acceptAndStart('schema dropped by mistake, INC-4716');
  });

  it('refuses a log cut short while its checkpoint table still names the missing records, and starts once the loss is accepted', async () => {
    const last = await runTwice();
    await tamper(`DELETE FROM audit_log WHERE seq > ${last - 3}`);
    const err = await refusedStart();
    assert.match(err.message, /in the checkpoint table\) reaches record/);
    // `audit verify` still reports the table's old checkpoints against the records written since, as
    // it does on SQLite: only the start-up check honours the accepted loss for them.
    await acceptAndStart('restored from snapshot, INC-4714', 'not checked');
  });
});
