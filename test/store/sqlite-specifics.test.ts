/** What the SQLite backend adds to the contract: its schema, its durability settings, its neighbours. */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, openSqliteStore } from '../../src/store/sqlite';
import type { ApprovalRequest } from '../../src/domain/request';
import { auditPageQuery } from '../../src/store/sqlite/audit-pages';
import { requestListQuery } from '../../src/store/sqlite/requests';
import { uuidv7 } from '../../src/store/ids';
import { verifyChain } from '../../src/audit/verify/verify';
import { DuplicateRequestError, VersionConflictError } from '../../src/app/ports';
import { aRequest, anEvent, bob, requestRef, tempDir } from './fixtures';
import { collect } from './store-contract';
import { reportMissingProtection } from '../../src/audit/access/deleted-requests';
import { AuditIndexWatch } from '../../src/audit/verify/index-watch';
import { indexesLeavingOut } from './index-tamper';
import { requestIndexEntries } from '../../src/store/sqlite/index-entries';
import { sqliteSchema } from '../../src/store/sqlite/verify-database';

describe('the SQLite store file', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'nested', 'countersign.db');
  });
  afterEach(() => tmp.remove());

  it('names its own storage failures: the disk\'s, a lock held past the wait as busy, and nothing else', async () => {
    const store = await openSqliteStore({ file });
    try {
      await store.requests.insert(aRequest('CS-1'), []);
      const duplicate = await store.requests.insert(aRequest('CS-1'), []).catch((err: unknown) => err);
      assert.ok(duplicate instanceof DuplicateRequestError);
      assert.ok(duplicate instanceof DuplicateRequestError);
    assert.equal(store.storageFault(duplicate), undefined, 'a refused write is not a storage failure');
      // max_page_count stands in for a full disk.
      await store.writer.pragma(`max_page_count = ${String(await store.writer.pragma('page_count'))}`);
      const full = await store.audit.append([anEvent('request.created', { outcome: { result: 'ok', detail: 'x'.repeat(200_000) } })]).catch((err: unknown) => err);
      assert.equal((full as { code?: string }).code, 'SQLITE_FULL');
      assert.equal(store.storageFault(full), 'disk');
      assert.equal(store.storageFault(new Error('a bug')), undefined);
      await store.writer.pragma('max_page_count = 1073741823');
      // Another process holding the write lock past the wait: busy, and nothing was written.
      const waiting = await openSqliteStore({ file, busyTimeoutMs: 100 });
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        const busy = await waiting.audit.append([anEvent('request.created')]).catch((err: unknown) => err);
        assert.equal((busy as Error).name, 'StoreBusyError');
        assert.equal(waiting.storageFault(busy), 'busy');
      } finally {
        other.exec('ROLLBACK');
        other.close();
        await waiting.close();
      }
    } finally {
      await store.close();
    }
  });

  it('names the append-only triggers dropped by hand, at start and at each look, until they are back', async () => {
    const file = path.join(tmp.dir, 'triggers.db');
    const store = await openSqliteStore({ file });
    const errors: unknown[][] = [];
    const log = { error: (...args: unknown[]) => void errors.push(args) };
    try {
      assert.deepEqual(await reportMissingProtection(store, log), []);
      assert.equal(errors.length, 0);
      const other = new Database(file);
      other.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_checkpoints_no_delete');
      other.close();
      assert.deepEqual(await reportMissingProtection(store, log), ['audit_log_no_update', 'audit_checkpoints_no_delete']);
      assert.match(String(errors[0][1]), /append-only protection of the audit trail is missing or disabled: .*Run countersign audit verify now/);
      assert.deepEqual(errors[0][0], { triggers: ['audit_log_no_update', 'audit_checkpoints_no_delete'] });
      // Created again under its name, with a body that refuses nothing: not the trigger the migrations made.
      const again = new Database(file);
      again.exec("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END; CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only: a checkpoint is never changed or removed'); END;");
      again.close();
      assert.deepEqual(await store.auditAccess.missingProtection(), ['audit_log_no_update (changed)', 'audit_checkpoints_no_delete (changed)']);
    } finally {
      await store.close();
    }
  });

  it('fails the write whose audit record a trigger not Countersign\'s dropped without an error, and names that trigger', async () => {
    const store = await openSqliteStore({ file });
    try {
      await store.audit.append([anEvent('request.created')]);
      const other = new Database(file);
      other.exec("CREATE TRIGGER audit_log_quiet BEFORE INSERT ON audit_log WHEN NEW.type = 'request.rejected' BEGIN SELECT RAISE(IGNORE); END");
      other.close();
      // The rejection and the request row saved with it: neither is kept, and the person is told so.
      await assert.rejects(store.requests.insert(aRequest('req-quiet'), [anEvent('request.rejected', { request: requestRef('req-quiet') })]), {
        name: 'AuditRecordDroppedError',
        message: /^the audit record 2 \(request\.rejected\) was not stored in .*countersign\.db: SQLite dropped its INSERT without an error, which only a trigger on audit_log that is not Countersign's does/,
      });
      assert.equal(await store.requests.get('req-quiet'), undefined);
      // The next record is sealed onto the log as it is, not onto the one that was never stored.
      const [next] = await store.audit.append([anEvent('request.created')]);
      assert.equal(next.seq, 2);
      assert.deepEqual(await store.auditAccess.missingProtection(), ["audit_log_quiet (not Countersign's)"]);
    } finally {
      await store.close();
    }
  });

  it('says in the log, at each look, that an index of the audit log was made to leave records out, counting only the records appended since the last look', async () => {
    const file = path.join(tmp.dir, 'indexes.db');
    const store = await openSqliteStore({ file });
    const lines: [string, unknown, unknown][] = [];
    const log = { error: (o: unknown, m?: string) => void lines.push(['error', o, m]), warn: (o: unknown, m?: string) => void lines.push(['warn', o, m]) };
    const counted: [number, number][] = [];
    const naming = store.auditAccess.recordsNaming.bind(store.auditAccess);
    store.auditAccess.recordsNaming = (after, upTo) => (counted.push([after, upTo]), naming(after, upTo));
    try {
      for (let i = 0; i < 10; i++) await store.audit.append([anEvent('request.created', { request: requestRef(`CS-R${i % 3}`) })]);
      const watch = new AuditIndexWatch(store, log, 4);
      assert.deepEqual(await watch.look(), []);
      assert.equal(lines.length, 0);
      assert.deepEqual(counted, [[0, 4], [4, 8], [8, 10]], 'the table a window of seqs at a time');
      // Someone with the file: the index by request made again without record 4 (the one by actor, without 7), definitions put back.
      indexesLeavingOut(file, { request: [4], actor: [7] });
      await store.audit.append([anEvent('request.approved', { request: requestRef('CS-R0') })]);
      counted.length = 0;
      const problems = await watch.look();
      assert.deepEqual(counted, [[10, 11]], 'only what was appended since');
      // The index by actor is counted by audit verify only.
      assert.equal(problems.length, 1);
      assert.match(problems[0], /^the index audit_log_request holds 10 entries for the 11 records that name a request: 1 of them is missing from it, .*REINDEX audit_log_request/);
      assert.deepEqual(lines.map(([level, fields]) => [level, fields]), [['error', { indexes: problems }]]);
      assert.match(String(lines[0][2]), /^an index of the audit log leaves records out or is not the one Countersign made: .*Run countersign audit verify/);
    } finally {
      await store.close();
    }
  });

  it('counts the entries of the index by request a window at a time as verify counts them whole, an index that leaves records out too', async () => {
    const file = path.join(tmp.dir, 'entries.db');
    const store = await openSqliteStore({ file });
    try {
      for (let i = 0; i < 23; i++) await store.audit.append([anEvent('request.created', { request: i % 5 === 4 ? undefined : requestRef(`CS-R${i % 4}`) })]);
      const reference = async (lastSeq: number) => {
        const db = new Database(file, { readonly: true });
        try {
          const index = (await sqliteSchema(db).auditIndexes()).find((x) => x.name === 'audit_log_request')!;
          const counted = (await sqliteSchema(db).auditIndexEntries(index, lastSeq))!;
          return counted.entries - counted.past;
        } finally {
          db.close();
        }
      };
      const reader = new Database(file, { readonly: true });
      try {
        for (const [lastSeq, window] of [[23, 4], [23, 1], [23, 100], [12, 3]] as const) assert.equal(await requestIndexEntries(reader, lastSeq, window), await reference(lastSeq), `up to ${lastSeq}, ${window} at a time`);
        indexesLeavingOut(file, { request: [2, 3, 17] });
        assert.equal(await requestIndexEntries(reader, 23, 4), await reference(23));
        assert.equal(await requestIndexEntries(reader, 23, 4), 19 - 3);
      } finally {
        reader.close();
      }
    } finally {
      await store.close();
    }
  });

  it('creates its directory and records each migration once', async () => {
    const store = await openSqliteStore({ file });
    await store.close();
    await (await openSqliteStore({ file })).close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    db.close();
    assert.deepEqual(
      rows,
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    );
  });

  it('refuses a database whose schema is newer than this code', async () => {
    await (await openSqliteStore({ file })).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')").run();
    db.close();
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    await assert.rejects(openSqliteStore({ file }), new RegExp(`schema is at version 99, newer than this Countersign knows \\(${known}\\)`));
  });

  it('reads from a seq by the rowid, not by scanning the log from its start', async () => {
    await (await openSqliteStore({ file })).close();
    const db = new Database(file, { readonly: true });
    try {
      for (const filter of [{ fromSeq: 5000 }, {}, { fromSeq: 9, types: ['config.loaded' as const] }]) {
        const { sql, params } = auditPageQuery(filter);
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, after: 0, limit: 10 }) as { detail: string }[];
        assert.match(plan.map((p) => p.detail).join('; '), /SEARCH audit_log USING INTEGER PRIMARY KEY \(rowid>\?\)/, JSON.stringify(filter));
        // One lower bound on seq: with two, SQLite ranges the scan on the first (the page's `after`,
        // 0 on the first page) and reads the log from its start up to fromSeq.
        assert.equal(sql.match(/\bseq\s*>/g)?.length, 1, sql);
      }
      // A time window is read as the run of seqs it selects: a range of the rowid, not a scan past its end.
      const { sql, params } = auditPageQuery({ fromSeq: 9, toSeq: 20 });
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, after: 0, limit: 10 }) as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join('; '), /SEARCH audit_log USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    } finally {
      db.close();
    }
  });

  it('reads a person\'s records by the index on lower(actor_id), whatever the case asked for', async () => {
    await (await openSqliteStore({ file })).close();
    const db = new Database(file, { readonly: true });
    try {
      const { sql, params } = auditPageQuery({ actorId: 'C0FFEE00-CA70-4CA7-8CA7-CA70CA70CA70' });
      // Folded by SQLite's lower(), as the index holds the ids, not by JavaScript's.
      assert.equal(params.actorId, 'C0FFEE00-CA70-4CA7-8CA7-CA70CA70CA70');
      assert.match(sql, /lower\(actor_id\) = lower\(@actorId\)/);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ...params, after: 0, limit: 10 }) as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join('; '), /SEARCH audit_log USING INDEX audit_log_actor_folded \(<expr>=\? AND seq>\?\)/);
    } finally {
      db.close();
    }
  });

  /** SQLite's plan for a request list query, over a migrated (empty) store file. */
  async function requestListPlan(query: Parameters<typeof requestListQuery>[0]): Promise<string> {
    await (await openSqliteStore({ file })).close();
    const db = new Database(file, { readonly: true });
    try {
      const { sql, params } = requestListQuery(query);
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail).join('; ');
    } finally {
      db.close();
    }
  }

  it('finds break-glass reviews due by their index, not by every ended request', async () => {
    const plan = await requestListPlan({ states: ['succeeded', 'failed', 'unknown', 'cancelled'], reviewDueBy: '2030-01-01T00:00:00.000Z' });
    assert.match(plan, /USING INDEX requests_review_due/);
  });

  it("finds the break-glass uses waiting for review by their index, not by every ended request's body", async () => {
    const ended: ApprovalRequest['state'][] = ['succeeded', 'failed', 'unknown', 'cancelled'];
    assert.match(await requestListPlan({ states: ended, reviewWaiting: true }), /^SCAN requests USING INDEX requests_review_waiting(;|$)/);
    // As pending asks for them: a page at a time.
    const page = await requestListPlan({ states: ended, reviewWaiting: true, limit: 50, offset: 50 });
    assert.match(page, /SCAN requests USING INDEX requests_review_waiting(;|$)/);
    assert.doesNotMatch(page, /requests_state_expires|SCAN requests(;|$)/);
  });

  it('indexes the break-glass uses already waiting for review when a store of schema version 10 is upgraded', async () => {
    const used = { reason: 'outage', usedAt: '2030-01-01T00:00:00.000Z', reviewDueAt: '2030-01-02T00:00:00.000Z' };
    const store = await openSqliteStore({ file });
    await store.requests.insert(aRequest('waiting', { state: 'succeeded', breakGlass: used }), []);
    await store.requests.insert(aRequest('escalated', { state: 'failed', breakGlass: { ...used, overdueAt: '2030-01-03T00:00:00.000Z' } }), []);
    await store.requests.insert(aRequest('reviewed', { state: 'succeeded', breakGlass: { ...used, review: { verdict: 'ratified', by: bob, at: used.reviewDueAt } } }), []);
    await store.requests.insert(aRequest('plain', { state: 'succeeded' }), []);
    await store.close();
    // The file as version 10 left it: no index of the uses waiting.
    const old = new Database(file);
    old.exec('DROP INDEX requests_review_waiting; DROP INDEX requests_outcome_owed; DROP INDEX requests_state_created; DELETE FROM schema_migrations WHERE version > 10');
    old.close();
    const upgraded = await openSqliteStore({ file });
    try {
      const ended: ApprovalRequest['state'][] = ['succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
      assert.deepEqual((await upgraded.requests.list({ states: ended, reviewWaiting: true })).map((r) => r.id).sort(), ['escalated', 'waiting']);
    } finally {
      await upgraded.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), 15);
      const indexed = db.prepare(`SELECT id FROM requests INDEXED BY requests_review_waiting WHERE json_extract(body, '$.breakGlass') IS NOT NULL AND json_extract(body, '$.breakGlass.review') IS NULL ORDER BY id`).pluck().all();
      assert.deepEqual(indexed, ['escalated', 'waiting']);
    } finally {
      db.close();
    }
  });

  it("finds the requests whose outcome message is owed by their index, not by the body of every request changed within the day", async () => {
    const plan = await requestListPlan({ updatedSince: '2030-01-01T00:00:00.000Z', outcomeMessageOwed: true });
    assert.match(plan, /^SEARCH requests USING INDEX requests_outcome_owed \(updated_at>\?\)/);
    assert.doesNotMatch(plan, /requests_updated|SCAN requests(;|$)/);
    // The start's look back, a page of it as any list may ask: the same index.
    assert.match(await requestListPlan({ updatedSince: '2030-01-01T00:00:00.000Z', outcomeMessageOwed: true, limit: 50, offset: 50 }), /USING INDEX requests_outcome_owed \(updated_at>\?\)/);
  });

  it('indexes the outcome messages already owed when a store of schema version 11 is upgraded, and keeps the index up to date', async () => {
    const owed = { since: '2030-01-01T00:00:00.000Z', takenAt: '2030-01-01T00:00:00.000Z', attempts: 1 };
    const store = await openSqliteStore({ file });
    await store.requests.insert(aRequest('owed', { state: 'succeeded', updatedAt: '2030-01-01T00:00:00.000Z', outcomeMessage: owed }), []);
    await store.requests.insert(aRequest('settled', { state: 'succeeded', updatedAt: '2030-01-01T00:00:00.000Z' }), []);
    await store.close();
    // The file as version 11 left it: no index of the owed messages.
    const old = new Database(file);
    old.exec('DROP INDEX requests_outcome_owed; DROP INDEX requests_state_created; DELETE FROM schema_migrations WHERE version > 11');
    old.close();
    const upgraded = await openSqliteStore({ file });
    try {
      const since = '2029-12-31T00:00:00.000Z';
      assert.deepEqual((await upgraded.requests.list({ updatedSince: since, outcomeMessageOwed: true })).map((r) => r.id), ['owed']);
      // Settled: out of the index; owed again by a later write: in it.
      const was = (await upgraded.requests.get('owed'))!;
      const { outcomeMessage: _settled, ...rest } = was;
      await upgraded.requests.update({ ...rest, version: was.version + 1, updatedAt: '2030-01-01T00:01:00.000Z' }, was.version, []);
      const other = (await upgraded.requests.get('settled'))!;
      await upgraded.requests.update({ ...other, version: other.version + 1, updatedAt: '2030-01-01T00:01:00.000Z', outcomeMessage: owed }, other.version, []);
      assert.deepEqual((await upgraded.requests.list({ updatedSince: since, outcomeMessageOwed: true })).map((r) => r.id), ['settled']);
    } finally {
      await upgraded.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get(), 15);
      assert.deepEqual(db.prepare(`SELECT id FROM requests INDEXED BY requests_outcome_owed WHERE json_extract(body, '$.outcomeMessage') IS NOT NULL ORDER BY id`).pluck().all(), ['settled']);
    } finally {
      db.close();
    }
  });

  it('chooses a page of the requests waiting for approval by requests_state_created, not by reading the row of every one of them to sort them', async () => {
    const plan = await requestListPlan({ states: ['pending', 'needs_reapproval'], limit: 500, offset: 500 });
    assert.match(plan, /USING COVERING INDEX requests_state_created \(state=\?\)/);
  });

  it('finds the requests changed since a moment by their index, not by every ended request', async () => {
    const plan = await requestListPlan({ states: ['succeeded', 'failed', 'unknown', 'cancelled'], updatedSince: '2030-01-01T00:00:00.000Z' });
    assert.match(plan, /USING (COVERING )?INDEX requests_updated/);
    // A page of the start's look at the ended cards: chosen from the index alone, not from the row of
    // every request changed since (after a busy hour, thousands still waiting for approval).
    assert.match(await requestListPlan({ states: ['succeeded', 'failed', 'unknown', 'cancelled'], updatedSince: '2030-01-01T00:00:00.000Z', limit: 500, offset: 0 }), /USING COVERING INDEX requests_updated \(updated_at>\?\)/);
  });

  it("finds a requester's open requests on a target by the requester's index, not by every open request", async () => {
    const plan = await requestListPlan({ states: ['pending', 'needs_reapproval', 'approved', 'scheduled', 'executing'], requester: '11111111-1111-4111-8111-111111111111', target: { subscriptionId: 's', resourceGroup: 'rg' } });
    assert.match(plan, /USING INDEX requests_requester \(<expr>=\? AND <expr>=\? AND <expr>=\? AND state=\?\)/);
  });

  it('reads a page of requests by sorting keys, then reading only that page\'s bodies', async () => {
    const plan = await requestListPlan({ states: ['pending'], limit: 500, offset: 1000 });
    assert.match(plan, /^SEARCH requests USING INTEGER PRIMARY KEY \(rowid=\?\)/);
  });

  it('runs in WAL mode with synchronous=FULL, so a resolved write is on disk', async () => {
    const store = await openSqliteStore({ file });
    const db = (store as unknown as { db: Database.Database }).db;
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
    await store.close();
  });

  it('continues the chain correctly when another process appended to the same file', async () => {
    const first = await openSqliteStore({ file });
    const second = await openSqliteStore({ file });
    await first.audit.append([anEvent('config.loaded')]);
    await second.audit.append([anEvent('request.created')]);
    await first.audit.append([anEvent('request.approved')]);
    const [last] = await second.audit.append([anEvent('request.expired')]);
    assert.deepEqual(await first.audit.head(), { seq: 4, hash: last.hash });
    const records = await collect(first.audit.read());
    assert.deepEqual(
      records.map((r) => [r.seq, r.type]),
      [
        [1, 'config.loaded'],
        [2, 'request.created'],
        [3, 'request.approved'],
        [4, 'request.expired'],
      ],
    );
    assert.equal((await verifyChain(first.audit.read())).ok, true);
    await first.close();
    await second.close();
  });

  it('never serves a request another process changed from what it kept parsed, and still compares versions in the database', async () => {
    const first = await openSqliteStore({ file });
    const second = await openSqliteStore({ file });
    const v1 = aRequest('req-cache');
    await first.requests.insert(v1, [anEvent('request.created')]);
    assert.equal((await first.requests.get('req-cache'))?.version, 1);
    // The other process moves it on: the first must read the new version, not its kept one.
    const v2 = { ...v1, version: 2, state: 'approved' as const };
    await second.requests.update(v2, 1, [anEvent('request.approved')]);
    assert.deepEqual(await first.requests.get('req-cache'), v2);
    // A write from the kept version is refused by the database's version, whatever is kept here.
    await assert.rejects(first.requests.update({ ...v1, version: 2, state: 'rejected' }, 1, [anEvent('request.rejected')]), VersionConflictError);
    assert.equal((await first.requests.get('req-cache'))?.state, 'approved');
    assert.equal((await second.requests.get('req-cache'))?.state, 'approved');
    // Its own write is read back as written; a row changed under it by hand, with its version, is read afresh.
    const v3 = { ...v2, version: 3, state: 'executing' as const };
    await first.requests.update(v3, 2, [anEvent('execution.started')]);
    assert.deepEqual(await first.requests.get('req-cache'), v3);
    const raw = new Database(file);
    raw.prepare('UPDATE requests SET version = 4, body = ? WHERE id = ?').run(JSON.stringify({ ...v3, version: 4, state: 'succeeded' }), 'req-cache');
    raw.close();
    assert.equal((await first.requests.get('req-cache'))?.state, 'succeeded');
    await first.close();
    await second.close();
  });

  it('hands out stored requests frozen, so no caller can change the version the next one reads', async () => {
    const store = await openSqliteStore({ file });
    await store.requests.insert(aRequest('req-frozen'), [anEvent('request.created')]);
    const got = await store.requests.get('req-frozen');
    assert.ok(got && Object.isFrozen(got) && Object.isFrozen(got.parameters) && Object.isFrozen(got.target));
    assert.throws(() => {
      (got as { state: string }).state = 'approved';
    }, TypeError);
    assert.equal((await store.requests.get('req-frozen'))?.state, 'pending');
    await store.close();
  });

  it('refuses an audit row inserted out of sequence, even by hand', async () => {
    const store = await openSqliteStore({ file });
    await store.audit.append([anEvent('config.loaded')]);
    await store.close();
    const db = new Database(file);
    const insert = db.prepare("INSERT INTO audit_log (seq, id, time, type, prev_hash, hash, record) VALUES (?, ?, 't', 'x', ?, 'h', '{}')");
    assert.throws(() => insert.run(5, 'gap', 'p'), /appended in sequence/);
    assert.throws(() => insert.run(2, 'unlinked', 'not-the-previous-hash'), /linked to the previous one/);
    db.close();
  });

  it('rejects an append whose insert fails, while the rest of its batch commits with no gap', async () => {
    const ids = ['a', 'a', 'b', 'c'];
    const store = await openSqliteStore({ file, newId: () => ids.shift()! });
    await store.audit.append([anEvent('config.loaded')]);
    const [duplicate, fine, multi] = await Promise.allSettled([
      store.audit.append([anEvent('request.created')]),
      store.audit.append([anEvent('request.approved')]),
      store.audit.append([anEvent('request.expired')]),
    ]);
    assert.equal(duplicate.status, 'rejected');
    assert.match(String((duplicate as PromiseRejectedResult).reason), /UNIQUE constraint failed: audit_log.id/);
    assert.equal(fine.status, 'fulfilled');
    assert.equal(multi.status, 'fulfilled');
    const records = await collect(store.audit.read());
    assert.deepEqual(
      records.map((r) => [r.seq, r.id, r.type]),
      [
        [1, 'a', 'config.loaded'],
        [2, 'b', 'request.approved'],
        [3, 'c', 'request.expired'],
      ],
    );
    assert.equal((await verifyChain(store.audit.read())).ok, true);
    await store.close();
  });

  it('rejects every write of a batch that cannot commit (database locked), then carries on', async () => {
    const store = await openSqliteStore({ file, busyTimeoutMs: 50 });
    await store.audit.append([anEvent('config.loaded')]);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const failed = await Promise.allSettled([store.audit.append([anEvent('request.created')]), store.conversations.saveReference('c', { a: 1 })]);
    assert.deepEqual(
      failed.map((f) => f.status),
      ['rejected', 'rejected'],
    );
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /database is locked/);
    other.exec('ROLLBACK');
    other.close();
    const [next] = await store.audit.append([anEvent('request.approved')]);
    assert.equal(next.seq, 2);
    assert.equal((await verifyChain(store.audit.read())).ok, true);
    await store.close();
  });

  it('records all events of one append or none of them', async () => {
    const ids = ['a', 'b', 'a', 'c', 'd'];
    const store = await openSqliteStore({ file, newId: () => ids.shift()! });
    await store.audit.append([anEvent('config.loaded')]);
    await assert.rejects(store.audit.append([anEvent('request.created'), anEvent('request.approved')]), /UNIQUE/);
    await store.audit.append([anEvent('request.expired'), anEvent('request.cancelled')]);
    const records = await collect(store.audit.read());
    assert.deepEqual(
      records.map((r) => [r.seq, r.id, r.type]),
      [
        [1, 'a', 'config.loaded'],
        [2, 'c', 'request.expired'],
        [3, 'd', 'request.cancelled'],
      ],
    );
    await store.close();
  });

  it('gives audit records time-ordered UUIDv7 ids', () => {
    const a = uuidv7(Date.UTC(2026, 10, 2));
    const b = uuidv7(Date.UTC(2026, 10, 2) + 1);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(a < b);
    // 2026-11-02T00:00:00Z is 1793577600000 ms = 0x01a1998e4400.
    assert.equal(a.slice(0, 13), '01a1998e-4400');
  });
});
