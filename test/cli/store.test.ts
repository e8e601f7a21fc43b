/**
 * `countersign store migrate` (SQLite → empty PostgreSQL, verbatim, verified) at 100,000 records,
 * `store migrate-schema`, and `store backup` (an online SQLite copy that passes audit verify).
 */
import { readCliSettings, readSettings } from '../../src/settings';
import { startCountersign } from '../../src/composition-root';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import Database from 'better-sqlite3';
import { registerStoreCommands } from '../../src/cli/store';
import type { AuditCliIo } from '../../src/cli/audit-io';
import { databaseFile } from '../../src/settings';
import { partialNameOf } from '../../src/output-file';
import { backupSqliteStore, migrate, MIGRATIONS, openSqliteStore } from '../../src/store/sqlite';
import { aRequest, alice, anEvent, bob, requestRef, tempDir, timeAt } from '../store/fixtures';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres';
import { createTestDatabase } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { audit, Capture } from './run-audit';

async function store(args: string[], env: NodeJS.ProcessEnv, cwd: string, tty = false) {
  const stdout = new Capture();
  const stderr = new Capture(tty);
  let code = 0;
  const io: AuditCliIo = { stdout, stderr, settings: readCliSettings(env), cwd, setExitCode: (c) => (code = c), operator: 'ops@test-host' };
  const program = new Command('countersign').exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  registerStoreCommands(program, io);
  try {
    await program.parseAsync(['store', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    code = err.exitCode;
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** One digest of a table's rows in order, on either database. */
function digest(rows: unknown[][]): string {
  const h = createHash('sha256');
  for (const r of rows) h.update(`${JSON.stringify(r)}\n`);
  return h.digest('hex');
}

const COUNT = Number(process.env.COUNTERSIGN_TEST_MIGRATE_COUNT ?? 100_000);
const TABLES: [table: string, columns: string, order: string][] = [
  ['audit_log', 'seq, id, time, type, request_id, actor_id, prev_hash, hash, record', 'seq'],
  ['requests', 'id, version, state, expires_at, created_at, updated_at, body', 'created_at, id'],
  ['request_versions', 'request_id, version, state, updated_at, body', 'request_id, version'],
  ['audit_checkpoints', 'seq, hash, time, key_id, signature, record_seq', 'seq'],
  ['conversation_refs', 'conversation_id, reference', 'conversation_id'],
  ['card_messages', 'request_id, conversation_id, activity_id, sent_version', 'request_id, activity_id'],
  ['audit_downloads', 'token_hash, link_id, link, created_at, expires_at, used_at, export_id', 'token_hash'],
  ['delegations', 'id, delegator_id, delegate_id, created_at, until, ended_at, body', 'id'],
];

describe('countersign store', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let tmp: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    db = await createTestDatabase();
    tmp = tempDir();
    env = { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: db.url, COUNTERSIGN_DATA_DIR: path.join(tmp.dir, 'pg-data') };
  });
  afterEach(async () => {
    tmp.remove();
    await db.drop();
  });

  it('moves a 100,000-record SQLite store verbatim into an empty PostgreSQL database and verifies it there', async () => {
    const file = path.join(tmp.dir, 'old', 'countersign.db');
    const lite = await openSqliteStore({ file });
    for (let i = 0; i < 20; i++) {
      const r = aRequest(`CS-${i}`, { createdAt: timeAt(i) });
      // Its records carry the reason the request was made with, as Countersign's do (audit verify holds the rows against them).
      await lite.requests.insert(r, [anEvent('request.created', { request: { ...requestRef(r.id), reason: r.reason } })]);
      await lite.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved', { actor: bob, request: { ...requestRef(r.id), reason: r.reason } })]);
      await lite.conversations.saveCardMessage(r.id, { conversationId: `conv-${i % 3}`, activityId: `act-${i}` });
      if (i % 2) await lite.conversations.claimCardVersion(r.id, { conversationId: `conv-${i % 3}`, activityId: `act-${i}` }, 2, { holder: 'i1', ms: 1000 });
    }
    await lite.conversations.saveReference('conv-1', { serviceUrl: 'https://smba.example/', conversation: { id: 'conv-1' } });
    const delegation = { id: 'DG-1', delegator: bob, delegate: alice, createdAt: timeAt(0), until: timeAt(99) };
    await lite.delegations.record({ created: delegation, ended: [], events: [] });
    await lite.delegations.record({ created: { ...delegation, id: 'DG-2', createdAt: timeAt(1) }, ended: [{ ...delegation, ended: { at: timeAt(1), by: bob, reason: 'replaced' } }], events: [] });
    for (let start = 0; start < COUNT; start += 2000) {
      await lite.audit.append(Array.from({ length: 2000 }, (_, k) => anEvent('execution.progressed', { time: timeAt(start + k), data: { n: start + k, text: 'é ✓ "q"' } })));
    }
    const head = await lite.audit.head();
    await lite.auditAccess.saveCheckpoint({ seq: head!.seq, hash: head!.hash, time: timeAt(1), keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]);
    await lite.close();

    const r = await store(['migrate', '--from', file], env, tmp.dir, true);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const total = COUNT + 41;
    assert.match(r.stderr, new RegExp(`Copying audit_log: ${total.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows`));
    assert.match(r.stdout, new RegExp(`Audit chain intact: ${total} records, seq 1 to ${total}\\.`));
    assert.match(r.stdout, /Moved\. Keep .* as it is, the record of the move: set it aside with a copy of the checkpoint file that vouches for it, and leave the checkpoint file itself where it is/);

    const sqlite = new Database(file, { readonly: true });
    const pg = await db.superuser();
    pg.setTypeParser(20, Number);
    try {
      for (const [table, columns, order] of TABLES) {
        const a = sqlite.prepare(`SELECT ${columns} FROM ${table} ORDER BY ${order}`).raw(true).all() as unknown[][];
        const b = (await pg.query({ text: `SELECT ${columns} FROM ${table} ORDER BY ${order}`, rowMode: 'array' })).rows as unknown[][];
        assert.equal(b.length, a.length, table);
        const first = a.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(b[i]));
        assert.equal(first, -1, `${table} row ${first}: ${JSON.stringify(a[first])} != ${JSON.stringify(b[first])}`);
        assert.equal(digest(b), digest(a), `${table} differs`);
      }
    } finally {
      sqlite.close();
      await pg.end();
    }

    const v = await audit(['verify'], env);
    assert.match(v.stdout, new RegExp(`Audit chain intact: ${total} records`));
    // The moved checkpoint cannot be checked without the signing key, which this data directory lacks:
    // verify says so and asks for it rather than passing (a cut-off end could not be excluded).
    assert.equal(v.code, 1, v.stdout + v.stderr);
    assert.match(v.stderr, /--public-key/);

    // The old store's directory, checked with the PostgreSQL settings still set: PostgreSQL is what is
    // read, and the note says the SQLite file there is not; COUNTERSIGN_STORE=sqlite reads the file.
    const old = path.dirname(file);
    const mixed = await audit(['verify', '--data-dir', old], env);
    assert.match(mixed.stderr, new RegExp(`Note: ${file.replace(/[.]/g, '\\.')} is not what this command reads: COUNTERSIGN_STORE=postgres names the PostgreSQL database postgres://.*run the command with COUNTERSIGN_STORE=sqlite`));
    const lone = await audit(['verify', '--data-dir', old], { ...env, COUNTERSIGN_STORE: 'sqlite' });
    assert.match(lone.stdout, new RegExp(`Source: ${file.replace(/[.]/g, '\\.')}`));
    assert.match(lone.stdout, new RegExp(`Audit chain intact: ${total} records`));
    assert.doesNotMatch(lone.stderr, /Note:/);

    const again = await store(['migrate', '--from', file], env, tmp.dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not empty \(rows in requests, request_versions, audit_log.*\): a store is moved into an empty database only/);
  });

  it('moves a store from before card versions were recorded, as sent none', async () => {
    const file = path.join(tmp.dir, 'older', 'countersign.db');
    mkdirSync(path.dirname(file), { recursive: true });
    const old = new Database(file);
    migrate(old, MIGRATIONS.filter((m) => m.version <= 2));
    old.prepare('INSERT INTO card_messages (request_id, conversation_id, activity_id) VALUES (?, ?, ?)').run('CS-1', 'conv-1', 'act-1');
    old.close();
    const r = await store(['migrate', '--from', file], env, tmp.dir, true);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /\nCopied 0 rows of requests, 0 rows of request_versions, .*, 1 row of card_messages(, .*)? from /);
    const pg = await db.superuser();
    try {
      const rows = (await pg.query('SELECT request_id, activity_id, sent_version FROM card_messages')).rows;
      assert.deepEqual(rows, [{ request_id: 'CS-1', activity_id: 'act-1', sent_version: 0 }]);
    } finally {
      await pg.end();
    }
  });

  it('refuses to move into SQLite, or from a file that is not a Countersign database', async () => {
    const r = await store(['migrate', '--from', 'x.db'], env, tmp.dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no SQLite database at/);
    const notOurs = path.join(tmp.dir, 'other.db');
    new Database(notOurs).exec('CREATE TABLE t (x)');
    const s = await store(['migrate', '--from', notOurs], env, tmp.dir);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /is not a Countersign database/);
    const t = await store(['migrate', '--from', notOurs], { COUNTERSIGN_DATA_DIR: tmp.dir }, tmp.dir);
    assert.match(t.stderr, /works on PostgreSQL: set COUNTERSIGN_STORE=postgres/);
  });

  it('creates the schema as its owner with migrate-schema', async () => {
    const r = await store(['migrate-schema'], env, tmp.dir);
    assert.equal(r.code, 0, r.stderr);
    const last = POSTGRES_MIGRATIONS.at(-1)!;
    assert.match(r.stdout, new RegExp(`^Applied ${POSTGRES_MIGRATIONS.length} migrations to the schema of postgres://.*:\n  1: [^\n]+\n[\\s\\S]*  ${last.version}: [^\n]+\nIt is now at the version this Countersign expects \\(${last.version}\\)\\.\n$`));
    // A first install has no checkpoint file yet: the note says that is expected, not only what to do otherwise.
    assert.match(r.stderr, /^Note: no checkpoint file at \S+audit-checkpoints\.jsonl: expected on a new installation, whose bots have not started yet\. Otherwise whether this database held Countersign's records before could not be checked: run it with --data-dir/);
    const again = await store(['migrate-schema'], env, tmp.dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`^The schema of postgres://.* was already at the version this Countersign expects \\(${last.version}\\): nothing to do\\.\n$`));
  });

  it("migrate-schema by a data directory holding a SQLite store's checkpoints (a local trial's ./data): refused, saying the checkpoints may be that store's", async () => {
    // The README's first steps leave such a ./data behind: a SQLite store, its key and its checkpoints.
    const trial = path.join(tmp.dir, 'trial-data');
    const lite = await openSqliteStore({ file: databaseFile(trial) });
    const r1 = aRequest('CS-1', { createdAt: timeAt(1) });
    await lite.requests.insert(r1, [anEvent('request.created', { request: requestRef(r1.id) })]);
    await lite.close();
    const trialEnv = { COUNTERSIGN_DATA_DIR: trial };
    assert.equal((await audit(['public-key'], trialEnv)).code, 0);
    assert.equal((await audit(['checkpoint'], trialEnv)).code, 0);

    const refused = await store(['migrate-schema', '--data-dir', trial], env, tmp.dir);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /^error: the audit database does not match what was signed before\./);
    assert.ok(
      refused.stderr.includes(
        `Note: ${trial} also holds a SQLite database (countersign.db), so these checkpoints may be its own (a local trial's ./data, or a SQLite installation's) and not the PostgreSQL bots'. If so, nothing says this database held records: name the bots' data directory instead (their shared COUNTERSIGN_DATA_DIR; --data-dir for the countersign command), or, for a database no bot has started on yet, an empty folder.\nNothing was created.`,
      ),
      refused.stderr,
    );
    // The bot's own start on that database with that data directory says the same.
    const started = await startCountersign({ settings: readSettings({ PORT: '0', LOG_LEVEL: 'silent', ...env, COUNTERSIGN_DATA_DIR: trial }) }).then(
      async (bot) => (await bot.stop(), assert.fail('started')),
      (e: unknown) => e as Error,
    );
    assert.match(started.message, /the audit log is empty, but the checkpoint of record \d+ .*\nNote: .* also holds a SQLite database \(countersign\.db\), so these checkpoints may be its own/s);
    // The bots' own data directory holds no SQLite database: refused as before, without the note.
    const bots = path.join(tmp.dir, 'bots-data');
    mkdirSync(bots);
    for (const file of ['audit-checkpoints.jsonl', 'audit-signing-key.pem', 'audit-signing-key.pub.pem']) writeFileSync(path.join(bots, file), readFileSync(path.join(trial, file)), { mode: 0o600 });
    const bare = await store(['migrate-schema', '--data-dir', bots], env, tmp.dir);
    assert.equal(bare.code, 2, bare.stdout + bare.stderr);
    assert.doesNotMatch(bare.stderr, /Note: /);
    // An empty folder, as the note says for a new database: the schema is made.
    const fresh = path.join(tmp.dir, 'fresh');
    mkdirSync(fresh);
    const made = await store(['migrate-schema', '--data-dir', fresh], env, tmp.dir);
    assert.equal(made.code, 0, made.stderr);
  });

  it('backs up a SQLite store online into a copy that audit verify accepts, and never overwrites', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const live = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 50; i++) await live.audit.append([anEvent('request.created', { time: timeAt(i) })]);
    mkdirSync(path.join(tmp.dir, 'backup'));
    const copy = path.join(tmp.dir, 'backup', 'countersign.db');
    // The bot keeps writing while the copy is made.
    const writing = Promise.all(Array.from({ length: 20 }, (_, i) => live.audit.append([anEvent('execution.progressed', { time: timeAt(100 + i) })])));
    const r = await store(['backup', copy, '--data-dir', dataDir], {}, tmp.dir);
    await writing;
    await live.close();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^Backed up ${databaseFile(dataDir).replace(/[.]/g, '\\.')} to ${copy.replace(/[.]/g, '\\.')}\\.\nSource: ${copy.replace(/[.]/g, '\\.')} \\(the copy\\)\n`));
    assert.match(r.stdout, /Audit chain intact: \d+ records/);
    assert.match(r.stdout, /Checkpoints: not checked here, only the copy's hash chain\. To check the copy against the signed checkpoints/);
    const v = await audit(['verify', '--data-dir', path.join(tmp.dir, 'backup')]);
    assert.equal(v.code, 0, v.stdout);
    const again = await store(['backup', copy, '--data-dir', dataDir], {}, tmp.dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists: a backup never overwrites/);
    // A folder given for the copy, as one would give it to cp: named as a folder, and what to give instead.
    const folder = path.join(tmp.dir, 'backup');
    const intoFolder = await store(['backup', folder, '--data-dir', dataDir], {}, tmp.dir);
    assert.equal(intoFolder.code, 1);
    assert.equal(intoFolder.stderr, `error: ${folder} is a folder: a backup is written to a new file, not into a folder; give the new file's path, e.g. ${path.join(folder, 'countersign-backup.db')}\n`);
    assert.deepEqual(readdirSync(folder), ['countersign.db'], 'nothing written into it');
    const onPg = await store(['backup', path.join(tmp.dir, 'x.db')], env, tmp.dir);
    assert.match(onPg.stderr, /PostgreSQL is backed up by the server/);
  });
});

