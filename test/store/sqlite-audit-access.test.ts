/**
 * What only the SQLite audit-access tables guarantee (append-only triggers, migration, reading the raw
 * tables); what every backend guarantees is in the store contract (store-contract.ts).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate, openSqliteStore, readCheckpointTable, readRequestVersions } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { aRequest, anEvent, tempDir } from './fixtures';
import { aLink } from './store-contract';

describe('the SQLite audit-access tables', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let store: SqliteStore;

  beforeEach(async () => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'countersign.db');
    store = await openSqliteStore({ file });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  function raw<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  describe('request versions', () => {
    it('refuses to change or delete a saved version', async () => {
      await store.requests.insert(aRequest('req-1'), []);
      assert.throws(() => raw((db) => db.exec("UPDATE request_versions SET state = 'succeeded'")), /request_versions is append-only/);
      assert.throws(() => raw((db) => db.exec('DELETE FROM request_versions')), /request_versions is append-only/);
    });

    it('gives requests saved before the table existed the version they are at', async () => {
      await store.close();
      const oldFile = path.join(tmp.dir, 'old.db');
      const db = new Database(oldFile);
      migrate(db, MIGRATIONS.filter((m) => m.version === 1));
      const r = aRequest('req-old', { version: 4, state: 'succeeded' });
      db.prepare('INSERT INTO requests (id, version, state, expires_at, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        r.id,
        r.version,
        r.state,
        r.expiresAt,
        r.createdAt,
        r.updatedAt,
        JSON.stringify(r),
      );
      db.close();
      store = await openSqliteStore({ file: oldFile });
      assert.deepEqual(await store.auditAccess.requestVersions('req-old'), [r]);
      const reader = new Database(oldFile, { readonly: true });
      assert.deepEqual(readRequestVersions(reader, 'req-old'), [r]);
      reader.close();
    });
  });

  describe('checkpoints', () => {
    // Saving and reading checkpoints back is the store contract's (test/store/store-contract.ts); here, the file.
    it('keeps a saved checkpoint in the table the offline verifier reads', async () => {
      await store.audit.append([anEvent('request.created')]);
      const head = (await store.audit.head())!;
      const checkpoint = { seq: head.seq, hash: head.hash, time: '2026-11-02T09:00:00.000Z', keyId: 'abcd', signature: 'sig' };
      await store.auditAccess.saveCheckpoint(checkpoint, [anEvent('audit.checkpoint', { data: { seq: head.seq } })]);
      const db = new Database(file, { readonly: true });
      assert.deepEqual(readCheckpointTable(db), [{ ...checkpoint, recordSeq: 2 }]);
      db.close();
    });

    it('refuses to change or delete a checkpoint', async () => {
      await store.auditAccess.saveCheckpoint({ seq: 0, hash: '0'.repeat(64), time: 't', keyId: 'k', signature: 's' }, []);
      assert.throws(() => raw((db) => db.exec('DELETE FROM audit_checkpoints')), /audit_checkpoints is append-only/);
      assert.throws(() => raw((db) => db.exec('UPDATE audit_checkpoints SET seq = 5')), /audit_checkpoints is append-only/);
    });
  });

  describe('download links', () => {
    it('refuses to mark a used link unused again', async () => {
      await store.auditAccess.saveDownloadLink(aLink('h1'), []);
      await store.auditAccess.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z');
      assert.throws(() => raw((db) => db.exec('UPDATE audit_downloads SET used_at = NULL')), /a download link can be used once/);
    });
  });
});
