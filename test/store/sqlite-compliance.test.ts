/** The compliance tables: request versions, checkpoints, single-use download links, export manifests. */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { VersionConflictError } from '../../src/app/ports';
import type { DownloadLink } from '../../src/audit/ports';
import { MIGRATIONS, migrate, openSqliteStore, readCheckpointTable, readRequestVersions } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { aRequest, alice, anEvent, bob, tempDir } from './fixtures';

function aLink(tokenHash: string, overrides: Partial<DownloadLink> = {}): DownloadLink {
  return {
    tokenHash,
    linkId: `link-${tokenHash.slice(0, 6)}`,
    format: 'csv',
    filter: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' },
    requestedBy: bob,
    createdAt: '2026-11-02T09:00:00.000Z',
    expiresAt: '2026-11-02T09:15:00.000Z',
    ...overrides,
  };
}

describe('the SQLite compliance tables', () => {
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
    it('keeps every saved version of a request, oldest first, and none from a refused update', async () => {
      const v1 = aRequest('req-1');
      await store.requests.insert(v1, [anEvent('request.created')]);
      const v2 = { ...v1, version: 2, state: 'approved' as const, approvals: [{ approver: bob, at: '2026-11-02T09:05:00.000Z', operationHash: v1.operationHash }] };
      await store.requests.update(v2, 1, [anEvent('request.approved')]);
      await assert.rejects(store.requests.update({ ...v2, version: 2, state: 'rejected' }, 1, []), VersionConflictError);
      const v3 = { ...v2, version: 3, state: 'executing' as const };
      await store.requests.update(v3, 2, [anEvent('execution.started')]);
      const versions = await store.compliance.requestVersions('req-1');
      assert.deepEqual(versions, [v1, v2, v3]);
      assert.deepEqual(await store.compliance.requestVersions('req-2'), []);
    });

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
      assert.deepEqual(await store.compliance.requestVersions('req-old'), [r]);
      const reader = new Database(oldFile, { readonly: true });
      assert.deepEqual(readRequestVersions(reader, 'req-old'), [r]);
      reader.close();
    });
  });

  describe('checkpoints', () => {
    it('saves a checkpoint with its audit record and reads the newest back', async () => {
      assert.equal(await store.compliance.lastCheckpoint(), undefined);
      await store.audit.append([anEvent('request.created')]);
      const head = (await store.audit.head())!;
      const checkpoint = { seq: head.seq, hash: head.hash, time: '2026-11-02T09:00:00.000Z', keyId: 'abcd', signature: 'sig' };
      const [record] = await store.compliance.saveCheckpoint(checkpoint, [anEvent('audit.checkpoint', { data: { seq: head.seq } })]);
      assert.equal(record.seq, 2);
      assert.deepEqual(await store.compliance.lastCheckpoint(), { ...checkpoint, recordSeq: 2 });
      const db = new Database(file, { readonly: true });
      assert.deepEqual(readCheckpointTable(db), [{ ...checkpoint, recordSeq: 2 }]);
      db.close();
    });

    it('refuses to change or delete a checkpoint', async () => {
      await store.compliance.saveCheckpoint({ seq: 0, hash: '0'.repeat(64), time: 't', keyId: 'k', signature: 's' }, []);
      assert.throws(() => raw((db) => db.exec('DELETE FROM audit_checkpoints')), /audit_checkpoints is append-only/);
      assert.throws(() => raw((db) => db.exec('UPDATE audit_checkpoints SET seq = 5')), /audit_checkpoints is append-only/);
    });
  });

  describe('download links', () => {
    it('lets exactly one of many simultaneous claims use a link', async () => {
      await store.compliance.saveDownloadLink(aLink('h1'), [anEvent('audit.export_link_issued')]);
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => store.compliance.claimDownloadLink('h1', `2026-11-02T09:01:0${i}.000Z`)));
      const won = claims.filter((c) => c.ok);
      assert.equal(won.length, 1);
      assert.deepEqual(won[0], { ok: true, link: aLink('h1') });
      const lost = claims.filter((c) => !c.ok);
      assert.ok(lost.every((c) => !c.ok && c.reason === 'used' && c.usedAt === '2026-11-02T09:01:00.000Z'));
    });

    it('still knows a link was used after the store is opened again', async () => {
      await store.compliance.saveDownloadLink(aLink('h1'), []);
      assert.equal((await store.compliance.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z')).ok, true);
      await store.close();
      store = await openSqliteStore({ file });
      const again = await store.compliance.claimDownloadLink('h1', '2026-11-02T09:02:00.000Z');
      assert.deepEqual(again, { ok: false, reason: 'used', link: aLink('h1'), usedAt: '2026-11-02T09:01:00.000Z' });
    });

    it('answers unknown for a link it never issued', async () => {
      assert.deepEqual(await store.compliance.claimDownloadLink('nope', '2026-11-02T09:01:00.000Z'), { ok: false, reason: 'unknown' });
    });

    it('refuses to mark a used link unused again', async () => {
      await store.compliance.saveDownloadLink(aLink('h1'), []);
      await store.compliance.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z');
      assert.throws(() => raw((db) => db.exec('UPDATE audit_downloads SET used_at = NULL')), /a download link can be used once/);
    });

    it("keeps an export's manifest and ties it to the link that served it", async () => {
      await store.compliance.saveDownloadLink(aLink('h1', { requestedBy: alice }), []);
      await store.compliance.claimDownloadLink('h1', '2026-11-02T09:01:00.000Z');
      const [record] = await store.compliance.saveExportManifest('exp-1', '2026-11-02T09:01:05.000Z', { sha256: 'abc', records: 3 }, [anEvent('audit.exported')], 'h1');
      assert.equal(record.type, 'audit.exported');
      assert.deepEqual(await store.compliance.getExportManifest('exp-1'), { sha256: 'abc', records: 3 });
      assert.deepEqual(await store.compliance.getDownloadLink('h1'), { ...aLink('h1', { requestedBy: alice }), usedAt: '2026-11-02T09:01:00.000Z', exportId: 'exp-1' });
      assert.equal(await store.compliance.getExportManifest('exp-2'), undefined);
    });
  });
});
