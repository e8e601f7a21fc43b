/**
 * The audit log rewritten under a running Countersign: someone with write access to the database
 * drops the append-only triggers, deletes or changes records after the last checkpoint, re-seals what
 * follows so that the chain still links, and puts the triggers back. `audit verify` cannot tell such a
 * tail from the real one until a checkpoint covers it, so the writer checks, whenever another
 * connection has committed, that the log still holds the record it last committed or saw with the
 * same hash: the writes stop (nothing is sealed onto the forgery, no checkpoint signs it), readiness
 * says why, and the bot is told it must restart. Another process appending (the CLI, a second
 * instance on the same file) is no rewrite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sealRecord } from '../../src/audit/chain/chain';
import type { AuditRecord, ChainHead } from '../../src/domain/audit';
import { uuidv7 } from '../../src/store/ids';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { AuditLogRewrittenError } from '../../src/store/audit-rewritten';
import { anEvent } from '../store/fixtures';
import { eventually } from '../support/teams';

const TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete', 'audit_log_chain'];

/** From another connection, as an intruder would: records from `fromSeq` on deleted, and `keep` of them re-sealed in their place (renumbered, chained). */
function rewriteTail(file: string, fromSeq: number, keep: (records: AuditRecord[]) => AuditRecord[]): void {
  const db = new Database(file);
  try {
    const triggers = TRIGGERS.map((name) => db.prepare('SELECT sql FROM sqlite_master WHERE type = ? AND name = ?').pluck().get('trigger', name) as string);
    db.transaction(() => {
      const tail = (db.prepare('SELECT record FROM audit_log WHERE seq >= ? ORDER BY seq').pluck().all(fromSeq) as string[]).map((t) => JSON.parse(t) as AuditRecord);
      for (const name of TRIGGERS) db.exec(`DROP TRIGGER ${name}`);
      db.prepare('DELETE FROM audit_log WHERE seq >= ?').run(fromSeq);
      let head = db.prepare('SELECT seq, hash FROM audit_log WHERE seq = ?').get(fromSeq - 1) as ChainHead | undefined;
      const insert = db.prepare('INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const r of keep(tail)) {
        const { seq: _s, id: _i, prevHash: _p, hash: _h, schemaVersion: _v, ...draft } = r;
        const { record, text } = sealRecord(draft, head, uuidv7());
        insert.run(record.seq, record.id, record.time, record.type, record.request?.id ?? null, record.actor?.aadObjectId ?? null, record.prevHash, record.hash, text);
        head = { seq: record.seq, hash: record.hash };
      }
      for (const sql of triggers) db.exec(sql);
    })();
  } finally {
    db.close();
  }
}

describe('the audit log rewritten under a running Countersign', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-rewritten-'));
    file = path.join(dir, 'countersign.db');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rewrites: [string, (records: AuditRecord[]) => AuditRecord[]][] = [
    ['one record taken out, the rest renumbered and re-sealed', (tail) => tail.slice(1)],
    ['one record changed and re-sealed', (tail) => [{ ...tail[0], outcome: { result: 'ok' as const, detail: 'nothing to see' } }, ...tail.slice(1)]],
    ['the end cut off', () => []],
  ];

  for (const writer of ['thread', 'inline'] as const) {
    for (const [what, keep] of rewrites) {
      it(`${writer} writer, ${what}: refuses the next write and every later one, is not ready, and says it must restart`, async () => {
        const stopped: Error[] = [];
        const store: SqliteStore = await openSqliteStore({ file, writer, onWriterStopped: (err) => stopped.push(err) });
        try {
          await store.audit.append([anEvent('config.loaded'), anEvent('request.created'), anEvent('click.refused'), anEvent('request.approved')]);
          rewriteTail(file, 3, keep);
          const message = /^the audit log in .* was rewritten under Countersign: record 4, which it had written or seen with hash [0-9a-f]{16}…, (is gone|now has hash [0-9a-f]{16}…) .*nothing more is written/;
          await assert.rejects(store.audit.append([anEvent('execution.started')]), (err: Error) => err.name === AuditLogRewrittenError.name && message.test(err.message));
          await eventually('told', () => stopped.length > 0);
          assert.equal(stopped.length, 1);
          assert.match(stopped[0].message, message);
          await assert.rejects(store.audit.append([anEvent('execution.succeeded')]), /was rewritten under Countersign/);
          assert.equal(await store.ping(), false);
          const db = new Database(file, { readonly: true });
          const types = db.prepare('SELECT type FROM audit_log ORDER BY seq').pluck().all();
          db.close();
          assert.ok(!types.includes('execution.started'), 'nothing was sealed onto the rewritten log');
        } finally {
          await store.close();
        }
      });
    }
  }

  it('is found by readiness while nothing is written, which stops the writes as a commit would', async () => {
    const stopped: Error[] = [];
    const store = await openSqliteStore({ file, readiness: { cacheMs: 0 }, onWriterStopped: (err) => stopped.push(err) });
    try {
      await store.audit.append([anEvent('config.loaded'), anEvent('request.created'), anEvent('click.refused')]);
      assert.equal(await store.ping(), true);
      rewriteTail(file, 2, (tail) => tail.slice(1));
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /record 3, which it had written or seen .* is gone/);
      await eventually('told', () => stopped.length > 0);
      await assert.rejects(store.audit.append([anEvent('request.approved')]), /was rewritten under Countersign/);
    } finally {
      await store.close();
    }
  });

  it('goes on when another process appends to the same log (the CLI, a second instance)', async () => {
    const stopped: Error[] = [];
    const store = await openSqliteStore({ file, readiness: { cacheMs: 0 }, onWriterStopped: (err) => stopped.push(err) });
    try {
      await store.audit.append([anEvent('config.loaded')]);
      const other = await openSqliteStore({ file, writer: 'inline' });
      await other.audit.append([anEvent('audit.exported'), anEvent('audit.checkpoint')]);
      await other.close();
      assert.equal(await store.ping(), true);
      const [mine] = await store.audit.append([anEvent('request.created')]);
      assert.equal(mine.seq, 4);
      assert.deepEqual(stopped, []);
    } finally {
      await store.close();
    }
  });
});
