/**
 * What PostgreSQL adds to the contract: several instances (pools) on one database, the schema's
 * own defences, the bytes SQLite would write, and startup failures that say what to do.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import pg from 'pg';
import { BreakGlassLimitError, CommitOutcomeUnknownError, DuplicateRequestError, VersionConflictError } from '../../src/app/ports';
import type { RequestQuery } from '../../src/app/ports';
import type { DownloadLink } from '../../src/audit/ports';
import { openPostgresAuditReader, openPostgresStore, POSTGRES_MIGRATIONS, RUNTIME_ROLE, verifyPostgresAuditLog } from '../../src/store/postgres';
import type { PostgresConnectionOptions, PostgresStore } from '../../src/store/postgres';
import { explainConnectionError } from '../../src/store/postgres/connection';
import { postgresRequestIndexLeavingOut } from './index-tamper';
import { appendQuery, READ_HEAD, templatesOf } from '../../src/store/postgres/chain-append';
import { migratePostgres } from '../../src/store/postgres/migrations';
import { requestListQuery } from '../../src/store/postgres/requests';
import { sealRecord } from '../../src/audit/chain/chain';
import type { AuditRecord } from '../../src/domain/audit';
import { uuidv7 } from '../../src/store/ids';
import { INPUT_LIMITS } from '../../src/domain/input-limits';
import { openSqliteStore } from '../../src/store/sqlite';
import { freshSchema, holdAfterQuery, schemaPerTest } from '../support/postgres';
import type { TestDatabase } from '../support/postgres';
import { aRequest, alice, anEvent, bob, requestRef, sequentialIds, tempDir, timeAt } from './fixtures';
import type { ApprovalRequest } from '../../src/domain/request';
import { appOnStore } from '../support/app-on-fakes';
import { asked, click, settle } from '../app/steps';
import { collect } from './store-contract';
import { reportMissingProtection } from '../../src/audit/access/deleted-requests';
import { AuditIndexWatch } from '../../src/audit/verify/index-watch';

describe('PostgreSQL store, several instances on one database', function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let schema: string;
  let connection: PostgresConnectionOptions;
  const opened: PostgresStore[] = [];

  const open = async (extra: Partial<Parameters<typeof openPostgresStore>[0]> = {}) => {
    const s = await openPostgresStore({ connection, ...extra });
    opened.push(s);
    return s;
  };
  const superuser = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = await db.superuser();
    try {
      await c.query(`SET search_path = ${schema}`);
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  /**
   * The plan a request list gets where reading the table is dear (as it is for a long history), and
   * the ids it reads that way.
   */
  const planAndIds = (query: RequestQuery) => {
    const { text, values } = requestListQuery(query);
    return superuser(async (c) => {
      await c.query('SET enable_seqscan = off');
      const explained = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
      const rows = (await c.query<{ body: string }>(text, values)).rows.map((r) => (JSON.parse(r.body) as ApprovalRequest).id);
      return [explained, rows] as const;
    });
  };

  const database = schemaPerTest();
  beforeEach(() => {
    db = database.db();
    schema = database.schema();
    connection = { ...db.connection, schema };
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('keeps one gapless chain when two instances append at once, and verification accepts it', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const appenders = Array.from({ length: 40 }, (_, w) => (async () => {
      for (let i = 0; i < 10; i++) await (w % 2 ? a : b).audit.append([anEvent('execution.progressed', { data: { w, i } }), anEvent('execution.progressed', { data: { w, i, second: true } })]);
    })());
    await Promise.all(appenders);
    const records = await collect(a.audit.read());
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 800 }, (_, i) => i + 1));
    const v = await verifyPostgresAuditLog(a.pool, a.target);
    assert.equal(v.ok, true, v.problem?.message);
    assert.equal(v.count, 800);
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(await b.audit.head(), { seq: 800, hash: records[799].hash });
  });

  it('appends what every caller appended in the same turn in one transaction, again after each commit', async () => {
    const s = await open();
    let transactions = 0;
    // The writer takes a client for each transaction (so does a read: none is made until the appends are done).
    const connect = s.pool.connect.bind(s.pool) as (...args: unknown[]) => unknown;
    (s.pool as unknown as { connect: typeof connect }).connect = (...args) => {
      if (args.length === 0) transactions++;
      return connect(...args);
    };
    // 25 callers, each appending again as soon as its last append committed (as a busy instance does).
    await Promise.all(Array.from({ length: 25 }, async (_, w) => {
      for (let i = 0; i < 4; i++) await s.audit.append([anEvent('execution.progressed', { data: { w, i } })]);
    }));
    assert.equal(transactions, 4, 'one transaction for each round of 25 appends, not a lone first one and the rest after');
    assert.equal((await s.audit.head())?.seq, 100);
  });

  it('commits the request updates of the same turn in one transaction, each with its own outcome', async () => {
    const s = await open();
    const requests = Array.from({ length: 10 }, (_, i) => aRequest(`req-${i}`));
    await Promise.all(requests.map((r) => s.requests.insert(r, [anEvent('request.created', { request: requestRef(r.id) })])));
    let transactions = 0;
    const connect = s.pool.connect.bind(s.pool) as (...args: unknown[]) => unknown;
    (s.pool as unknown as { connect: typeof connect }).connect = (...args) => {
      if (args.length === 0) transactions++;
      return connect(...args);
    };
    // Ten approvals and, for req-3, a second one from version 1 that must lose alone.
    const settled = await Promise.allSettled([
      ...requests.map((r) => s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved', { request: requestRef(r.id) })])),
      s.requests.update({ ...requests[3], version: 2, state: 'rejected' }, 1, [anEvent('request.rejected', { request: requestRef('req-3') })]),
    ]);
    assert.deepEqual(settled.map((x) => x.status), [...Array(10).fill('fulfilled'), 'rejected']);
    assert.ok(settled[10].status === 'rejected' && settled[10].reason instanceof VersionConflictError);
    assert.equal(transactions, 1);
    const records = await collect(s.audit.read());
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(records.filter((r) => r.type === 'request.approved').length, 10);
    assert.ok(!records.some((r) => r.type === 'request.rejected'));
    assert.equal((await s.requests.get('req-3'))?.state, 'approved');
  });

  it('lets exactly one of two instances win a compare-and-swap, with only its audit records', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const r = aRequest('req-1');
    await a.requests.insert(r, [anEvent('request.created')]);
    const tries = Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? a : b).requests.update({ ...r, version: 2, state: 'approved', outcomeDetail: `writer ${i}` }, 1, [anEvent('request.approved', { data: { writer: i } })]),
    );
    const results = await Promise.allSettled(tries);
    const won = results.flatMap((x, i) => (x.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1);
    for (const x of results) if (x.status === 'rejected') assert.ok(x.reason instanceof VersionConflictError, String(x.reason));
    assert.equal((await b.requests.get('req-1'))?.outcomeDetail, `writer ${won[0]}`);
    const approved = await collect(a.audit.read({ types: ['request.approved'] }));
    assert.deepEqual(approved.map((e) => e.data), [{ writer: won[0] }]);
    assert.deepEqual((await a.auditAccess.requestVersions('req-1')).map((v) => v.version), [1, 2]);
  });

  it('stores no more break-glass uses under a limit than it allows when two instances store them at once', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const use = (i: number) =>
      aRequest(`use-${i}`, { state: 'approved', createdAt: timeAt(i), updatedAt: timeAt(i), breakGlass: { reason: 'outage', usedAt: timeAt(i), reviewDueAt: timeAt(86_400) } });
    const tries = Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).requests.insert(use(i + 1), [anEvent('breakglass.used')], { count: 3, since: timeAt(0) }));
    const results = await Promise.allSettled(tries);
    assert.equal(results.filter((x) => x.status === 'fulfilled').length, 3);
    for (const x of results) if (x.status === 'rejected') assert.ok(x.reason instanceof BreakGlassLimitError, String(x.reason));
    assert.equal((await collect(a.audit.read({ types: ['breakglass.used'] }))).length, 3);
  });

  it('hands a download link to exactly one of many claims from two instances', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const link: DownloadLink = {
      tokenHash: 'f'.repeat(64),
      linkId: 'link-1',
      format: 'jsonl',
      filter: {},
      requestedBy: alice,
      createdAt: timeAt(0),
      expiresAt: timeAt(600),
    };
    await a.auditAccess.saveDownloadLink(link, [anEvent('audit.export_link_issued')]);
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).auditAccess.claimDownloadLink(link.tokenHash, timeAt(10 + i))));
    assert.equal(claims.filter((c) => c.ok).length, 1);
    for (const c of claims) if (!c.ok) assert.equal(c.reason, 'used');
    assert.deepEqual(await a.auditAccess.claimDownloadLink('0'.repeat(64), timeAt(30)), { ok: false, reason: 'unknown' });
  });

  it('lets one of two instances claim a card version, and neither an older one after it nor a newer one while it is held', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const card = { conversationId: 'conv-1', activityId: 'act-1' };
    await a.cards.saveCardMessage('req-1', card);
    const lease = (holder: string) => ({ holder, ms: 60_000 });
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).cards.claimCardVersion('req-1', card, 4, lease(`i${i}`))));
    assert.equal(claims.filter((c) => c === 'claimed').length, 1, claims.join());
    const holder = `i${claims.indexOf('claimed')}`;
    assert.equal(await a.cards.claimCardVersion('req-1', card, 3, lease('x')), 'outdated');
    assert.equal(await b.cards.claimCardVersion('req-1', card, 3, lease('x')), 'outdated');
    assert.equal(await b.cards.claimCardVersion('req-1', card, 5, lease('x')), 'busy');
    await a.cards.releaseCardVersion('req-1', card, 4, holder);
    assert.equal(await b.cards.claimCardVersion('req-1', card, 5, lease('x')), 'claimed');
  });

  it('refuses UPDATE, DELETE and TRUNCATE of the audit tables, even for the superuser', async () => {
    const s = await open();
    await s.requests.insert(aRequest('req-1'), [anEvent('request.created')]);
    await s.auditAccess.saveCheckpoint({ seq: 1, hash: 'h', time: timeAt(1), keyId: 'k', signature: 's' }, []);
    await superuser(async (c) => {
      for (const table of ['audit_log', 'audit_checkpoints', 'request_versions']) {
        await assert.rejects(c.query(`UPDATE ${table} SET ${table === 'request_versions' ? 'version = version' : 'seq = seq'}`), /append-only/);
        await assert.rejects(c.query(`DELETE FROM ${table}`), /append-only/);
        await assert.rejects(c.query(`TRUNCATE ${table}`), /append-only/);
      }
      await assert.rejects(
        c.query(`INSERT INTO audit_log (seq, id, time, type, prev_hash, hash, record) VALUES (5, 'x', 't', 'request.created', 'p', 'h', '{}')`),
        /appended in sequence/,
      );
    });
    assert.equal((await collect(s.audit.read())).length, 1);
  });

  it('keeps a session\'s temporary audit_log from standing in for the real one where the chain\'s trigger reads the head', async () => {
    const s = await open();
    await s.requests.insert(aRequest('req-1'), [anEvent('request.created')]);
    await superuser(async (c) => {
      // pg_temp comes first in a session's own search path: the trick a second security review used.
      await c.query('CREATE TEMP TABLE audit_log (seq bigint, hash text)');
      await c.query("INSERT INTO pg_temp.audit_log VALUES (999, 'forged-prev')");
      await assert.rejects(
        c.query(`INSERT INTO ${schema}.audit_log (seq, id, time, type, prev_hash, hash, record) VALUES (1000, 'x', 't', 'breakglass.ratified', 'forged-prev', 'h', '{}')`),
        /appended in sequence/,
      );
    });
    assert.equal((await collect(s.audit.read())).length, 1);
  });

  it('records a download link\'s export once: a used link cannot be pointed at another export', async () => {
    const s = await open();
    const link: DownloadLink = { tokenHash: 'e'.repeat(64), linkId: 'link-2', format: 'jsonl', filter: {}, requestedBy: alice, createdAt: timeAt(0), expiresAt: timeAt(600) };
    await s.auditAccess.saveDownloadLink(link, [anEvent('audit.export_link_issued')]);
    await s.auditAccess.saveExportManifest('export-1', timeAt(1), { exportId: 'export-1' }, [], link.tokenHash);
    await superuser(async (c) => {
      await assert.rejects(c.query(`UPDATE audit_downloads SET export_id = 'export-2' WHERE token_hash = $1`, [link.tokenHash]), /export is recorded once/);
    });
    assert.equal((await s.auditAccess.getDownloadLink(link.tokenHash))?.exportId, 'export-1');
  });

  it('stops writing, says so in readiness and tells once, when the audit log was emptied under the running instances', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    const b = await open();
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    await b.audit.append([anEvent('request.created')]);
    assert.equal(await a.ping(), true);
    // Emptied as a superuser can: around the append-only triggers (the replica role runs no triggers).
    await superuser(async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('TRUNCATE audit_log, request_versions, requests');
    });
    // The other instance appends into the emptied log first, so readiness sees a head below record 4.
    await b.audit.append([anEvent('request.created')]);
    assert.equal(await a.ping(), false);
    assert.match(a.writeReadiness().problem ?? '', /^the audit log of .* went back: this instance had seen it reach record 4, and it went back to record 1 .*Countersign must be restarted/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1, 'told once');
    await assert.rejects(a.audit.append([anEvent('request.created')]), /went back/);
    await assert.rejects(a.requests.insert(aRequest('req-9'), [anEvent('request.created')]), /went back/);
    assert.equal(a.storageFault(stopped[0]), 'damaged');
  });

  it('stops writing and tells once when a table it writes was dropped under it; a start then names the table and what to do', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    await a.audit.append([anEvent('request.created')]);
    await superuser((c) => c.query('DROP TABLE request_versions'));
    await assert.rejects(a.requests.insert(aRequest('req-7'), [anEvent('request.created')]), /^StoreSchemaGoneError: the table request_versions is gone from .* \(dropped or renamed while Countersign ran\): nothing more is written\. Countersign must be restarted once the database is restored from a backup/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1, 'told once: the bot stops');
    await assert.rejects(a.audit.append([anEvent('request.created')]), /request_versions is gone/, 'no write after it, whatever its table');
    assert.equal(a.storageFault(stopped[0]), 'damaged');
    await superuser((c) => c.query('DROP TABLE audit_log CASCADE'));
    await assert.rejects(open(), /the table audit_log is missing from .*: it was dropped or renamed\. Restore the database from a backup/);
  });

  it('stops as well when a read or the readiness probe finds a table gone, not only a write: the person is told the database changed', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    const probed: Error[] = [];
    const b = await open({ onStopped: (err) => probed.push(err) });
    await a.requests.insert(aRequest('req-read'), [anEvent('request.created')]);
    await superuser((c) => c.query('DROP TABLE requests CASCADE'));
    const read = await a.requests.get('req-read').then(() => assert.fail('the read went through'), (err: unknown) => err as Error);
    assert.match(read.message, /^the table requests is gone from .* \(dropped or renamed while Countersign ran\): nothing more is written/);
    assert.equal(a.storageFault(read), 'damaged', 'told as the database changed under it, not an internal error');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1, 'told once: the bot stops');
    await assert.rejects(a.audit.append([anEvent('request.created')]), /requests is gone/);
    assert.equal(await a.ping(), false);

    // An instance whose only contact with the database is the readiness probe stops too.
    assert.equal(await b.ping(), false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(probed.length, 1);
    assert.match(probed[0].message, /the table requests is gone/);
  });

  it('is not ready once a superuser truncated the saved versions under it, its audit log intact, naming the request it had written', async () => {
    const a = await open();
    await a.requests.insert(aRequest('req-saved'), [anEvent('request.created')]);
    assert.equal(await a.ping(), true);
    await superuser(async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('TRUNCATE request_versions');
    });
    assert.equal(await a.ping(), false);
    assert.match(a.writeReadiness().problem ?? '', /^request req-saved, which this instance saw stored at version 1, has lost that saved version from the table request_versions of postgres:\/\/.*restore the database from a backup, then restart Countersign$/);
  });

  it("stores every id an activity or Teams may bring at the input gate's limit in bytes in its indexed columns: within PostgreSQL's btree entry limit", async () => {
    const a = await open();
    // Characters of three UTF-8 bytes each that do not repeat (no compression makes an index entry smaller), up to `bytes`.
    let next = 0;
    const wide = (bytes: number) => Array.from({ length: Math.floor(bytes / 3) }, () => String.fromCharCode(0x4e00 + ((next++ * 7919) % 20000))).join('') + 'x'.repeat(bytes % 3);
    const [channel, conversation, user, activity] = [wide(INPUT_LIMITS.channelId), wide(INPUT_LIMITS.conversationId), wide(INPUT_LIMITS.userId), wide(INPUT_LIMITS.activityId)];
    await a.requests.insert(aRequest('req-ids'), [anEvent('request.created')]);
    await a.conversations.saveReference(conversation, { conversation: { id: conversation } });
    await a.cards.saveCardMessage('req-ids', { conversationId: conversation, activityId: activity });
    await a.conversations.savePersonalReference(wide(INPUT_LIMITS.tenantId), wide(INPUT_LIMITS.aadObjectId), { conversation: { id: conversation } });
    // botbuilder's PrivateConversationState key: three of them in one indexed column.
    const key = `${channel}/conversations/${conversation}/users/${user}/`;
    await a.dialogState.write({ [key]: { dialog: 'open' } });
    assert.deepEqual(Object.keys(await a.dialogState.read([key])), [key]);
    assert.deepEqual(await a.cards.getCardMessages('req-ids'), [{ conversationId: conversation, activityId: activity }]);
    // What the limits in characters alone let through (a Latin-1 conversation id of 512, two bytes each; a user id of 512 in
    // three bytes each): the driver's error, which the gate now keeps from the store.
    await assert.rejects(a.dialogState.write({ [`${wide(192)}/conversations/${wide(1024)}/users/${wide(1536)}/`]: { dialog: 'open' } }), /index row size \d+ exceeds btree version \d+ maximum 2704/);
  });

  it('names the requests whose row was deleted by hand while their saved versions remain', async () => {
    const a = await open();
    await a.requests.insert(aRequest('req-kept'), [anEvent('request.created')]);
    const gone = aRequest('req-gone');
    await a.requests.insert(gone, [anEvent('request.created')]);
    await a.requests.update({ ...gone, version: 2, state: 'scheduled' }, 1, []);
    assert.deepEqual(await a.auditAccess.requestsWithoutRow(), []);
    await superuser((c) => c.query("DELETE FROM requests WHERE id = 'req-gone'"));
    assert.deepEqual((await a.auditAccess.requestsWithoutRow()).map((r) => [r.id, r.state]), [['req-gone', 'scheduled']]);
    const verified = await verifyPostgresAuditLog(a.pool, 'test');
    assert.deepEqual(verified.requestsWithoutRow.map((r) => [r.id, r.state]), [['req-gone', 'scheduled']]);
  });

  it('finds at its own next commit that the log went back, when it appends first', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    await superuser(async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('TRUNCATE audit_log');
    });
    // This commit lands (seq 1 of the emptied log); it is the last.
    const [landed] = await a.audit.append([anEvent('request.created')]);
    assert.equal(landed.seq, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1);
    assert.match(stopped[0].message, /had seen it reach record 3, and it went back to record 0 \(its tables were emptied, truncated or replaced while Countersign ran\)/);
    await assert.rejects(a.audit.append([anEvent('request.created')]), /went back/);
  });

  /** As an intruder with a superuser's rights would: record `seq` replaced by a re-sealed copy saying something else, linked as before. */
  const resealRecord = (seq: number) =>
    superuser(async (c) => {
      await c.query('SET session_replication_role = replica');
      const old = (await c.query<{ record: string }>('SELECT record FROM audit_log WHERE seq = $1', [seq])).rows[0];
      const prev = (await c.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [seq - 1])).rows[0];
      const { seq: _s, id: _i, prevHash: _p, hash: _h, schemaVersion: _v, ...draft } = JSON.parse(old.record) as AuditRecord;
      const { record, text } = sealRecord({ ...draft, outcome: { result: 'ok', detail: 'nothing to see' } }, prev ? { seq: seq - 1, hash: prev.hash } : undefined, uuidv7());
      await c.query('DELETE FROM audit_log WHERE seq = $1', [seq]);
      await c.query('INSERT INTO audit_log (seq, id, time, type, prev_hash, hash, record) VALUES ($1, $2, $3, $4, $5, $6, $7)', [record.seq, record.id, record.time, record.type, record.prevHash, record.hash, text]);
      return record.hash;
    });

  it('stops writing at its next commit when the last record it wrote was changed and re-sealed under it', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    await resealRecord(3);
    // The append whose record links to the changed one finds it (the one that lands onto it is the last).
    await a.audit.append([anEvent('request.approved')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1, 'told once');
    assert.match(stopped[0].message, /^the audit log in .* was rewritten under Countersign: record 3, which it had written or seen with hash [0-9a-f]{16}…, now has hash [0-9a-f]{16}…/);
    await assert.rejects(a.audit.append([anEvent('request.approved')]), /was rewritten/);
    await assert.rejects(a.requests.insert(aRequest('req-9'), [anEvent('request.created')]), /was rewritten/);
    assert.equal(await a.ping(), false);
  });

  it('finds in readiness that a record it saw was changed, when another instance appended after it', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    const b = await open();
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    assert.equal(await a.ping(), true);
    await b.audit.append([anEvent('request.created')]);
    assert.equal(await a.ping(), true, 'another instance appending is no rewrite');
    await resealRecord(4);
    await b.audit.append([anEvent('request.created')]).catch(() => undefined);
    assert.equal(await a.ping(), false);
    assert.match(a.writeReadiness().problem ?? '', /record 4, which it had written or seen with hash [0-9a-f]{16}…, now has hash/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1);
    await assert.rejects(a.audit.append([anEvent('request.created')]), /was rewritten/);
  });

  it('is not misled by its own commit landing while readiness reads the head', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    await a.audit.append([anEvent('request.created')]);
    // Readiness reads the head (record 1), and this instance commits record 2 before the answer is compared.
    const { reached: read, release } = holdAfterQuery(a.pool, READ_HEAD);
    const probe = a.ping();
    await read;
    await a.audit.append([anEvent('request.created')]);
    release();
    assert.equal(await probe, true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(stopped, []);
  });

  it('refuses a checkpoint over a log that went back, before its COMMIT', async () => {
    const stopped: Error[] = [];
    const a = await open({ onStopped: (err) => stopped.push(err) });
    const b = await open();
    for (let i = 0; i < 3; i++) await a.audit.append([anEvent('request.created')]);
    await superuser(async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('TRUNCATE audit_log, request_versions, requests, audit_checkpoints');
    });
    await b.audit.append([anEvent('request.created')]);
    const head = (await a.pool.query<{ seq: string; hash: string }>(READ_HEAD)).rows[0];
    await assert.rejects(a.auditAccess.saveCheckpoint({ seq: Number(head.seq), hash: head.hash, time: timeAt(9), keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]), /went back: this instance had seen it reach record 3, and it went back to record 1/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped.length, 1);
    assert.equal((await superuser((c) => c.query('SELECT count(*)::int AS n FROM audit_log'))).rows[0].n, 1, 'nothing of the checkpoint landed');
  });

  it('names its own storage failures: a full disk or I/O error as the disk\'s, a broken connection as unreachable', async () => {
    const store = await open();
    const raised = (errcode: string) => store.pool.query(`DO $$ BEGIN RAISE EXCEPTION 'fault' USING ERRCODE = '${errcode}'; END $$`).catch((err: unknown) => err);
    assert.equal(store.storageFault(await raised('disk_full')), 'disk');
    assert.equal(store.storageFault(await raised('io_error')), 'disk');
    assert.equal(store.storageFault(await raised('unique_violation')), undefined);
    // A read that gave up on another session's lock (lock_timeout): the database is busy.
    assert.equal(store.storageFault(await raised('lock_not_available')), 'busy');
    const refused = await new pg.Client({ host: '127.0.0.1', port: 1 }).connect().catch((err: unknown) => err);
    assert.equal(store.storageFault(refused), 'unreachable');
    await store.requests.insert(aRequest('CS-1'), []);
    const duplicate = await store.requests.insert(aRequest('CS-1'), []).catch((err: unknown) => err);
    assert.ok(duplicate instanceof DuplicateRequestError);
    assert.equal(store.storageFault(duplicate), undefined, 'a refused write is not a storage failure');
    // A commit whose connection broke: its outcome unknown, the person is not told nothing changed.
    assert.equal(store.storageFault(new CommitOutcomeUnknownError(refused)), 'unconfirmed');
  });

  it('tells the rest of class 53 from a full disk, and a cancelled statement or a read-only server from an internal error', async () => {
    const store = await open();
    const raised = (errcode: string) => store.pool.query(`DO $$ BEGIN RAISE EXCEPTION 'fault' USING ERRCODE = '${errcode}'; END $$`).catch((err: unknown) => err);
    // Only 53100 is the disk; the server short of connections, memory or a configured limit is overloaded.
    assert.equal(store.storageFault(await raised('too_many_connections')), 'overloaded');
    assert.equal(store.storageFault(await raised('out_of_memory')), 'overloaded');
    assert.equal(store.storageFault(await raised('configuration_limit_exceeded')), 'overloaded');
    assert.equal(store.storageFault(await raised('read_only_sql_transaction')), 'read-only');
    // A real statement_timeout: the server cancels the statement (57014).
    const client = await store.pool.connect();
    const cancelled = await client
      .query("BEGIN; SET LOCAL statement_timeout = '20ms'; SELECT pg_sleep(1)")
      .catch((err: unknown) => err)
      .finally(() => client.query('ROLLBACK').finally(() => client.release()));
    assert.equal((cancelled as { code?: string }).code, '57014');
    assert.equal(store.storageFault(cancelled), 'overloaded');
    // As pg's errors are seen: an object with its SQLSTATE.
    const sqlstate = (code: string) => Object.assign(new Error('fault'), { code });
    assert.equal(store.storageFault(sqlstate('53100')), 'disk');
    assert.equal(store.storageFault(sqlstate('53300')), 'overloaded');
    assert.equal(store.storageFault(sqlstate('57014')), 'overloaded');
    assert.equal(store.storageFault(sqlstate('25006')), 'read-only');
    assert.equal(store.storageFault(sqlstate('55P03')), 'busy');
    assert.equal(store.storageFault(new CommitOutcomeUnknownError(sqlstate('53300'))), 'overloaded');
  });

  it('lets one of two instances win a compare-and-swap, the other told of a conflict, when the database defaults to SERIALIZABLE or REPEATABLE READ', async () => {
    for (const isolation of ['serializable', 'repeatable read']) {
      // A DBA's default for the database: Countersign's sessions keep READ COMMITTED, which the store is built on.
      await superuser((c) => c.query(`ALTER DATABASE ${db.name} SET default_transaction_isolation = '${isolation}'`));
      try {
        const [a, b] = [await open(), await open()];
        const id = `CS-${isolation.replace(' ', '-')}`;
        const r = aRequest(id);
        await a.requests.insert(r, [anEvent('request.created')]);
        const holder = await db.superuser();
        let outcomes: PromiseSettledResult<unknown>[];
        try {
          // Both updates begin (and take their snapshots) while another session holds the row.
          await holder.query(`SET search_path = ${schema}; BEGIN; SELECT id FROM requests WHERE id = '${id}' FOR UPDATE`);
          const racing = [a, b].map((s, i) => s.requests.update({ ...r, version: 2, state: i === 0 ? 'approved' : 'rejected' }, 1, [anEvent(i === 0 ? 'request.approved' : 'request.rejected')]));
          const waiting = () => superuser((c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`));
          while ((await waiting()).rows[0].n < 2) await new Promise((resolve) => setTimeout(resolve, 20));
          await holder.query('ROLLBACK');
          outcomes = await Promise.allSettled(racing);
        } finally {
          await holder.end();
        }
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `${isolation}: ${outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok')).join('; ')}`);
        const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
        assert.ok(lost.reason instanceof VersionConflictError, `${isolation}: ${String(lost.reason)}`);
        assert.equal((await verifyPostgresAuditLog(a.pool, a.target)).ok, true);
      } finally {
        await superuser((c) => c.query(`ALTER DATABASE ${db.name} RESET default_transaction_isolation`));
        for (const s of opened.splice(0)) await s.close();
      }
    }
  });

  it("finds the break-glass uses waiting for review by their index, not by every ended request's body, also once a schema of version 12 is upgraded", async () => {
    const used = { reason: 'outage', usedAt: timeAt(1), reviewDueAt: timeAt(100) };
    const s = await open();
    await s.requests.insert(aRequest('waiting', { state: 'succeeded', breakGlass: used }), []);
    await s.requests.insert(aRequest('escalated', { state: 'failed', breakGlass: { ...used, overdueAt: timeAt(120) } }), []);
    await s.requests.insert(aRequest('reviewed', { state: 'succeeded', breakGlass: { ...used, review: { verdict: 'ratified', by: bob, at: timeAt(40) } } }), []);
    await s.requests.insert(aRequest('plain', { state: 'succeeded' }), []);
    await s.close();
    opened.splice(opened.indexOf(s), 1);
    // The schema as version 12 left it: no index of the uses waiting.
    await superuser((c) => c.query('DROP INDEX requests_review_waiting; DROP INDEX requests_outcome_owed; DROP INDEX requests_state_created; DELETE FROM schema_migrations WHERE version > 12'));
    const upgraded = await open();
    const ended: ApprovalRequest['state'][] = ['succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
    assert.deepEqual((await upgraded.requests.list({ states: ended, reviewWaiting: true })).map((r) => r.id).sort(), ['escalated', 'waiting']);
    // The plan pending's query gets, a page at a time, where reading the table is dear (as it is for a
    // long history); and what it reads through the index as upgraded: the rows already there that wait.
    for (const [query, expected] of [[{ states: ended, reviewWaiting: true }, ['escalated', 'waiting']], [{ states: ended, reviewWaiting: true, limit: 1, offset: 1 }, ['escalated']]] as const) {
      const [plan, ids] = await planAndIds(query);
      assert.match(plan, /Index Scan using requests_review_waiting on requests/);
      assert.doesNotMatch(plan, /requests_state_expires|Seq Scan/);
      assert.deepEqual([...ids].sort(), expected);
    }
  });

  it('finds the requests whose outcome message is owed by their index, not by the body of every request changed within the day, also once a schema of version 13 is upgraded', async () => {
    const owed = { since: timeAt(1), takenAt: timeAt(1), attempts: 1 };
    const s = await open();
    await s.requests.insert(aRequest('owed', { state: 'succeeded', updatedAt: timeAt(1), outcomeMessage: owed }), []);
    await s.requests.insert(aRequest('settled', { state: 'succeeded', updatedAt: timeAt(1) }), []);
    await s.requests.insert(aRequest('earlier', { state: 'failed', updatedAt: timeAt(-1000), outcomeMessage: owed }), []);
    await s.close();
    opened.splice(opened.indexOf(s), 1);
    // The schema as version 13 left it: no index of the owed messages.
    await superuser((c) => c.query('DROP INDEX requests_outcome_owed; DROP INDEX requests_state_created; DELETE FROM schema_migrations WHERE version > 13'));
    const upgraded = await open();
    const query = { updatedSince: timeAt(0), outcomeMessageOwed: true };
    assert.deepEqual((await upgraded.requests.list(query)).map((r) => r.id), ['owed']);
    // The sweep's plan where reading the table is dear (as it is for a day of 200,000 requests), and
    // what it reads through the index as upgraded: the rows already there whose message is owed.
    const [plan, ids] = await planAndIds(query);
    assert.match(plan, /Index Scan using requests_outcome_owed on requests/);
    assert.doesNotMatch(plan, /requests_updated|Seq Scan/);
    assert.deepEqual(ids, ['owed']);
    assert.equal((await superuser((c) => c.query<{ v: number }>('SELECT max(version)::int AS v FROM schema_migrations'))).rows[0].v, 16);
  });

  it("finds a requester's open requests on a target by requests_requester, holding a hash of the target, also once a schema of version 14 is upgraded", async () => {
    const s = await open();
    await s.requests.insert(aRequest('mine'), []);
    await s.requests.insert(aRequest('theirs', { requester: bob }), []);
    await s.close();
    opened.splice(opened.indexOf(s), 1);
    // The schema as version 14 left it: the target itself in the index, as long as the target is.
    await superuser((c) =>
      c.query(`DROP INDEX requests_requester; CREATE INDEX requests_requester ON requests (lower(body::jsonb #>> '{requester,aadObjectId}'), (body::jsonb -> 'target'), state); DROP INDEX requests_state_created; DELETE FROM schema_migrations WHERE version > 14`),
    );
    const upgraded = await open();
    const long = 'x'.repeat(200) + String.fromCharCode(...Array.from({ length: 1000 }, (_, i) => 0x4e00 + i * 7));
    const target = { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod', resourceId: `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Web/sites/${long}` };
    await upgraded.requests.insert(aRequest('long', { target }), []);
    const asked: [RequestQuery, string[]][] = [
      [{ states: ['pending'], requester: alice.aadObjectId.toUpperCase(), target: aRequest('x').target }, ['mine']],
      [{ states: ['pending'], requester: alice.aadObjectId, target }, ['long']],
    ];
    for (const [query, expected] of asked) {
      const [plan, ids] = await planAndIds(query);
      assert.match(plan, /Index Scan using requests_requester on requests/);
      assert.deepEqual(ids, expected);
    }
  });

  it('migrates once when several instances start at once', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => open()));
    assert.equal(stores.length, 5);
    const rows = await superuser((c) => c.query('SELECT version FROM schema_migrations'));
    assert.deepEqual(rows.rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
  });

  it('refuses a schema newer than it expects, and an older one it may not upgrade, saying which', async () => {
    const EXPECTED_SCHEMA_VERSION = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
    await (await open()).close();
    await superuser((c) => c.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')"));
    await assert.rejects(open(), new RegExp(`schema is at version 99, newer than this Countersign expects \\(${EXPECTED_SCHEMA_VERSION}\\): upgrade Countersign`));
    const other = freshSchema();
    await superuser((c) => c.query(`CREATE SCHEMA ${other}`));
    await assert.rejects(
      openPostgresStore({ connection: { ...connection, schema: other }, migrate: 'never' }),
      new RegExp(`schema is at version 0, older than this Countersign expects \\(${EXPECTED_SCHEMA_VERSION}\\): run \`countersign store migrate-schema\``),
    );
  });

  it('is not ready once a newer Countersign migrated the schema past what this one knows while it runs, saying so', async () => {
    const s = await open();
    assert.equal(await s.ping(), true);
    const expected = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
    await superuser((c) => c.query(`INSERT INTO schema_migrations (version, name) VALUES (${expected + 1}, 'a newer Countersign''s')`));
    assert.equal(await s.ping(), false);
    assert.equal(
      s.writeReadiness().problem,
      `the database schema was migrated to version ${expected + 1} while this instance runs, newer than this Countersign knows (${expected}): another instance of a newer Countersign migrated it; upgrade this instance (started again as it is, it would be refused)`,
    );
    await superuser((c) => c.query(`DELETE FROM schema_migrations WHERE version = ${expected + 1}`));
    assert.equal(await s.ping(), true);
    // A session holding schema_migrations (a LOCK TABLE left open) neither holds the probe up nor makes it fail.
    const holder = await db.superuser();
    try {
      await holder.query(`SET search_path = ${schema}; BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE`);
      assert.equal(await s.ping(), true, s.writeReadiness().problem);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  it('names a schema that does not exist, and the variable that names it, instead of asking for a migration that cannot run', async () => {
    const missing = `${schema}_none`;
    for (const migrate of ['auto', 'always'] as const) {
      await assert.rejects(
        openPostgresStore({ connection: { ...connection, schema: missing }, migrate }),
        new RegExp(`the schema ${missing} \\(COUNTERSIGN_DATABASE_SCHEMA\\) does not exist in this database: create it as the owner \\(CREATE SCHEMA "${missing}"\\), then run \`countersign store migrate-schema\`; or fix COUNTERSIGN_DATABASE_SCHEMA`),
      );
    }
  });

  it('names a schema that does not exist to the read-only commands too (audit verify, public-key), not as a database that is not Countersign\'s', async () => {
    const missing = `${schema}_none`;
    await assert.rejects(
      openPostgresAuditReader({ ...connection, schema: missing }),
      new RegExp(`the schema ${missing} \\(COUNTERSIGN_DATABASE_SCHEMA\\) does not exist in this database: create it as the owner`),
    );
  });

  it('stores the very bytes SQLite stores for the same events', async () => {
    const tmp = tempDir();
    try {
      const lite = await openSqliteStore({ file: path.join(tmp.dir, 'c.db'), newId: sequentialIds() });
      const pgs = await open({ newId: sequentialIds() });
      const drafts = [
        anEvent('request.created', { request: requestRef('req-é'), outcome: { result: 'ok', detail: 'naïve 🚀 "quoted" \u2028 line\r\nbreak' } }),
        anEvent('approval.granted', { data: { n: 1.5, big: 1e21, nested: { b: [1, { z: null, a: 'x' }], a: true }, '10': 'numeric key' } }),
      ];
      const a = await lite.audit.append(drafts);
      const b = await pgs.audit.append(drafts);
      assert.deepEqual(b, a);
      const liteText = (await collect(lite.audit.readStored())).map((r) => r.text);
      const pgText = (await collect(pgs.audit.readStored())).map((r) => r.text);
      assert.deepEqual(pgText, liteText);
      await lite.close();
    } finally {
      tmp.remove();
    }
  });

  it('names a record a superuser edited with the triggers disabled, and warns while they stay disabled', async () => {
    const s = await open();
    for (let i = 0; i < 10; i++) await s.audit.append([anEvent('request.created', { time: timeAt(i), request: requestRef(`req-${i}`) })]);
    await superuser((c) =>
      c.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
        UPDATE audit_log SET record = replace(record, '"result":"ok"', '"result":"refused"') WHERE seq = 4;`),
    );
    let v = await verifyPostgresAuditLog(s.pool, s.target);
    assert.equal(v.ok, false);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 4);
    assert.match(v.warnings.join(), /audit_log_no_update/);
    await superuser((c) => c.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update'));
    v = await verifyPostgresAuditLog(s.pool, s.target);
    assert.equal(v.problem?.seq, 4);
    assert.deepEqual(v.warnings, []);
  });

  it('names an index a superuser made again to leave records out, its catalog entry edited to look as made; reads that scan see every record', async () => {
    const s = await open();
    for (let i = 0; i < 10; i++) await s.audit.append([anEvent('request.created', { time: timeAt(i), request: requestRef(`req-${i % 2}`) })]);
    let v = await verifyPostgresAuditLog(s.pool, s.target);
    assert.deepEqual([v.ok, v.indexProblems, v.warnings], [true, [], []]);
    // A partial index without record 5, then its predicate in pg_index replaced by the one Countersign's has
    // (taken from a scratch index): pg_get_indexdef shows it as made. An owner cannot: the planner uses a
    // partial index only where a query's WHERE implies its own, which "seq <> 5" never is.
    await superuser((c) => c.query(postgresRequestIndexLeavingOut([5])));
    // Through the index (which the planner takes for a long log; here it is made to), record 5 is gone.
    const counted = await superuser((c) => c.query("SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*)::int AS n FROM audit_log WHERE request_id = 'req-0'"));
    assert.equal((counted as unknown as pg.QueryResult<{ n: number }>[])[2].rows[0].n, 4);
    const other = await open();
    assert.deepEqual((await collect(other.audit.read({ requestId: 'req-0' }, { scan: true }))).map((r) => r.seq), [1, 3, 5, 7, 9]);
    v = await verifyPostgresAuditLog(other.pool, other.target);
    assert.equal(v.ok, true);
    assert.deepEqual(v.indexProblems, [
      "the index audit_log_request holds 9 entries for the 10 records that name a request: 1 of them is missing from it, hidden from whatever reads one request's records through it. The records themselves are as verified; rebuild the index (REINDEX audit_log_request) and find out who changed it",
    ]);
    // Made by hand where it shows: damage too; one gone is a warning.
    await superuser((c) => c.query('CREATE INDEX audit_log_by_type ON audit_log (type); DROP INDEX audit_log_actor_folded; REINDEX INDEX audit_log_request'));
    v = await verifyPostgresAuditLog(other.pool, other.target);
    assert.deepEqual(v.indexProblems, [
      `the index audit_log_by_type on audit_log was not made by Countersign ("CREATE INDEX audit_log_by_type ON ${schema}.audit_log USING btree (type)"): reads may go through it and leave records out, and what it holds is not checked. Drop it: DROP INDEX audit_log_by_type`,
    ]);
    assert.match(v.warnings.join('\n'), /the index audit_log_actor_folded of the audit log is missing .*CREATE INDEX audit_log_actor_folded ON audit_log \(lower\(actor_id\), seq\) WHERE actor_id IS NOT NULL/);
  });

  it('runs nothing a second time for a finished request a superuser set back to approved after making the index by request leave its execution records out', async () => {
    // The planner goes through the index by request for a long log; here every connection of the store is made to.
    await superuser((c) => c.query(`ALTER DATABASE ${db.name} SET enable_seqscan = off`));
    try {
      const f = appOnStore(await open());
      const r = await asked(f, alice, 'delete resource group staging-old');
      await click(f, bob, r, 'approve');
      await settle(f);
      assert.equal((await f.request(r.id)).state, 'succeeded');
      const ran = (await f.audit({ requestId: r.id })).filter((x) => x.type.startsWith('execution.')).map((x) => x.seq);
      // The row as it was right after the approval; the index without the execution's records, its predicate in pg_index put back.
      await superuser(async (c) => {
        const versions = (await c.query<{ body: string }>('SELECT body FROM request_versions WHERE request_id = $1 ORDER BY version', [r.id])).rows.map((x) => JSON.parse(x.body) as ApprovalRequest);
        const version = versions.length + 1;
        const approved = { ...versions.filter((x) => x.state === 'approved').at(-1)!, version };
        await c.query("UPDATE requests SET state = 'approved', version = $2, updated_at = $3, body = $4 WHERE id = $1", [r.id, version, new Date().toISOString(), JSON.stringify(approved)]);
        await c.query(postgresRequestIndexLeavingOut(ran));
      });
      assert.deepEqual((await f.audit({ requestId: r.id })).filter((x) => ran.includes(x.seq)), [], 'read through the index, the execution is gone');

      // A start runs the approved requests (catch-up).
      const calls = () => f.azure.executions.length + f.azure.whatIfCalls.length + f.azure.snapshotCalls.length;
      const before = calls();
      await f.app.catchUp();
      await settle(f);
      assert.equal(calls(), before, 'nothing was sent to Azure, not even a read');
      assert.equal((await f.request(r.id)).state, 'failed');
      const refused = (await collect(f.store.audit.read({ requestId: r.id }, { scan: true }))).at(-1)!;
      assert.deepEqual([refused.type, refused.outcome.reason], ['approval.revoked', 'not-in-audit']);
      assert.match(refused.outcome.detail ?? '', new RegExp(`its execution was started already, and its records read through the database's index by request lack ${ran.length} that the audit log holds`));
      assert.ok(f.log.lines.some((l) => l.level === 'error' && l.index === 'audit_log_request'), 'an error names the index');
    } finally {
      await superuser((c) => c.query(`ALTER DATABASE ${db.name} RESET enable_seqscan`));
    }
  });

  it('says in the log at the next look that a superuser made the index by request leave records out', async () => {
    const s = await open();
    for (let i = 0; i < 10; i++) await s.audit.append([anEvent('request.created', { time: timeAt(i), request: requestRef(`req-${i % 2}`) })]);
    const errors: unknown[] = [];
    const watch = new AuditIndexWatch(s, { error: (fields) => void errors.push(fields), warn: (fields) => void errors.push(fields) }, 3);
    assert.deepEqual(await watch.look(), []);
    await superuser((c) => c.query(postgresRequestIndexLeavingOut([5])));
    await s.audit.append([anEvent('request.approved', { request: requestRef('req-0') })]);
    const problems = [
      "the index audit_log_request holds 10 entries for the 11 records that name a request: 1 of them is missing from it, hidden from whatever reads one request's records through it. The records themselves are as verified; rebuild the index (REINDEX audit_log_request) and find out who changed it",
    ];
    assert.deepEqual(await watch.look(), problems);
    assert.deepEqual(errors, [{ indexes: problems }]);
  });

  it('names the append-only triggers a superuser disabled or dropped, while they stay so', async () => {
    const s = await open();
    const errors: unknown[][] = [];
    const log = { error: (...args: unknown[]) => void errors.push(args) };
    assert.deepEqual(await reportMissingProtection(s, log), []);
    await superuser((c) => c.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints'));
    assert.deepEqual(await reportMissingProtection(s, log), ['audit_log_no_update', 'audit_checkpoints_no_truncate']);
    assert.match(String(errors[0][1]), /ENABLE TRIGGER/);
    await superuser((c) => c.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update'));
    assert.deepEqual(await s.auditAccess.missingProtection(), ['audit_checkpoints_no_truncate']);
    // Set to fire in replica sessions only, a trigger is as silent as a disabled one in the bot's.
    await superuser((c) => c.query('ALTER TABLE audit_log ENABLE REPLICA TRIGGER audit_log_no_delete'));
    assert.deepEqual(await s.auditAccess.missingProtection(), ['audit_log_no_delete', 'audit_checkpoints_no_truncate']);
    await superuser((c) => c.query('ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_delete'));
    assert.deepEqual(await s.auditAccess.missingProtection(), ['audit_checkpoints_no_truncate']);
  });

  it('names the append-only triggers a superuser left in place, enabled, but made to refuse nothing: their function replaced, or one made again for no row', async () => {
    const s = await open();
    assert.deepEqual(await s.auditAccess.missingProtection(), []);
    // The trigger function's body replaced: every trigger stays as it was, and lets each change through.
    await superuser((c) => c.query('CREATE OR REPLACE FUNCTION countersign_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN COALESCE(NEW, OLD); END $$'));
    await superuser((c) => c.query("DROP TRIGGER audit_log_chain ON audit_log; CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW WHEN (false) EXECUTE FUNCTION countersign_audit_chain()"));
    assert.deepEqual(await s.auditAccess.missingProtection(), [
      'audit_log_no_update (changed)',
      'audit_log_no_delete (changed)',
      'audit_log_no_truncate (changed)',
      'audit_log_chain (changed)',
      'audit_checkpoints_no_update (changed)',
      'audit_checkpoints_no_delete (changed)',
      'audit_checkpoints_no_truncate (changed)',
      'function countersign_append_only (changed)',
    ]);
  });

  it('names a rewrite rule, or a trigger not Countersign\'s, a superuser put on the audit log or the checkpoint table: one doing INSTEAD NOTHING, or returning NULL, drops records as they are appended', async () => {
    const s = await open();
    await superuser((c) => c.query("CREATE RULE drop_rejections AS ON INSERT TO audit_log WHERE NEW.type = 'request.rejected' DO INSTEAD NOTHING; CREATE RULE keep_checkpoints AS ON DELETE TO audit_checkpoints DO INSTEAD NOTHING"));
    const errors: unknown[][] = [];
    assert.deepEqual(await reportMissingProtection(s, { error: (...args: unknown[]) => void errors.push(args) }), ['rule drop_rejections', 'rule keep_checkpoints']);
    // A trigger of one's own does the same: BEFORE INSERT returning NULL drops the record.
    await superuser((c) => c.query("CREATE FUNCTION quiet() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; CREATE TRIGGER audit_log_quiet BEFORE INSERT ON audit_log FOR EACH ROW WHEN (NEW.type = 'request.rejected') EXECUTE FUNCTION quiet()"));
    assert.deepEqual(await s.auditAccess.missingProtection(), ["audit_log_quiet (not Countersign's)", 'rule drop_rejections', 'rule keep_checkpoints']);
    assert.equal(errors.length, 1);
    assert.deepEqual((await verifyPostgresAuditLog(s.pool, s.target)).warnings, [
      "the append-only protection of the audit log is missing or disabled (triggers: audit_log_quiet (not Countersign's); rewrite rules added, which can drop or change what is written: drop_rejections): someone changed the database schema by hand",
    ]);
  });

  it('fails the write whose audit record a rule or a trigger not Countersign\'s dropped inside the append, naming the cause, and changes nothing', async () => {
    // A schema of the version before the migration that checks each sealed record is stored: the
    // upgrade replaces the function that seals and inserts the records (later migrations do not).
    const last = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
    const checked = POSTGRES_MIGRATIONS.find((m) => m.name === 'an append fails when a record it sealed is not in audit_log');
    assert.ok(checked, 'the migration that replaced the append function');
    const owner = new pg.Pool({ connectionString: db.url, options: `-c search_path=${schema}` });
    try {
      await migratePostgres(owner, 'always', POSTGRES_MIGRATIONS.filter((m) => m.version < checked.version));
      // A record appended by the function of that version, as an instance of the previous Countersign did.
      const c = await owner.connect();
      try {
        await c.query('BEGIN');
        const q = appendQuery(templatesOf([anEvent('config.loaded', { request: requestRef('req-0') })], uuidv7));
        assert.equal((await c.query(q.text, q.values)).rows.length, 1);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    } finally {
      await owner.end();
    }
    const s = await open();
    assert.equal((await superuser((c) => c.query<{ v: number }>('SELECT max(version)::int AS v FROM schema_migrations'))).rows[0].v, last);
    assert.deepEqual(await s.auditAccess.missingProtection(), [], 'the replaced function is the one the migrations make, its search_path pinned again');
    assert.deepEqual((await superuser((c) => c.query<{ config: string[] }>("SELECT proconfig AS config FROM pg_proc WHERE proname = 'countersign_append_sealed' AND pronamespace = to_regnamespace(current_schema())"))).rows[0].config, [`search_path=${schema}, pg_temp`]);
    await s.requests.insert(aRequest('req-1'), [anEvent('request.created', { request: requestRef('req-1') })]);
    const rejected = (id: string): ApprovalRequest => ({ ...aRequest(id), version: 2, state: 'rejected', rejection: { by: bob, at: timeAt(60) } });

    await superuser((c) => c.query("CREATE RULE drop_rejections AS ON INSERT TO audit_log WHERE NEW.type = 'request.rejected' DO INSTEAD NOTHING"));
    await assert.rejects(
      s.requests.update(rejected('req-1'), 1, [anEvent('request.rejected', { actor: bob, request: requestRef('req-1') })]),
      /the audit records were not appended: audit_log has rewrite rules that are not Countersign's \(drop_rejections\), which can drop or change what is written; nothing was changed/,
    );
    assert.equal((await s.requests.get('req-1'))?.state, 'pending', 'the request is not changed without its record');
    assert.equal((await s.audit.head())?.seq, 2);

    await superuser((c) => c.query("DROP RULE drop_rejections ON audit_log; CREATE FUNCTION quiet() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; CREATE TRIGGER audit_log_quiet BEFORE INSERT ON audit_log FOR EACH ROW WHEN (NEW.type = 'request.rejected') EXECUTE FUNCTION quiet()"));
    await assert.rejects(
      s.requests.update(rejected('req-1'), 1, [anEvent('request.rejected', { actor: bob, request: requestRef('req-1') })]),
      /the audit record 3 \(request\.rejected\) was not stored in audit_log as sealed: PostgreSQL ran its INSERT without an error and stored nothing \(a rule or trigger on audit_log that is not Countersign's\); nothing was changed/,
    );
    assert.equal((await s.requests.get('req-1'))?.state, 'pending');

    // Taken away again, the same write goes through: the record is where the append said.
    await superuser((c) => c.query('DROP TRIGGER audit_log_quiet ON audit_log'));
    await s.requests.update(rejected('req-1'), 1, [anEvent('request.rejected', { actor: bob, request: requestRef('req-1') })]);
    assert.deepEqual((await collect(s.audit.read({ requestId: 'req-1' }))).map((r) => [r.seq, r.type]), [[2, 'request.created'], [3, 'request.rejected']]);
    const verified = await verifyPostgresAuditLog(s.pool, s.target);
    assert.deepEqual([verified.ok, verified.count], [true, 3], 'the chain runs on from the record appended before the upgrade');
  });

  it('names row-level security turned on for the audit log or the checkpoint table: its policies can hide records from the role that reads them', async () => {
    const s = await open();
    await superuser((c) => c.query("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY; CREATE POLICY seen ON audit_log AS PERMISSIVE FOR SELECT USING (type <> 'request.rejected'); ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY"));
    assert.deepEqual(await s.auditAccess.missingProtection(), ['row-level security', 'row-level security']);
    assert.deepEqual((await verifyPostgresAuditLog(s.pool, s.target)).warnings, [
      'the append-only protection of the audit log is missing or disabled (row-level security turned on, whose policies can hide records from the roles that read them): someone changed the database schema by hand',
    ]);
  });

  it('names a function of Countersign\'s whose body a superuser replaced: the one that seals each record could store another text than the one sealed', async () => {
    const s = await open();
    assert.deepEqual(await s.auditAccess.missingProtection(), []);
    const body = (await superuser((c) => c.query<{ src: string }>("SELECT prosrc AS src FROM pg_proc WHERE proname = 'countersign_append_sealed' AND pronamespace = to_regnamespace(current_schema())"))).rows[0].src;
    // Its body edited (here harmlessly): one inserting another text than the one it answers for would look the same from outside.
    const doctored = body.replace('VALUES (head_seq + 1, ids[i]', "VALUES (head_seq + 1, ids[i] || ''");
    assert.notEqual(doctored, body);
    await superuser((c) => c.query(`CREATE OR REPLACE FUNCTION countersign_append_sealed(templates text[], ids text[], times text[], types text[], request_ids text[], actor_ids text[], seq_placeholder text, prev_placeholder text, hash_placeholder text)
      RETURNS TABLE (appended_seq bigint, appended_prev_hash text, appended_hash text) LANGUAGE plpgsql VOLATILE AS $fn$${doctored}$fn$`));
    assert.deepEqual(await s.auditAccess.missingProtection(), ['function countersign_append_sealed (changed)']);
    assert.deepEqual((await verifyPostgresAuditLog(s.pool, s.target)).warnings, [
      'the append-only protection of the audit log is missing or disabled (functions that seal or guard what is written: countersign_append_sealed (changed)): someone changed the database schema by hand',
    ]);
  });

  it('makes and checks its schema in one whose name needs quoting (capitals): it migrates, and its protection reads as intact', async () => {
    const mixed = `Audit_${schema}`;
    await superuser((c) => c.query(`CREATE SCHEMA "${mixed}"`));
    const s = await open({ connection: { ...connection, schema: mixed } });
    await s.audit.append([anEvent('request.created')]);
    assert.deepEqual(await s.auditAccess.missingProtection(), []);
    const v = await verifyPostgresAuditLog(s.pool, s.target);
    assert.equal(v.ok, true);
    assert.deepEqual(v.warnings, []);
  });

  it('reconnects after the server drops its connections, without losing or repeating a write', async () => {
    const s = await open({ connection: { ...connection, applicationName: 'countersign-reconnect' } });
    await Promise.all(Array.from({ length: 5 }, () => s.audit.append([anEvent('request.created')])));
    const dropped = await superuser((c) =>
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'countersign-reconnect' AND pid <> pg_backend_pid()"),
    );
    assert.ok((dropped.rowCount ?? 0) >= 1, 'connections were dropped');
    const after = await Promise.all(Array.from({ length: 5 }, () => s.audit.append([anEvent('request.approved')])));
    assert.equal(after.length, 5);
    const records = await collect(s.audit.read());
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.equal(records.filter((r) => r.type === 'request.approved').length, 5);
  });

  it('runs a write again on a new connection when the server ended its session for idling in the transaction (idle_in_transaction_session_timeout)', async () => {
    // A pause of the process between two statements of a write (an event-loop stall, a paused VM)
    // longer than a write's transaction may idle (twice the lock wait, at least 5 s): the server
    // ends the session (25P03) and rolls back.
    {
      const s = await open({ lockWaitMs: 100 });
      // The first write stalls (the event loop blocked: the server's goodbye is read only as the
      // answer to the statement sent next), longer than the timeout, right before its INSERT; the
      // second waits (the goodbye read at once) right before the round trip that carries its COMMIT.
      // Their runs again do not pause.
      let pauseBefore: RegExp | undefined;
      let paused = 0;
      const connect = s.pool.connect.bind(s.pool) as () => Promise<pg.PoolClient>;
      (s.pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
        const client = await connect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
          if (pauseBefore && typeof args[0] === 'string' && pauseBefore.test(args[0])) {
            pauseBefore = undefined;
            if (paused++ === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 6000);
            else await new Promise((r) => setTimeout(r, 6000));
          }
          return query(...args);
        };
        return client;
      };
      pauseBefore = /^INSERT INTO requests /;
      await s.requests.insert(aRequest('CS-IDLE1'), [anEvent('request.created')]);
      pauseBefore = /; COMMIT$/;
      await s.requests.insert(aRequest('CS-IDLE2'), [anEvent('request.created')]);
      assert.equal(paused, 2);
      assert.equal((await s.requests.get('CS-IDLE1'))?.id, 'CS-IDLE1');
      assert.equal((await s.requests.get('CS-IDLE2'))?.id, 'CS-IDLE2');
      assert.deepEqual((await collect(s.audit.read())).map((r) => [r.seq, r.type]), [[1, 'request.created'], [2, 'request.created']]);
      // Told as the connection's failure, not an internal error, when it happens again.
      assert.equal(s.storageFault(Object.assign(new Error('terminating connection due to idle-in-transaction timeout'), { code: '25P03' })), 'unreachable');
      assert.equal(s.storageFault(Object.assign(new Error('terminating connection due to idle-session timeout'), { code: '57P05' })), 'unreachable');
    }
  });

  it('has the server end a write\'s transaction left idle by a frozen instance, so that its row lock does not hold every other instance\'s writes', async () => {
    const [a, b] = [await open({ lockWaitMs: 200 }), await open({ lockWaitMs: 200 })];
    const r = aRequest('CS-FROZEN');
    await a.requests.insert(r, [anEvent('request.created')]);
    // Instance A stops (SIGSTOP, a paused VM) right after its UPDATE took the request's row.
    let reached!: () => void;
    const updated = new Promise<void>((resolve) => (reached = resolve));
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const connect = a.pool.connect.bind(a.pool) as () => Promise<pg.PoolClient>;
    (a.pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
      const client = await connect();
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      let held = false;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
        const out = await query(...args);
        if (!held && typeof args[0] === 'string' && args[0].startsWith('UPDATE requests')) {
          held = true;
          reached();
          await woken;
        }
        return out;
      };
      return client;
    };
    const frozen = a.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).catch((err: unknown) => err);
    await updated;
    try {
      // The server ends A's idle transaction (after 5 s: twice the 200 ms wait, at least 5 s), and its row lock goes.
      const idle = () => superuser((c) => c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"));
      for (let i = 0; i < 200 && (await idle()).rows[0].n > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await idle()).rows[0].n, 0, 'the frozen transaction was ended by the server');
      await b.requests.update({ ...r, version: 2, state: 'rejected' }, 1, [anEvent('request.rejected')]);
    } finally {
      wake();
    }
    // A wakes: its session is gone; run again, it finds the request moved on.
    assert.ok((await frozen) instanceof VersionConflictError, String(await frozen));
    assert.equal((await b.requests.get('CS-FROZEN'))?.state, 'rejected');
    assert.deepEqual((await collect(b.audit.read())).map((x) => x.type), ['request.created', 'request.rejected']);
  });

  it('survives its connections being dropped while lent out between two statements: the process goes on', async () => {
    const s = await open({ connection: { ...connection, applicationName: 'countersign-midquery' } });
    await s.audit.append([anEvent('request.created')]);
    // A connection the pool has lent out (a transaction between two statements) has no listener of
    // the pool's: pg emits 'error' on it when the server drops it, and an 'error' nobody listens to
    // ends the process. (mocha's own handler would report it too.)
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const lent = await s.pool.connect();
      await lent.query('BEGIN');
      await superuser((c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'countersign-midquery' AND pid <> pg_backend_pid()"));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(uncaught.map(String), []);
      await assert.rejects(lent.query('SELECT 1'));
      lent.release(true);
      await s.audit.append([anEvent('request.approved')]);
      assert.equal((await verifyPostgresAuditLog(s.pool, s.target)).ok, true);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('is not ready while the database cannot take a write, and ready again after', async () => {
    const s = await open({ connection: { ...connection, applicationName: 'countersign-readonly' } });
    assert.equal(await s.ping(), true);
    const kick = () =>
      superuser((c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'countersign-readonly' AND pid <> pg_backend_pid()"));
    try {
      // What a failover to a read-only standby looks like to the bot.
      await superuser((c) => c.query(`ALTER DATABASE ${db.name} SET default_transaction_read_only = on`));
      await kick();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await s.ping(), false);
      const refused = await s.audit.append([anEvent('request.created')]).catch((err: unknown) => err);
      assert.match(String(refused), /read-only transaction/);
      assert.equal(s.storageFault(refused), 'read-only', 'told as a read-only database, not an internal error');
    } finally {
      await superuser(async (c) => {
        await c.query('SET default_transaction_read_only = off');
        await c.query(`ALTER DATABASE ${db.name} RESET default_transaction_read_only`);
      });
    }
    await kick();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await s.ping(), true);
    await s.audit.append([anEvent('request.created')]);
  });

  describe("readiness after the server's own faults (SQLSTATE classes 53, 58, XX)", () => {
    // Raised by the server as it would raise them: a trigger on the requests table, while it is there.
    const faultOnUpdate = (code: string, message: string) =>
      superuser((c) =>
        c.query(`CREATE FUNCTION server_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}' USING ERRCODE = '${code}'; END $$;
                 CREATE TRIGGER server_fault BEFORE UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION server_fault()`),
      );
    const faultGone = () => superuser((c) => c.query('DROP TRIGGER server_fault ON requests; DROP FUNCTION server_fault()'));
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const faults = [
      ['53400', 'temporary file size exceeds temp_file_limit (1024kB)', /temp_file_limit, say\): raise it/],
      ['53100', 'could not extend file "base/16384/16385": No space left on device', /disk is full: free space on it/],
      ['58030', 'could not read block 0 in file "base/16384/16385": Input/output error', /storage is failing \(an I\/O error\)/],
      ['XX001', 'invalid page in block 0 of relation base/16384/16385', /internal error or corrupted data: look at its log, and run countersign audit verify/],
    ] as const;

    for (const [code, message, remedy] of faults) {
      it(`stays not ready past the 2 s hold after a write refused with ${code}, until a write commits`, async () => {
        const s = await open({ readiness: { failureHoldMs: 100, cancelledHoldMs: 60_000 } });
        const r = aRequest('CS-FAULTED');
        await s.requests.insert(r, [anEvent('request.created')]);
        const approve = () => s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
        await faultOnUpdate(code, message);
        try {
          assert.equal(((await approve().catch((err: unknown) => err)) as { code?: string }).code, code);
          await pause(300);
          // Past the 2 s hold (100 ms here): the server goes on refusing writes, so the instance is not ready.
          assert.equal(await s.ping(), false, 'not ready past the short hold');
          const problem = s.writeReadiness().problem ?? '';
          assert.ok(problem.startsWith(`the database refused a write `) && problem.includes(`(${code}: ${message}), and none committed since: `), problem);
          assert.match(problem, remedy);
          assert.match(problem, /not ready until a write commits, or 60 s pass without another such refusal$/);
        } finally {
          await faultGone();
        }
        assert.equal(await s.ping(), false, 'the fault gone, nothing has committed yet');
        await approve();
        assert.equal(await s.ping(), true, 'ready again once a write committed');
      });
    }

    it('keeps holding a full disk when a statement is cancelled after it (57014, held 2 s): the milder fault does not cut the hold short', async () => {
      const s = await open({ readiness: { failureHoldMs: 100, cancelledHoldMs: 60_000 } });
      const r = aRequest('CS-FAULTED');
      await s.requests.insert(r, [anEvent('request.created')]);
      const approve = () => s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
      for (const [code, message] of [
        ['53100', 'could not extend file: No space left on device'],
        ['57014', 'canceling statement due to statement timeout'],
      ]) {
        await faultOnUpdate(code, message);
        try {
          assert.equal(((await approve().catch((err: unknown) => err)) as { code?: string }).code, code);
        } finally {
          await faultGone();
        }
      }
      await pause(300);
      // Past the 57014's hold (100 ms here): the disk's (60 s) still holds, and is what readiness names.
      assert.equal(await s.ping(), false, 'the full disk is still held');
      assert.match(s.writeReadiness().problem ?? '', /^the database refused a write \d+ ms ago \(53100: could not extend file: No space left on device\), and none committed since: the database server's disk is full/);
      await approve();
      assert.equal(await s.ping(), true, 'a write that commits clears both');
    });

    it('is ready again, without a write, once the last refused write is older than the hold', async () => {
      const s = await open({ readiness: { failureHoldMs: 100, cancelledHoldMs: 600 } });
      const r = aRequest('CS-FAULTED');
      await s.requests.insert(r, [anEvent('request.created')]);
      await faultOnUpdate('53100', 'could not extend file: No space left on device');
      try {
        await s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).catch(() => undefined);
      } finally {
        await faultGone();
      }
      await pause(300);
      assert.equal(await s.ping(), false, 'a write was refused a moment ago');
      await pause(500);
      assert.equal(await s.ping(), true, 'none refused within the hold: ready again, nothing committed meanwhile');
    });
  });

  describe('the runtime role', () => {
    const role = `countersign_test_rt_${process.pid}`;
    afterEach(async () => {
      await superuser(async (c) => {
        await c.query(`REASSIGN OWNED BY ${role} TO postgres; DROP OWNED BY ${role}`).catch(() => undefined);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      });
    });

    it('runs the bot with INSERT and SELECT on the audit log, and nothing more there', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } });
      const r = aRequest('req-1');
      await s.requests.insert(r, [anEvent('request.created')]);
      await s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
      await s.conversations.saveReference('conv-1', { a: 1 });
      await s.conversations.saveReference('conv-1', { a: 2 });
      await s.conversations.saveCardMessage('req-1', { conversationId: 'conv-1', activityId: 'a1' });
      await s.auditAccess.saveCheckpoint({ seq: 2, hash: 'h', time: timeAt(1), keyId: 'k', signature: 's' }, [anEvent('audit.checkpoint')]);
      const c = new pg.Client({ connectionString: db.url.replace('postgres@', `${role}@`), options: `-c search_path=${schema}` });
      await c.connect();
      try {
        await c.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`).then(
          () => assert.fail('the runtime role could disable a trigger'),
          (err: Error) => assert.match(err.message, /must be owner/),
        );
        await assert.rejects(c.query('TRUNCATE audit_log'), /permission denied/);
      } finally {
        await c.end();
      }
    });

    it('says which migration a role that may create tables but owns none of them could not apply, and who should', async () => {
      const last = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
      const name = POSTGRES_MIGRATIONS.find((m) => m.version === last)!.name;
      // The owner brought the schema up to the version before; a role that is not the owner starts the next Countersign.
      const owner = new pg.Pool({ connectionString: db.url, options: `-c search_path=${schema}` });
      try {
        await migratePostgres(owner, 'always', POSTGRES_MIGRATIONS.filter((m) => m.version < last));
      } finally {
        await owner.end();
      }
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; GRANT CREATE ON SCHEMA ${schema} TO ${role}`));
      await assert.rejects(
        open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`: migration ${last} \\(${name}\\) could not be applied as the role ${role}: .+\\. The schema is still at version ${last - 1}; run \`countersign store migrate-schema\` as the role that owns Countersign's tables`));
          return true;
        },
      );
    });

    it('tells a role that may not create tables, asked to migrate an empty schema, to run it as the owner (not to grant what it holds)', async () => {
      const empty = freshSchema();
      await superuser((c) => c.query(`CREATE SCHEMA ${empty}; CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${empty} TO ${role}`));
      await assert.rejects(
        openPostgresStore({ connection: { ...connection, schema: empty, url: db.url.replace('postgres@', `${role}@`) }, migrate: 'always' }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`schema is at version 0, older than this Countersign expects \\(\\d+\\), and the role ${role} may not create tables in the schema ${empty}: run \`countersign store migrate-schema\` as the schema's owner`));
          assert.doesNotMatch(err.message, /GRANT countersign_runtime/);
          return true;
        },
      );
      await superuser((c) => c.query(`DROP SCHEMA ${empty}`));
    });

    it('says at readiness why the server refused a new connection (too many for the role), not that none of the pool came free', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`), applicationName: 'countersign-limited' } });
      assert.equal(await s.ping(), true);
      // The server takes no new connection of this role, and the pool's own are gone.
      await superuser(async (c) => {
        await c.query(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
        await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'countersign-limited'");
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await s.ping(), false);
      const problem = s.writeReadiness().problem ?? '';
      assert.match(problem, new RegExp(`^a new connection to the database failed: PostgreSQL at postgres://${role}@127\\.0\\.0\\.1:5432/${db.name} is reachable, but has no connection free \\(53300 too_many_connections: too many connections for role "${role}"\\): new connections are refused until other clients closed theirs`));
      assert.doesNotMatch(problem, /came free|start again/);
      await superuser((c) => c.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`));
      assert.equal(await s.ping(), true);
    });

    it('is not ready while a privilege writes need is revoked from the runtime role, names the grant, and tells the refused write as access denied', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } });
      const r = aRequest('CS-GRANT');
      await s.requests.insert(r, [anEvent('request.created')]);
      assert.equal(await s.ping(), true);
      for (const [table, privilege] of [
        ['requests', 'UPDATE'],
        ['audit_log', 'INSERT'],
        ['card_messages', 'UPDATE'],
        // Read by the probe first (the schema's version): named too, not "the database cannot be probed".
        ['schema_migrations', 'SELECT'],
      ]) {
        await superuser((c) => c.query(`REVOKE ${privilege} ON ${table} FROM ${RUNTIME_ROLE}`));
        try {
          assert.equal(await s.ping(), false, `${privilege} on ${table} revoked`);
          assert.equal(
            s.writeReadiness().problem,
            `the role ${role} lacks ${privilege} on ${table}, which writes need: it is a member of ${RUNTIME_ROLE} already, and that role lacks them (revoked, or a runtime role made without the grants of the migrations): as the schema's owner, GRANT ${privilege} ON "${schema}".${table} TO ${RUNTIME_ROLE}; (see docs/postgresql.md)`,
          );
          if (table === 'requests') {
            const refused = await s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).catch((err: unknown) => err);
            assert.match(String(refused), /permission denied for table requests/);
            assert.equal(s.storageFault(refused), 'denied', 'told as access refused, not an internal error');
          }
        } finally {
          await superuser((c) => c.query(`GRANT ${privilege} ON ${table} TO ${RUNTIME_ROLE}`));
        }
        assert.equal(await s.ping(), true, `ready again once ${privilege} on ${table} is granted back`);
      }
      await s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
    });

    it('fails alone a write of a group the server cancelled (statement_timeout), and is not ready for a while after, until one commits', async () => {
      await (await open()).close();
      // The role's statement_timeout, shorter than a write may wait for a row another session holds.
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; ALTER ROLE ${role} SET statement_timeout = '100ms'`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) }, readiness: { failureHoldMs: 60_000 } });
      const [held, other] = [aRequest('CS-HELD'), aRequest('CS-OTHER')];
      await s.requests.insert(held, [anEvent('request.created')]);
      await s.requests.insert(other, [anEvent('request.created')]);
      const holder = await db.superuser();
      const approve = (r: ApprovalRequest) => s.requests.update({ ...r, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
      try {
        await holder.query(`SET search_path = ${schema}; BEGIN; SELECT id FROM requests WHERE id = 'CS-HELD' FOR UPDATE`);
        // Submitted in the same turn: one group, one transaction, each write in a savepoint of its own.
        const [cancelled, committed] = await Promise.allSettled([approve(held), approve(other)]);
        assert.equal(cancelled.status, 'rejected');
        assert.equal((cancelled.reason as { code?: string }).code, '57014', String(cancelled.status === 'rejected' ? cancelled.reason : ''));
        assert.equal(s.storageFault(cancelled.reason), 'overloaded');
        assert.equal(committed.status, 'fulfilled', `the other write of the group is not failed with it: ${committed.status === 'rejected' ? String(committed.reason) : ''}`);
        assert.equal(await s.ping(), true, 'a write committed after the one cancelled');
        // Alone now: nothing commits after it.
        const alone = await approve(held).catch((err: unknown) => err);
        assert.equal((alone as { code?: string }).code, '57014');
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      assert.equal(await s.ping(), false, 'the probe itself is quick, yet writes are being cancelled');
      assert.match(s.writeReadiness().problem ?? '', /^the database refused a write \d+ ms ago \(57014: canceling statement due to statement timeout\), and none committed since$/);
      await approve(held);
      assert.equal(await s.ping(), true, 'ready again once a write committed');
      assert.deepEqual((await collect(s.audit.read())).map((r) => r.type), ['request.created', 'request.created', 'request.approved', 'request.approved']);
    });

    it('stays not ready past the hold while a role-wide statement_timeout shorter than the lock wait keeps cancelling writes, and is ready once one commits', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; ALTER ROLE ${role} SET statement_timeout = '100ms'`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) }, readiness: { failureHoldMs: 100 } });
      const held = aRequest('CS-HELD');
      await s.requests.insert(held, [anEvent('request.created')]);
      const approve = () => s.requests.update({ ...held, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]);
      const holder = await db.superuser();
      try {
        await holder.query(`SET search_path = ${schema}; BEGIN; SELECT id FROM requests WHERE id = 'CS-HELD' FOR UPDATE`);
        assert.equal(((await approve().catch((err: unknown) => err)) as { code?: string }).code, '57014');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await s.ping(), false, 'past the 2 s hold (100 ms here), writes are still being cancelled');
        assert.match(
          s.writeReadiness().problem ?? '',
          /^writes are being cancelled by the database's statement_timeout: the last \d+ ms ago \(57014: canceling statement due to statement timeout\), and none committed since; the statement_timeout in force for this role is 100 ms, shorter than the 5000 ms a write may wait for a lock \(COUNTERSIGN_STORE_LOCK_WAIT\)/,
        );
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      assert.equal(await s.ping(), false, 'the lock gone, nothing has committed yet: the setting still cancels the next write that meets one');
      await approve();
      assert.equal(await s.ping(), true, 'ready again once a write committed');
    });

    /**
     * A store opened as a role whose statement_timeout (1 s: shorter than the lock wait, 5 s, long
     * enough that the start's and the insert's statements are not cancelled on a loaded machine) cut
     * short one of its writes, held back by a row another session locked (57014).
     */
    async function cancelledWrite(readiness: { failureHoldMs: number; cancelledHoldMs?: number }) {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; ALTER ROLE ${role} SET statement_timeout = '1s'`));
      const s = await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) }, readiness });
      const held = aRequest('CS-HELD');
      await s.requests.insert(held, [anEvent('request.created')]);
      const holder = await db.superuser();
      try {
        await holder.query(`SET search_path = ${schema}; BEGIN; SELECT id FROM requests WHERE id = 'CS-HELD' FOR UPDATE`);
        const cancelled = await s.requests.update({ ...held, version: 2, state: 'approved' }, 1, [anEvent('request.approved')]).catch((err: unknown) => err);
        assert.equal((cancelled as { code?: string }).code, '57014');
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      return s;
    }

    it('is ready within a probe once the statement_timeout is reset, though its own connection began under the setting (and not ready again when the database sets it)', async () => {
      // The default hold (60 s): only the setting's going may end it this soon.
      const s = await cancelledWrite({ failureHoldMs: 100 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await s.ping(), false, 'the setting is in force');
      // How long /readyz takes to notice, probed every 200 ms (measured: the first probe, about 50 ms; before, the 60 s hold).
      const readyAfter = async (want: boolean) => {
        const since = performance.now();
        while (performance.now() - since < 10_000) {
          if ((await s.ping()) === want) return performance.now() - since;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return Infinity;
      };
      await superuser((c) => c.query(`ALTER ROLE ${role} RESET statement_timeout`));
      const noticed = await readyAfter(true);
      assert.ok(noticed < 3000, `ready ${noticed} ms after the reset`);
      try {
        // Set for the database now: new sessions take it up again, so writes would be cancelled again.
        await superuser((c) => c.query(`ALTER DATABASE ${db.name} SET statement_timeout = '1s'`));
        assert.ok((await readyAfter(false)) < 3000, 'not ready once the database sets it');
        assert.match(s.writeReadiness().problem ?? '', /the statement_timeout in force for this role is 1000 ms/);
      } finally {
        await superuser((c) => c.query(`ALTER DATABASE ${db.name} RESET statement_timeout`));
      }
      assert.ok((await readyAfter(true)) < 3000, 'ready again once the database resets it');
    });

    it('is ready again, without a write, once the last cancelled write is older than the hold: an instance taken out of rotation, with no clicks to write, is not left not ready for good', async () => {
      const s = await cancelledWrite({ failureHoldMs: 100, cancelledHoldMs: 600 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await s.ping(), false, 'a write was cancelled a moment ago, and the setting is still in force');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await s.ping(), true, 'no write cancelled within the hold: ready again, nothing committed meanwhile');
    });

    it('lets an auditor holding SELECT only verify the chain, and nothing more', async () => {
      const s = await open();
      await s.audit.append([anEvent('request.created'), anEvent('request.approved')]);
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`));
      const reader = await openPostgresAuditReader({ ...connection, url: db.url.replace('postgres@', `${role}@`) });
      try {
        const v = await verifyPostgresAuditLog(reader.pool, 'auditor');
        assert.equal(v.ok, true, v.problem?.message);
        assert.equal(v.count, 2);
        await assert.rejects(reader.pool.query("INSERT INTO audit_log (seq, id, time, type, prev_hash, hash, record) VALUES (3, 'x', 't', 'y', 'p', 'h', '{}')"), /permission denied/);
      } finally {
        await reader.close();
      }
    });

    it('tells an auditor who may read nothing that SELECT is what verify needs, not the runtime role', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}`));
      await assert.rejects(
        openPostgresAuditReader({ ...connection, url: db.url.replace('postgres@', `${role}@`) }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`permission denied for table schema_migrations .*: reading the audit trail needs SELECT only: grant it on Countersign's tables \\(GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO <user>, or GRANT pg_read_all_data TO <user>`));
          assert.doesNotMatch(err.message, /countersign_runtime/);
          return true;
        },
      );
    });

    it('tells an auditor who may not use the schema the USAGE and SELECT grants verify needs, not the runtime role', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`));
      const asAuditor = { ...connection, url: db.url.replace('postgres@', `${role}@`) };
      await assert.rejects(openPostgresAuditReader(asAuditor), (err: Error) => {
        assert.match(err.message, new RegExp(`the role ${role} may not use the schema ${schema} \\(no USAGE on it\\), so it sees none of Countersign's tables: reading the audit trail needs USAGE on the schema and SELECT on its tables: as the schema's owner, GRANT USAGE ON SCHEMA "${schema}" TO "${role}" \\(or GRANT pg_read_all_data TO "${role}"\\); a bot's role is granted the runtime role instead \\(see docs/postgresql\\.md\\)$`));
        assert.doesNotMatch(err.message, /GRANT countersign_runtime TO/);
        return true;
      });
      await superuser((c) => c.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`));
      await (await openPostgresAuditReader(asAuditor)).close();
    });

    it('tells a role that may not connect to the database (CONNECT revoked from PUBLIC) the CONNECT grant, not the runtime role it holds', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; REVOKE CONNECT ON DATABASE ${db.name} FROM PUBLIC`));
      try {
        const as = { connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } };
        await assert.rejects(open(as), (err: Error) => {
          assert.match(err.message, new RegExp(`^permission denied for database "${db.name}" \\(postgres://${role}@127\\.0\\.0\\.1:5432/${db.name}\\): the role may not connect to the database: as its owner, GRANT CONNECT ON DATABASE "${db.name}" TO ${RUNTIME_ROLE} \\(its members, the bots, inherit it; see docs/postgresql\\.md\\)$`));
          assert.doesNotMatch(err.message, /GRANT countersign_runtime TO/);
          return true;
        });
        await superuser((c) => c.query(`GRANT CONNECT ON DATABASE ${db.name} TO ${RUNTIME_ROLE}`));
        await open(as);
      } finally {
        await superuser((c) => c.query(`GRANT CONNECT ON DATABASE ${db.name} TO PUBLIC; REVOKE CONNECT ON DATABASE ${db.name} FROM ${RUNTIME_ROLE}`));
      }
    });

    it('stops startup naming the missing privileges when the role was not granted', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON schema_migrations TO ${role}`));
      await assert.rejects(
        open({ connection: { ...connection, url: db.url.replace('postgres@', `${role}@`) } }),
        new RegExp(`the role ${role} lacks SELECT on audit_log, INSERT on audit_log.*GRANT ${RUNTIME_ROLE} TO "${role}"`),
      );
    });

    it('names the table grants the runtime role lacks, not the runtime role again, when the role already is a member', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN; GRANT ${RUNTIME_ROLE} TO ${role}; REVOKE INSERT ON audit_log FROM ${RUNTIME_ROLE}; REVOKE INSERT, UPDATE ON requests FROM ${RUNTIME_ROLE}`));
      await assert.rejects(open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } }), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(`the role ${role} lacks INSERT on audit_log, INSERT on requests, UPDATE on requests: it is a member of ${RUNTIME_ROLE} already, and that role lacks them .*: as the schema's owner, GRANT INSERT ON "${schema}"\\.audit_log TO ${RUNTIME_ROLE}; GRANT INSERT, UPDATE ON "${schema}"\\.requests TO ${RUNTIME_ROLE}; \\(see docs/postgresql\\.md\\)$`),
        );
        assert.doesNotMatch(err.message, new RegExp(`GRANT ${RUNTIME_ROLE} TO`));
        return true;
      });
      // The grants it names are the ones that let it start.
      await superuser((c) => c.query(`GRANT INSERT ON audit_log TO ${RUNTIME_ROLE}; GRANT INSERT, UPDATE ON requests TO ${RUNTIME_ROLE}`));
      await (await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } })).close();
    });

    it('tells a role that may not use the schema the grant it lacks, not to migrate a schema it cannot see', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN`));
      const asRole = { connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } };
      await assert.rejects(open(asRole), (err: Error) => {
        assert.match(err.message, new RegExp(`the role ${role} may not use the schema ${schema} \\(no USAGE on it\\), so it sees none of Countersign's tables: grant it the runtime role \\(GRANT ${RUNTIME_ROLE} TO "${role}"; see docs/postgresql\\.md\\)$`));
        assert.doesNotMatch(err.message, /migrate-schema/);
        return true;
      });
      // A member that does not inherit the runtime role's USAGE is told how to inherit it.
      await superuser((c) => c.query(`ALTER ROLE ${role} NOINHERIT; GRANT ${RUNTIME_ROLE} TO ${role}`));
      await assert.rejects(open(asRole), new RegExp(`may not use the schema ${schema} .*: it is a member of ${RUNTIME_ROLE} already, but does not inherit its privileges`));
    });

    it('tells a member that does not inherit the runtime role\'s privileges how to make it inherit them', async () => {
      await (await open()).close();
      await superuser((c) => c.query(`CREATE ROLE ${role} LOGIN NOINHERIT; GRANT ${RUNTIME_ROLE} TO ${role}; GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON schema_migrations TO ${role}`));
      const version = Number(await superuser(async (c) => (await c.query<{ v: string }>('SHOW server_version_num')).rows[0].v));
      const fix = version >= 160000 ? `GRANT ${RUNTIME_ROLE} TO "${role}" WITH INHERIT TRUE` : `ALTER ROLE "${role}" INHERIT`;
      await assert.rejects(
        open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } }),
        new RegExp(`the role ${role} lacks SELECT on audit_log, .*: it is a member of ${RUNTIME_ROLE} already, but does not inherit its privileges: ${fix}$`),
      );
      await superuser((c) => c.query(fix));
      await (await open({ connection: { ...connection, user: role, url: db.url.replace('postgres@', `${role}@`) } })).close();
    });
  });

  describe('startup failures say which and what to do', () => {
    it('an unreachable server', async () => {
      await assert.rejects(openPostgresStore({ connection: { url: 'postgres://postgres@127.0.0.1:1/x', connectionTimeoutMs: 2000 } }), /PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/x is unreachable \(ECONNREFUSED\): check that the server is running/);
    });
    it('a database that does not exist', async () => {
      await assert.rejects(openPostgresStore({ connection: { url: db.url.replace(db.name, `${db.name}_missing`) } }), /database ".*_missing" does not exist .*: create it/);
    });
    it('a URL that is not one', async () => {
      await assert.rejects(openPostgresStore({ connection: { url: 'mysql://x@y/z' } }), /must start with postgres:\/\//);
      await assert.rejects(openPostgresStore({ connection: { url: 'postgres://x@y/z?sslmode=sometimes' } }), /sslmode=sometimes; expected one of/);
    });
    it('a lock or statement timeout, too many clients or a read-only server: each as what it is, never as an unreachable server', () => {
      const options = { url: 'postgres://postgres@db.example:5432/countersign' };
      const server = (code: string, message: string) => explainConnectionError(Object.assign(new Error(message), { code }), options).message;
      const lock = server('55P03', 'canceling statement due to lock timeout');
      assert.match(lock, /^PostgreSQL at postgres:\/\/postgres@db\.example:5432\/countersign is reachable, but another session held a lock Countersign needs at start .*\(55P03 lock_not_available: canceling statement due to lock timeout\): find the session holding it/);
      const statement = server('57014', 'canceling statement due to statement timeout');
      assert.match(statement, /is reachable, but cancelled a statement of Countersign's start \(57014 query_canceled: .*\): .*statement_timeout/);
      assert.match(server('53300', 'sorry, too many clients already'), /is reachable, but has no connection free \(53300 too_many_connections: sorry, too many clients already\): .*max_connections/);
      assert.match(server('25006', 'cannot execute CREATE TABLE in a read-only transaction'), /is read-only \(25006 read_only_sql_transaction: .*\): connect to the primary/);
      assert.match(
        server('57P01', 'terminating connection due to administrator command'),
        /^PostgreSQL at postgres:\/\/postgres@db\.example:5432\/countersign ended the session \(57P01: terminating connection due to administrator command\): the server is restarting, failing over or shutting down, or an administrator ended the connection; start again once it answers$/,
      );
      for (const told of [lock, statement]) assert.doesNotMatch(told, /unreachable|firewall/);
      // A timeout of the client's own (no SQLSTATE) is still the network's.
      assert.match(explainConnectionError(new Error('Connection terminated due to connection timeout'), options).message, /is unreachable \(Connection terminated due to connection timeout\)/);
    });
    it('TLS demanded of a server without it', async () => {
      await assert.rejects(openPostgresStore({ connection: { url: `${db.url}?sslmode=require` } }), /TLS with PostgreSQL .* failed .*PGSSLMODE/);
    });
  });
});
