/**
 * Someone with the database file drops the append-only triggers and changes the audit log with a
 * second connection. Verification reads the raw rows and must name the first record touched.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, verifySqliteAuditLog } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { sealRecord } from '../../src/audit/chain/chain';
import type { AuditRecord } from '../../src/domain/audit';
import { anEvent, bob, requestRef, tempDir, timeAt } from './fixtures';
import { indexesLeavingOut } from './index-tamper';

describe('verifying the audit log in a SQLite file', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let store: SqliteStore;
  let records: AuditRecord[];

  beforeEach(async () => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'countersign.db');
    store = await openSqliteStore({ file });
    records = [];
    for (let i = 0; i < 10; i++) {
      records.push(...(await store.audit.append([anEvent('request.created', { time: timeAt(i), request: requestRef(`req-${i}`) })])));
    }
    await store.close();
  });
  afterEach(() => tmp.remove());

  /** Tampering as an attacker would: a plain connection, triggers dropped first. */
  function tamper(sql: string, ...params: unknown[]): void {
    const db = new Database(file);
    try {
      db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; DROP TRIGGER IF EXISTS audit_log_chain;');
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  it('accepts an untouched log and reports its head', async () => {
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.ok, true, v.problem?.message);
    assert.equal(v.count, 10);
    assert.equal(v.headHash, records[9].hash);
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(v.indexProblems, []);
  });

  it('names a record whose stored JSON was edited', async () => {
    tamper(`UPDATE audit_log SET record = json_set(record, '$.outcome.result', 'refused') WHERE seq = 4`);
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.ok, false);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 4);
    assert.equal(v.problem?.recordId, records[3].id);
    assert.match(v.problem!.message, /altered after it was written/);
  });

  it('names a record whose indexed column was changed to mislead filtered reads', async () => {
    tamper('UPDATE audit_log SET actor_id = ? WHERE seq = 6', bob.aadObjectId);
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 6);
    assert.match(v.problem!.message, /its actor_id column says .* but the record itself says/);
  });

  it('does not trust the hash column: a hash changed there alone is caught', async () => {
    tamper(`UPDATE audit_log SET hash = ? WHERE seq = 2`, 'd'.repeat(64));
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 2);
  });

  it('names the record after one that was rewritten and re-hashed', async () => {
    const forged = sealRecord(anEvent('request.created', { time: timeAt(4), outcome: { result: 'ok', detail: 'nothing to see' } }), { seq: records[3].seq, hash: records[3].hash }, records[4].id);
    tamper('UPDATE audit_log SET record = ?, hash = ?, request_id = ? WHERE seq = 5', forged.text, forged.record.hash, 'req-1');
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'broken-link');
    assert.equal(v.problem?.seq, 6);
    assert.match(v.problem!.message, /Record 5 was replaced and re-hashed/);
  });

  it('names a deleted record', async () => {
    tamper('DELETE FROM audit_log WHERE seq = 7');
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'deleted');
    assert.equal(v.problem?.seq, 7);
    assert.match(v.problem!.message, /record 7 is missing \(deleted\)/);
  });

  it('names reordered records (rows swapped)', async () => {
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_chain;');
    db.transaction(() => {
      db.exec('UPDATE audit_log SET seq = -5 WHERE seq = 5');
      db.exec('UPDATE audit_log SET seq = 5 WHERE seq = 6');
      db.exec('UPDATE audit_log SET seq = 6 WHERE seq = -5');
    })();
    db.close();
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'reordered');
    assert.equal(v.problem?.seq, 6);
    assert.equal(v.problem?.recordId, records[5].id);
  });

  it('names a record filed under another seq', async () => {
    tamper('UPDATE audit_log SET seq = 15 WHERE seq = 10');
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 10);
    assert.match(v.problem!.message, /filed under seq 15/);
  });

  it('names the place where a record was copied over the next one', async () => {
    // The id column is unique, so a copy needs a new id there; the record text still says the old one.
    tamper(
      "UPDATE audit_log SET (id, time, type, request_id, actor_id, prev_hash, hash, record) = (SELECT id || '-copy', time, type, request_id, actor_id, prev_hash, hash, record FROM audit_log WHERE seq = 3) WHERE seq = 4",
    );
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.problem?.kind, 'edited');
    assert.equal(v.problem?.seq, 4);
    assert.match(v.problem!.message, /its id column says "[^"]+-copy" but the record itself says/);
  });

  it('names an index made again to leave records out, its definition text put back, while every record is intact', async () => {
    indexesLeavingOut(file, { request: [4], actor: [2, 7] });
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.ok, true, 'the records themselves are intact');
    assert.deepEqual(v.warnings, []);
    assert.equal(v.indexProblems.length, 2);
    assert.match(v.indexProblems[0], /^the index audit_log_actor_folded holds 8 entries for the 10 records that name an actor: 2 of them are missing from it, hidden from whatever reads one person's records through it\./);
    assert.match(v.indexProblems[1], /^the index audit_log_request holds 9 entries for the 10 records that name a request: 1 of them is missing from it, hidden from whatever reads one request's records through it\. .*REINDEX audit_log_request/);
    // The slow way SQLite itself finds it agrees.
    const db = new Database(file, { readonly: true });
    assert.match(JSON.stringify(db.pragma('integrity_check')), /row 4 missing from index audit_log_request/);
    db.close();
  });

  it('names an index of the audit log not as Countersign made it, or not made by it; a missing one is a warning', async () => {
    const db = new Database(file);
    db.exec(`DROP INDEX audit_log_request; CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL AND seq <> 4;
      CREATE INDEX audit_log_by_type ON audit_log (type) WHERE seq > 2; DROP INDEX audit_log_actor_folded;`);
    db.close();
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.ok, true);
    assert.deepEqual(v.indexProblems, [
      'the index audit_log_by_type on audit_log was not made by Countersign ("CREATE INDEX audit_log_by_type ON audit_log (type) WHERE seq > 2"): reads may go through it and leave records out, and what it holds is not checked. Drop it: DROP INDEX audit_log_by_type',
      'the index audit_log_request is not the one Countersign made (it reads "CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL AND seq <> 4"): reads through it may leave records out. Make it again: DROP INDEX audit_log_request; CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL',
    ]);
    assert.deepEqual(v.warnings, [
      'the index audit_log_actor_folded of the audit log is missing (someone changed the database schema by hand): reads that went through it read the whole log instead; make it again: CREATE INDEX audit_log_actor_folded ON audit_log (lower(actor_id), seq) WHERE actor_id IS NOT NULL',
    ]);
  });

  it('warns when the append-only triggers were removed, even if no record was touched', async () => {
    tamper('SELECT 1');
    const v = await verifySqliteAuditLog(file);
    assert.equal(v.ok, true);
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0], /append-only protection of the audit log is missing or disabled \(triggers: audit_log_no_update/);
  });
});
