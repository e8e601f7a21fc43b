/** `countersign audit ...` against PostgreSQL, chosen by the same variables as the bot. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditRecord } from '../../src/domain/audit';
import { openPostgresStore } from '../../src/store/postgres';
import { aRequest, anEvent, bob, requestRef as refWithoutReason, tempDir, timeAt } from '../store/fixtures';

/** A fixture request's reference as its records carry it: with the reason the request was made with (aRequest's). */
const requestRef = (id: string) => ({ ...refWithoutReason(id), reason: aRequest(id).reason });
import { createTestDatabase } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { audit } from './run-audit';
import { loadOrCreateSigningKey } from '../../src/audit/access/signing';

describe('countersign audit on PostgreSQL', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let tmp: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let records: AuditRecord[];

  before(async () => {
    db = await createTestDatabase();
    const store = await openPostgresStore({ connection: db.connection });
    records = [];
    await store.requests.insert(aRequest('CS-PG000001'), [anEvent('request.created', { time: timeAt(0), request: requestRef('CS-PG000001') })]);
    for (let i = 1; i < 12; i++) records.push(...(await store.audit.append([anEvent('execution.progressed', { time: timeAt(i * 60), request: requestRef(`req-${i}`) })])));
    await store.close();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(() => {
    tmp = tempDir();
    env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url, COUNTERSIGN_DATA_DIR: path.join(tmp.dir, 'data') };
  });
  afterEach(() => tmp.remove());

  it('verifies the chain in the database, naming it without secrets', async () => {
    const r = await audit(['verify'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`Source: postgres://postgres@127\\.0\\.0\\.1:5432/${db.name}`));
    assert.match(r.stdout, /Audit chain intact: 12 records, seq 1 to 12\./);
  });

  // Before any checkpoint is signed (the next test signs some with another data directory's key).
  it('accept-loss reads the PostgreSQL log (where nothing is lost), not a SQLite file it would make', async () => {
    mkdirSync(path.join(tmp.dir, 'data'));
    const r = await audit(['accept-loss', '--reason', 'checking'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /There is no loss to accept/);
    assert.equal(existsSync(path.join(tmp.dir, 'data', 'countersign.db')), false, 'no SQLite database was created');
    const unreachable = await audit(['accept-loss', '--reason', 'checking'], { ...env, COUNTERSIGN_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/countersign' });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^error: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/countersign is unreachable/);
    assert.deepEqual(readdirSync(path.join(tmp.dir, 'data')), [], 'nothing was made in the data directory');
  });

  it('signs nothing from a data directory without the installation\'s key: no key is made there, nothing goes into the shared log', async () => {
    mkdirSync(path.join(tmp.dir, 'data'));
    for (const args of [['checkpoint'], ['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'x.jsonl')], ['evidence', 'CS-PG000001', '--out', path.join(tmp.dir, 'ev')], ['public-key']]) {
      const r = await audit(args, env);
      assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /holds no audit signing key \(audit-signing-key\.pem\).*: run (it|this) with the data directory of the Countersign installation .*every instance on one PostgreSQL database uses that directory's key, which the bot creates at its first start/);
    }
    assert.deepEqual(readdirSync(path.join(tmp.dir, 'data')), [], 'no key was made');
    const v = await audit(['verify'], env);
    assert.match(v.stdout, /Audit chain intact: 12 records/, 'nothing was recorded');
  });

  it('signs a checkpoint, exports with a manifest that verifies, and writes an evidence bundle', async () => {
    // The bot's first start made the installation's key in its data directory.
    mkdirSync(path.join(tmp.dir, 'data'));
    loadOrCreateSigningKey(path.join(tmp.dir, 'data'));
    const cp = await audit(['checkpoint'], env);
    assert.equal(cp.code, 0, cp.stderr);
    assert.match(cp.stderr, /Checkpoint of record 12/);
    const out = path.join(tmp.dir, 'audit.jsonl');
    const ex = await audit(['export', '--format', 'jsonl', '--out', out], env);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stderr, /Exported 13 audit records \(seq 1 to 13\)/);
    const vf = await audit(['verify', '--file', out], env);
    assert.equal(vf.code, 0, vf.stdout + vf.stderr);
    const ev = await audit(['evidence', 'CS-PG000001', '--out', path.join(tmp.dir, 'evidence')], env);
    assert.equal(ev.code, 0, ev.stderr);
    assert.ok(readdirSync(path.join(tmp.dir, 'evidence')).includes('manifest.json'));
    const v = await audit(['verify'], env);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /Audit chain intact: 15 records/);
    const pk = await audit(['public-key'], env);
    assert.match(pk.stdout, /BEGIN PUBLIC KEY/);
    assert.equal(existsSync(path.join(tmp.dir, 'data', 'countersign.db')), false, 'no SQLite database was created');
  });

  it('names a record a superuser edited with the trigger disabled and enabled again', async () => {
    const su = await db.superuser();
    try {
      await su.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
        UPDATE audit_log SET record = replace(record, '"result":"ok"', '"result":"refused"') WHERE seq = 5;
        ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;`);
      const r = await audit(['verify'], env);
      assert.equal(r.code, 2);
      assert.match(r.stdout, new RegExp(`AUDIT CHAIN DAMAGED \\(edited\\) at record 5, id ${records[3].id}:`));
      assert.match(r.stdout, /Records before it are intact: 4 records, seq 1 to 4/);
    } finally {
      await su.end();
    }
  });

  it('reports a database it cannot reach as the operator\'s problem, in one line', async () => {
    const r = await audit(['verify'], { ...env, COUNTERSIGN_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/countersign' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/countersign is unreachable/);
  });
  it('verify holds every request row and saved version against the audit records: an edited row or an added version is named, exit 2', async () => {
    const own = await createTestDatabase();
    try {
      const store = await openPostgresStore({ connection: own.connection });
      await store.requests.insert(aRequest('CS-PG000001'), [anEvent('request.created', { time: timeAt(0), request: requestRef('CS-PG000001') })]);
      await store.requests.insert(aRequest('CS-PG000002'), [anEvent('request.created', { time: timeAt(0), request: requestRef('CS-PG000002') })]);
      await store.close();
      const env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: own.url, COUNTERSIGN_DATA_DIR: path.join(tmp.dir, 'data') };
      const clean = await audit(['verify'], env);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /\nRequests: 2 checked against their audit records \(2 row\(s\), 2 saved version\(s\)\): each backed\. Time: /);
      const c = await own.superuser();
      try {
        // The row set to approved, approved by Mallory, whom no record names; a version added naming another operation.
        const edited = { ...aRequest('CS-PG000001'), state: 'approved', updatedAt: timeAt(30), approvals: [{ approver: { ...bob, name: 'Mallory', aadObjectId: 'mallory-oid' }, at: timeAt(30), operationHash: aRequest('CS-PG000001').operationHash }] };
        await c.query('UPDATE requests SET state = $2, body = $3 WHERE id = $1', ['CS-PG000001', 'approved', JSON.stringify(edited)]);
        const forged = { ...aRequest('CS-PG000002'), version: 2, updatedAt: timeAt(30), command: 'delete-resource-group' };
        await c.query('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ($1, 2, $2, $3, $4)', ['CS-PG000002', 'pending', forged.updatedAt, JSON.stringify(forged)]);
      } finally {
        await c.end();
      }
      const r = await audit(['verify'], env);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /Audit chain intact/);
      assert.match(r.stdout, /\n  CS-PG000001 row \(at version 1\): approvals: the row says an approval by Mallory \(mallory-oid\) of operation hash [0-9a-f]{12}…; the records say no approval\.granted record by 2026-11-02T09:00:30\.000Z\n/);
      assert.match(r.stdout, /\n  CS-PG000002 version 2: command: the version says "delete-resource-group"; the records say "restart-vm" \(record 2, request\.created\)\n/);
      assert.match(r.stdout, /\nRequests: 2 checked against their audit records \(2 row\(s\), 3 saved version\(s\)\): 2 NOT BACKED \(named above\)\. Time: /);
    } finally {
      await own.drop();
    }
  });

  it('marks in an evidence bundle a stored version added in the database that the audit chain does not back (exit 2)', async () => {
    const own = await createTestDatabase();
    try {
    const store = await openPostgresStore({ connection: own.connection });
    await store.requests.insert(aRequest('CS-PG000001'), [anEvent('request.created', { time: timeAt(0), request: requestRef('CS-PG000001') })]);
    await store.close();
    const env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: own.url, COUNTERSIGN_DATA_DIR: path.join(tmp.dir, 'data') };
    mkdirSync(path.join(tmp.dir, 'data'));
    loadOrCreateSigningKey(path.join(tmp.dir, 'data'));
    const before = await audit(['evidence', 'CS-PG000001', '--out', path.join(tmp.dir, 'before')], env);
    assert.doesNotMatch(before.stderr, /NOT BACKED/, 'the version Countersign stored is backed by its records');
    // Someone with write access to the database adds a version: approved by Mallory, whom no record names.
    const forged = { ...aRequest('CS-PG000001'), version: 2, state: 'approved', updatedAt: timeAt(30), approvals: [{ approver: { ...bob, name: 'Mallory', aadObjectId: 'mallory-oid' }, at: timeAt(30), operationHash: aRequest('CS-PG000001').operationHash }] };
    const c = await own.superuser();
    try {
      await c.query('INSERT INTO request_versions (request_id, version, state, updated_at, body) VALUES ($1, 2, $2, $3, $4)', ['CS-PG000001', 'approved', forged.updatedAt, JSON.stringify(forged)]);
    } finally {
      await c.end();
    }
    const ev = await audit(['evidence', 'CS-PG000001', '--out', path.join(tmp.dir, 'after')], env);
    assert.equal(ev.code, 2, ev.stderr);
    assert.match(ev.stderr, /NOT BACKED BY THE AUDIT CHAIN: version 2 \(approved\) is not backed by the audit chain: the audit log holds no approval by Mallory/);
    assert.doesNotMatch(ev.stderr, /version 1 /);
    const verification = JSON.parse(readFileSync(path.join(tmp.dir, 'after', 'verification.json'), 'utf8')) as { versions: { count: number; ok: boolean; problems: string[] } };
    assert.deepEqual([verification.versions.count, verification.versions.ok, verification.versions.problems.length], [2, false, 1]);
    } finally {
      await own.drop();
    }
  });
});

describe('countersign audit verify on PostgreSQL whose audit table was dropped', function () {
  this.timeout(30_000);
  it('reports the audit log gone as damage (exit 2), naming the table, not as a wrong input', async () => {
    const db = await createTestDatabase();
    const tmp = tempDir();
    try {
      const store = await openPostgresStore({ connection: db.connection });
      await store.audit.append([anEvent('request.created')]);
      await store.close();
      const c = await db.superuser();
      try {
        await c.query('DROP TABLE requests CASCADE');
        await c.query('DROP TABLE card_messages CASCADE');
      } finally {
        await c.end();
      }
      const env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url, COUNTERSIGN_DATA_DIR: path.join(tmp.dir, 'data') };
      // Another table dropped: the audit log is intact, and said to be; the table is named.
      const requestsGone = await audit(['verify'], env);
      assert.equal(requestsGone.code, 2, requestsGone.stdout + requestsGone.stderr);
      assert.match(requestsGone.stdout, /Audit chain intact: 1 record,[\s\S]*DATABASE DAMAGED: the table card_messages is missing from the database \(dropped or renamed\): a start is refused\.[\s\S]*REQUESTS DELETED: the table requests is missing from the database \(dropped\)/);
      const c2 = await db.superuser();
      try {
        await c2.query('DROP TABLE audit_log CASCADE');
      } finally {
        await c2.end();
      }
      const r = await audit(['verify'], env);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /AUDIT LOG DAMAGED \(deleted\): the table audit_log is missing from the database \(dropped or renamed\): its audit records are gone from it\. Restore the database from a backup/);
    } finally {
      tmp.remove();
      await db.drop();
    }
  });

  /** A database of its own holding `n` records, and a data directory with the installation's key. */
  async function ownLog(n: number): Promise<{ own: TestDatabase; tmp: ReturnType<typeof tempDir>; env: NodeJS.ProcessEnv }> {
    const own = await createTestDatabase();
    const tmp = tempDir();
    const store = await openPostgresStore({ connection: own.connection });
    for (let i = 0; i < n; i++) await store.audit.append([anEvent('request.created', { time: timeAt(i * 60), request: requestRef(`req-${i}`) })]);
    await store.close();
    const dataDir = path.join(tmp.dir, 'data');
    mkdirSync(dataDir);
    loadOrCreateSigningKey(dataDir);
    return { own, tmp, env: { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: own.url, COUNTERSIGN_DATA_DIR: dataDir } };
  }

  it('signs nothing of a log its checkpoints show cut short: checkpoint refuses, export says so (exit 2)', async () => {
    const { own, tmp, env } = await ownLog(12);
    try {
      assert.equal((await audit(['checkpoint'], env)).code, 0); // of record 12; its own record is 13
      // What the reviewer did on PostgreSQL: around the append-only triggers, the end of the log cut off.
      const c = await own.superuser();
      try {
        await c.query('SET session_replication_role = replica');
        await c.query('DELETE FROM audit_log WHERE seq >= 11');
      } finally {
        await c.end();
      }
      const cp = await audit(['checkpoint'], env);
      assert.equal(cp.code, 2, cp.stdout + cp.stderr);
      assert.match(cp.stderr, /^AUDIT LOG DAMAGED: the audit log ends at record 10, but the checkpoint of record 12 .* reaches record 13: records 11 to 13 at least are missing[\s\S]*Nothing was signed or recorded/);
      const out = path.join(tmp.dir, 'cut.jsonl');
      const ex = await audit(['export', '--format', 'jsonl', '--out', out], env);
      assert.equal(ex.code, 2, ex.stderr);
      assert.match(ex.stderr, /Exported 10 audit records \(seq 1 to 10\)[\s\S]*AUDIT LOG DAMAGED: the audit log ends at record 10/);
      const vf = await audit(['verify', '--file', out], env);
      assert.equal(vf.code, 2, vf.stdout);
      assert.match(vf.stdout, /Export intact as signed: 10 records, seq 1 to 10\.[\s\S]*AUDIT LOG DAMAGED: its signed manifest records/);
    } finally {
      tmp.remove();
      await own.drop();
    }
  });

  it('says AUDIT LOG DAMAGED (exit 2) when exporting, in CSV and OCSF too, a record a superuser stored altered with its hash unchanged', async () => {
    const { own, tmp, env } = await ownLog(4);
    try {
      const c = await own.superuser();
      try {
        await c.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
          UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":{"name":"Mallory"},"actor":') WHERE seq = 3;
          ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;`);
      } finally {
        await c.end();
      }
      for (const format of ['csv', 'ocsf']) {
        const ex = await audit(['export', '--format', format, '--out', path.join(tmp.dir, `altered.${format}`)], env);
        assert.equal(ex.code, 2, ex.stderr);
        assert.match(ex.stderr, /AUDIT LOG DAMAGED: 1 record\(s\) \(seq 3\) are stored in the log as text that is not the canonical form they were sealed in/);
      }
    } finally {
      tmp.remove();
      await own.drop();
    }
  });

});
