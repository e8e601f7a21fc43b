/**
 * Database verification first tries the fast path (ranges checked side by side, hashes taken over
 * the stored bytes) and falls back to the full verification at the first doubt. Whatever was done
 * to the file, the answer must be exactly the full verification's.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sealRecord } from '../../src/audit/chain/chain';
import { GENESIS_HASH } from '../../src/domain/audit';
import { openSqliteStore, verifySqliteAuditLog } from '../../src/store/sqlite';
import { hash as digest } from 'node:crypto';
import { checkRangeInWorker, checkRangeOpened, checkRangesInWorker, checkRangesOpened } from '../../src/audit/verify/verify-range-fast';
import { scanStoredText, storedTextFields } from '../../src/audit/verify/stored-text-scan';

/** A range checked on this thread, and on a worker thread, with a reader of the file of its own. */
const fileRows = (file: string) => ({ module: require.resolve('../../src/store/sqlite/verify-database'), open: 'openStoredRows', args: [file] });
const checkRangeOfFile = (file: string, after: number, until: number | undefined) => checkRangeOpened(fileRows(file), after, until);
import { anEvent, bob, requestRef, tempDir, timeAt } from './fixtures';

const COUNT = 40;

/** What the fast path hashes a canonical stored text on: the text minus its top-level hash member. */
function storedTextMatchesHash(text: string, hash: string): boolean {
  const f = storedTextFields();
  if (!scanStoredText(text, f) || text.slice(f.hashStart, f.hashEnd) !== hash) return false;
  return digest('sha256', text.slice(0, f.hashMember) + text.slice(f.hashEnd + 2), 'hex') === hash;
}

/** The fast path on this thread, the fast path on 3 threads, and the full verification alone. */
async function allWays(file: string) {
  const one = await verifySqliteAuditLog(file, {}, { threads: 1 });
  const three = await verifySqliteAuditLog(file, {}, { threads: 3, minRowsPerThread: 1 });
  const full = await verifySqliteAuditLog(file, {}, { fast: false });
  assert.deepEqual(one, full, 'the fast path on one thread answers as the full verification');
  assert.deepEqual(three, full, 'the fast path on three threads answers as the full verification');
  return full;
}