describe('countersign store backup of a database that is not Countersign\'s', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('names the source, not the copy, and leaves no copy behind', async () => {
    const other = path.join(tmp.dir, 'other');
    mkdirSync(other);
    const foreign = new Database(databaseFile(other));
    foreign.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    foreign.close();
    const text = path.join(tmp.dir, 'text');
    mkdirSync(text);
    writeFileSync(databaseFile(text), 'not a database\n');
    mkdirSync(path.join(tmp.dir, 'backup'));
    // A file that does not begin as a SQLite database is refused before SQLite opens it (as an emptied one is).
    for (const [dir, said, why] of [
      [other, '', /is not a Countersign database: it has no audit_log table/],
      [text, 'the database file ', /is not a SQLite database \(its 15 bytes do not begin as one\): it holds no Countersign database, and was not opened/],
    ] as const) {
      const copy = path.join(tmp.dir, 'backup', `${path.basename(dir)}.db`);
      const r = await store(['backup', copy, '--data-dir', dir], {}, tmp.dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error: ${said}${databaseFile(dir).replace(/[.\\/]/g, '\\$&')} ${why.source}`));
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'backup')), []);
    }
  });
});

describe('countersign store backup: the copy is one file', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('leaves no -wal or -shm beside the copy, under its name or its temporary one, even once verified again', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const live = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 20; i++) await live.audit.append([anEvent('request.created', { time: timeAt(i) })]);
    const backupDir = path.join(tmp.dir, 'backup');
    mkdirSync(backupDir);
    const copy = path.join(backupDir, 'countersign.db');
    // Taken while the bot holds its store open, in WAL mode, as the online backup is meant to be.
    const r = await store(['backup', copy, '--data-dir', dataDir], {}, tmp.dir);
    await live.close();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Audit chain intact: 20 records/);
    assert.deepEqual(readdirSync(backupDir), ['countersign.db']);
    const opened = new Database(copy, { readonly: true, fileMustExist: true });
    try {
      assert.equal(opened.pragma('journal_mode', { simple: true }), 'delete', 'the copy is not in WAL mode, so no open of it makes a -wal or -shm');
    } finally {
      opened.close();
    }
    const v = await audit(['verify', '--data-dir', backupDir]);
    assert.equal(v.code, 0, v.stdout);
    assert.deepEqual(readdirSync(backupDir), ['countersign.db'], 'verifying the copy leaves nothing beside it either');
  });
});

describe('countersign store backup stopped partway', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  let backupDir: string;
  let copy: string;
  beforeEach(async () => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
    const live = await openSqliteStore({ file: databaseFile(dataDir) });
    // Large enough (over 1,000 pages) for the copy to take several steps.
    for (let i = 0; i < 200; i++) await live.audit.append([anEvent('request.created', { time: timeAt(i), data: { note: 'x'.repeat(20_000) } })]);
    await live.close();
    backupDir = path.join(tmp.dir, 'backup');
    mkdirSync(backupDir);
    copy = path.join(backupDir, 'countersign.db');
  });
  afterEach(() => tmp.remove());

  it('never has a file under the name while it copies, and leaves nothing at all when the copy fails midway', async () => {
    const seen: { atName: boolean; copied: number }[] = [];
    const failing = backupSqliteStore(databaseFile(dataDir), copy, (p) => {
      seen.push({ atName: existsSync(copy), copied: p.totalPages - p.remainingPages });
      if (seen.length === 3) throw new Error('the disk went away');
    });
    await assert.rejects(failing, /the disk went away/);
    assert.equal(seen.length, 3);
    assert.ok(seen[2].copied > 0, 'the copy had begun when it failed');
    assert.deepEqual(seen.map((s) => s.atName), [false, false, false], 'nothing under the name while the copy is made (a kill then leaves none)');
    assert.deepEqual(readdirSync(backupDir), [], 'no partial copy under the name or beside it');
    const r = await store(['backup', copy, '--data-dir', dataDir], {}, tmp.dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Audit chain intact: 200 records/);
  });

  it('writes its copy only into a file it made: a link or journal planted under its temporary name is refused, and its target left alone', async () => {
    // Empty: SQLite takes it as an empty database and would write the whole copy over it.
    const victim = path.join(tmp.dir, 'someone-elses-file');
    writeFileSync(victim, '');
    const temp = partialNameOf(copy);
    for (const planted of [temp, `${temp}-journal`]) {
      symlinkSync(victim, planted);
      await assert.rejects(backupSqliteStore(databaseFile(dataDir), copy), (err: Error) => err.message.startsWith(`${planted} is already there, and this backup did not make it`));
      assert.equal(readFileSync(victim, 'utf8'), '', planted);
      assert.ok(lstatSync(planted).isSymbolicLink(), 'what was planted is left as evidence');
      assert.ok(!existsSync(copy));
      unlinkSync(planted);
    }
    await backupSqliteStore(databaseFile(dataDir), copy);
    assert.ok(existsSync(copy));
  });

  it('killed mid-copy, leaves nothing under the name; the next backup is not refused and removes what it left', async () => {
    // A backup process SIGKILLed by itself once the copy is under way, as an operator's kill -9 would.
    const script = `require(${JSON.stringify(path.resolve('src/store/sqlite/backup.ts'))}).backupSqliteStore(${JSON.stringify(databaseFile(dataDir))}, ${JSON.stringify(copy)}, (p) => {
      if (p.totalPages - p.remainingPages >= 400) process.kill(process.pid, 'SIGKILL');
    });`;
    const killed = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script]);
    assert.equal(killed.signal, 'SIGKILL', String(killed.stderr));
    assert.ok(!existsSync(copy), 'nothing under the name');
    const left = readdirSync(backupDir);
    assert.ok(left.includes(`countersign.db.partial-${killed.pid}`), left.join(', '));
    const r = await store(['backup', copy, '--data-dir', dataDir], {}, tmp.dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Removed ${copy.replace(/[.\\/]/g, '\\$&')}\\.partial-${killed.pid}, left by an earlier backup that did not finish\\.`));
    assert.match(r.stdout, /Audit chain intact: 200 records/);
    assert.ok(!readdirSync(backupDir).some((f) => f.includes('.partial-')), readdirSync(backupDir).join(', '));
  });
});