describe('verifying the audit log in a SQLite file: the fast path', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  let file: string;

  beforeEach(async () => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'countersign.db');
    const store = await openSqliteStore({ file });
    for (let i = 0; i < COUNT; i++) {
      // Some records have nested objects with a "hash" member of their own.
      const data = i % 3 === 0 ? { hash: 'f'.repeat(64), nested: { hash: 'e'.repeat(64) } } : i % 3 === 1 ? { hash: 'short' } : undefined;
      await store.audit.append([anEvent('request.created', { time: timeAt(i), actor: i % 2 ? bob : undefined, request: requestRef(`req-${i}`), ...(data ? { data } : {}) })]);
    }
    await store.close();
  });
  afterEach(() => tmp.remove());

  function rows(): { seq: number; id: string; record: string; hash: string }[] {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT seq, id, record, hash FROM audit_log ORDER BY seq').all() as { seq: number; id: string; record: string; hash: string }[];
    } finally {
      db.close();
    }
  }

  function tamper(sql: string, ...params: unknown[]): void {
    const db = new Database(file);
    try {
      db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; DROP TRIGGER IF EXISTS audit_log_chain;');
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  it('hashes the stored bytes: a stored text minus its top-level hash member hashes to it, nested "hash" members or not', () => {
    for (const row of rows()) assert.equal(storedTextMatchesHash(row.record, row.hash), true, row.record);
    const [first] = rows();
    assert.equal(storedTextMatchesHash(first.record, 'f'.repeat(64)), false, 'a nested hash member is not the record hash');
    assert.equal(storedTextMatchesHash(first.record.replace('"type":"request.created"', '"type":"request.approved"'), first.hash), false);
  });

  it('accepts an intact log, on one thread or several, with the full verification result', async () => {
    const v = await allWays(file);
    assert.equal(v.ok, true, v.problem?.message);
    assert.equal(v.count, COUNT);
    assert.equal(v.firstSeq, 1);
    assert.equal(v.lastSeq, COUNT);
    assert.equal(v.headHash, rows()[COUNT - 1].hash);
  });

  it('checks a range on a worker thread as on this one', async () => {
    const here = await checkRangeOfFile(file, 10, 30);
    assert.deepEqual(await checkRangeInWorker(fileRows(file), 10, 30), here);
    assert.deepEqual([here.intact, here.count, here.first?.seq, here.last?.seq], [true, 20, 11, 30]);
    const tail = await checkRangeInWorker(fileRows(file), 30, undefined);
    assert.deepEqual([tail?.intact, tail?.count, tail?.last?.hash], [true, 10, rows()[COUNT - 1].hash]);
  });

  it('shares ranges between threads through one counter: each range is checked once, by whichever thread takes it', async () => {
    const ranges = [0, 10, 20, 30].map((after, k) => ({ after, until: k < 3 ? after + 10 : undefined }));
    const shared = new SharedArrayBuffer(4);
    // A worker thread and this one (as a worker runs it: a reader of its own), sharing the counter.
    const [there, here] = await Promise.all([checkRangesInWorker(fileRows(file), ranges, shared), checkRangesOpened(fileRows(file), ranges, shared)]);
    const all = [...(there ?? []), ...here].sort((x, y) => x[0] - y[0]);
    assert.deepEqual(
      all.map(([k, c]) => [k, c.intact, c.count, c.first?.seq]),
      [
        [0, true, 10, 1],
        [1, true, 10, 11],
        [2, true, 10, 21],
        [3, true, 10, 31],
      ],
    );
  });

  it('stops every thread taking ranges once one is not intact', async () => {
    tamper('UPDATE audit_log SET actor_id = ? WHERE seq = 5', bob.aadObjectId);
    const ranges = [0, 10, 20, 30].map((after, k) => ({ after, until: k < 3 ? after + 10 : undefined }));
    const checks = await checkRangesOpened(fileRows(file), ranges, new SharedArrayBuffer(4));
    assert.deepEqual(
      checks.map(([k, c]) => [k, c.intact]),
      [[0, false]],
    );
  });

  it('accepts an empty log', async () => {
    tamper('DELETE FROM audit_log');
    const v = await allWays(file);
    assert.deepEqual([v.ok, v.count, v.firstSeq, v.lastSeq, v.headHash], [true, 0, 0, 0, GENESIS_HASH]);
  });

  it('names a stored text that is not canonical, even when it still holds the intact record, as the full verification does', async () => {
    const text = rows()[9].record;
    const spaced = JSON.stringify(JSON.parse(text), null, 1);
    tamper('UPDATE audit_log SET record = ? WHERE seq = 10', spaced);
    assert.equal(storedTextMatchesHash(spaced, rows()[9].hash), false);
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 10);
    assert.match(v.problem!.message, /not the canonical form it was sealed in/);
  });

  it('names a stored text with a member repeated: JSON.parse keeps the last, json_extract the first', async () => {
    const text = rows()[11].record;
    // A second "actor" before the real one: the hash still matches what JSON.parse reads, while
    // SQLite (and any reader that keeps the first member) reads the forged one.
    const forged = `{"actor":{"aadObjectId":"forged","name":"Mallory"},${text.slice(1)}`;
    tamper('UPDATE audit_log SET record = ? WHERE seq = 12', forged);
    const db = new Database(file, { readonly: true });
    const seen = db.prepare("SELECT json_extract(record, '$.actor.name') FROM audit_log WHERE seq = 12").pluck().get();
    db.close();
    assert.equal(seen, 'Mallory');
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 12);
    assert.match(v.problem!.message, /a member repeated/);
  });

  it('catches a stored text that is not canonical and was edited', async () => {
    const record = JSON.parse(rows()[14].record) as Record<string, unknown>;
    const reordered = JSON.stringify({ time: record.time, ...record, outcome: { result: 'refused' } });
    tamper('UPDATE audit_log SET record = ? WHERE seq = 15', reordered);
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 15);
  });

  it('catches the record hash moved from the top level into a nested object', async () => {
    const { record, hash } = rows()[3];
    const member = `"hash":"${hash}",`;
    const moved = record.replace(member, '').replace('"data":{', `"data":{${member}`);
    assert.notEqual(moved, record);
    tamper('UPDATE audit_log SET record = ? WHERE seq = 4', moved);
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 4);
  });

  it('catches a nested member spelled like the record hash, placed before it, in an edited record', async () => {
    const { record, hash } = rows()[6];
    const edited = record.replace('"data":{', `"data":{"hash":"${hash}","x":1,`).replace(/"hash":"f{64}",/, '');
    assert.notEqual(edited, record);
    tamper('UPDATE audit_log SET record = ? WHERE seq = 7', edited);
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 7);
  });

  it('catches a stored text that is not canonical, re-hashed over its own bytes (what the reference does not accept)', async () => {
    const { record } = rows()[COUNT - 1];
    const parsed = JSON.parse(record) as Record<string, unknown>;
    // The last record written out with a space after each colon and hashed as it stands.
    const spaced = JSON.stringify({ ...parsed, hash: undefined }).replace(/":/g, '": ');
    const forgedHash = digest('sha256', spaced, 'hex');
    const forged = spaced.replace('"id": ', `"hash":"${forgedHash}","id": `);
    tamper('UPDATE audit_log SET record = ?, hash = ? WHERE seq = ?', forged, forgedHash, COUNT);
    const v = await allWays(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, COUNT);
  });

  it('checks records whose text holds escapes, fractions and other characters the scan leaves to the reference way', async () => {
    const store = await openSqliteStore({ file });
    const odd = [{ note: 'two\nlines "quoted" \\ back' }, { ratio: 0.25, big: 1e21, neg: -3 }, { emoji: 'ok \u{1F600}', nul: 'a\u0001b' }, { '1': 'index-like key', list: [1, 'x', null, true, { a: [] }] }];
    for (const [k, data] of odd.entries()) {
      await store.audit.append([anEvent('request.created', { time: timeAt(COUNT + k), request: requestRef(`odd-${k}`), data })]);
    }
    await store.close();
    const v = await allWays(file);
    assert.deepEqual([v.ok, v.count], [true, COUNT + odd.length]);
    const texts = rows().slice(COUNT).map((r) => r.record);
    assert.deepEqual(
      texts.map((t) => scanStoredText(t, storedTextFields())),
      [false, false, false, false],
      'the scan leaves each of them to the reference way',
    );
  });

  it('notes where the checkpoint records are when the log is intact, on either path', async () => {
    const store = await openSqliteStore({ file });
    await store.audit.append([anEvent('audit.checkpoint', { time: timeAt(COUNT), request: undefined }), anEvent('request.created', { time: timeAt(COUNT + 1) })]);
    await store.audit.append([anEvent('audit.checkpoint', { time: timeAt(COUNT + 2), request: undefined })]);
    await store.close();
    const v = await allWays(file);
    assert.deepEqual(v.checkpointSeqs, [COUNT + 1, COUNT + 3]);
    const three = await verifySqliteAuditLog(file, {}, { threads: 3, minRowsPerThread: 1 });
    assert.deepEqual(three.checkpointSeqs, [COUNT + 1, COUNT + 3]);
    tamper('DELETE FROM audit_log WHERE seq = 5');
    assert.equal((await allWays(file)).checkpointSeqs, undefined, 'not when the log is damaged');
  });

  const tamperings: [string, string, unknown[]][] = [
    ['an edited record in the last range', `UPDATE audit_log SET record = json_set(record, '$.outcome.result', 'refused') WHERE seq = 35`, []],
    ['an edited column', 'UPDATE audit_log SET actor_id = ? WHERE seq = 21', [bob.aadObjectId]],
    ['a changed hash column', 'UPDATE audit_log SET hash = ? WHERE seq = 30', ['d'.repeat(64)]],
    ['a deleted record at a range boundary', 'DELETE FROM audit_log WHERE seq = 14', []],
    ['a deleted first record', 'DELETE FROM audit_log WHERE seq = 1', []],
    ['a record filed under another seq', 'UPDATE audit_log SET seq = 45 WHERE seq = 40', []],
    ['a record that is not JSON', "UPDATE audit_log SET record = '{not json' WHERE seq = 27", []],
    ['a record with a negative seq added', "INSERT INTO audit_log (seq, id, time, type, prev_hash, hash, record) SELECT -1, id || '-x', time, type, prev_hash, hash, record FROM audit_log WHERE seq = 1", []],
  ];
  for (const [what, sql, params] of tamperings) {
    it(`names ${what} as the full verification does`, async () => {
      tamper(sql, ...params);
      const v = await allWays(file);
      assert.equal(v.ok, false);
    });
  }

  it('accepts a log cut after its last record (the records alone cannot show it: checkpoints do)', async () => {
    tamper('DELETE FROM audit_log WHERE seq = 40');
    const v = await allWays(file);
    assert.deepEqual([v.ok, v.count, v.lastSeq], [true, 39, 39]);
  });

  it('names a record rewritten and re-hashed in the middle of a range, and rows swapped across a range boundary', async () => {
    const all = rows();
    const draft = anEvent('request.created', { time: timeAt(20), actor: undefined, request: requestRef('req-20'), outcome: { result: 'ok', detail: 'nothing to see' } });
    const forged = sealRecord(draft, { seq: 20, hash: all[19].hash }, all[20].id);
    tamper('UPDATE audit_log SET record = ?, hash = ? WHERE seq = 21', forged.text, forged.record.hash);
    let v = await allWays(file);
    assert.equal(v.problem?.kind, 'broken-link');
    assert.equal(v.problem?.seq, 22);
    const db = new Database(file);
    db.transaction(() => {
      db.exec('UPDATE audit_log SET seq = -5 WHERE seq = 13');
      db.exec('UPDATE audit_log SET seq = 13 WHERE seq = 14');
      db.exec('UPDATE audit_log SET seq = 14 WHERE seq = -5');
    })();
    db.close();
    v = await allWays(file);
    assert.equal(v.problem?.kind, 'reordered');
  });
});
