/**
 * `countersign audit export` of a log whose stored text was edited without changing what it parses
 * to as the hash was taken (a member repeated before the real one: JSON.parse keeps the last, SQLite's
 * json_extract the first). The database verification names it; the export must say it in every
 * format, not only the one that copies the stored bytes, and sign it into the manifest.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseManifest } from '../../src/audit/access/manifest';
import type { AuditRecord } from '../../src/domain/audit';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { alice, anEvent, bob, requestRef, tempDir, timeAt } from '../store/fixtures';
import { collect } from '../store/store-contract';
import { audit } from './run-audit';

describe('countersign audit export: records stored altered, hash unchanged', function () {
  this.timeout(20000);
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;

  beforeEach(async () => {
    tmp = tempDir();
    dataDir = path.join(tmp.dir, 'data');
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 6; i++) await store.audit.append([anEvent('request.created', { time: timeAt(i * 60), actor: i % 2 ? alice : bob, request: requestRef(`req-${i}`) })]);
    await store.close();
  });
  afterEach(() => tmp.remove());

  async function records(): Promise<AuditRecord[]> {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    try {
      return await collect(store.audit.read());
    } finally {
      await store.close();
    }
  }

  /** Record `seq`'s stored text given a forged actor before its real one, triggers dropped first: its hash still checks. */
  function repeatActor(seq: number): void {
    const db = new Database(databaseFile(dataDir));
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_chain;');
    db.prepare(`UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":{"aadObjectId":"mallory","name":"Mallory"},"actor":') WHERE seq = ?`).run(seq);
    db.close();
  }

  for (const format of ['jsonl', 'csv', 'ocsf'] as const) {
    it(`says so as ${format} (exit 2), signs it into the manifest and records it; audit verify --file of the export then fails`, async () => {
      repeatActor(2);
      const out = path.join(tmp.dir, `audit.${format}`);
      const r = await audit(['export', '--format', format, '--out', out, '--data-dir', dataDir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Exported 6 audit records \(seq 1 to 6\)/);
      assert.match(
        r.stderr,
        /AUDIT LOG DAMAGED: 1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form they were sealed in \(a member repeated or reordered, or spacing added\), their hash unchanged: their stored text was edited in the database after they were sealed/,
      );
      const manifest = parseManifest(readFileSync(`${out}.manifest.json`, 'utf8'), 'manifest');
      assert.equal(manifest.logDamage?.length, 1);
      assert.match(manifest.logDamage![0], /^1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
      const exported = (await records()).filter((x) => x.type === 'audit.exported').at(-1);
      assert.match(String(exported?.outcome.detail), /; AUDIT LOG DAMAGED: records were stored altered in the log$/);
      assert.match(String(exported?.data?.logDamaged), /\(seq 2\) are stored in the log as text that is not the canonical form/);
      const v = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(v.code, 2, v.stdout);
      if (format === 'jsonl') {
        // Its line is the stored text: edited, and the manifest's finding besides.
        assert.match(v.stdout, /EXPORT DAMAGED \(edited\)[\s\S]*line 2 of the export \(record 2\) was edited[\s\S]*Also \(log-damaged\): .*1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
      } else {
        // Its file holds the record as its hash vouches for: only the signed manifest can say it.
        assert.match(v.stdout, /Export intact as signed: 6 records[\s\S]*AUDIT LOG DAMAGED: its signed manifest records that the audit log it was exported from was not intact \(each finding says what the export holds\):\n {2}1 record\(s\) \(seq 2\) are stored in the log as text that is not the canonical form/);
      }
    });
  }

  it('names the first 20 records and counts the rest', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    for (let i = 0; i < 30; i++) await store.audit.append([anEvent('request.created', { time: timeAt(600 + i), actor: bob, request: requestRef(`req-more-${i}`) })]);
    await store.close();
    const db = new Database(databaseFile(dataDir));
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_chain;');
    db.exec(`UPDATE audit_log SET record = replace(record, '{"actor":', '{"actor":null,"actor":') WHERE seq > 6`);
    db.close();
    const r = await audit(['export', '--format', 'csv', '--out', path.join(tmp.dir, 'many.csv'), '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /AUDIT LOG DAMAGED: 30 record\(s\) \(seq 7, 8, .*, 25, 26 and 10 more\) are stored in the log as text that is not the canonical form/);
  });

  it('says so of a large CSV export, whose later batches the worker thread encodes', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    // Past 32 batches of 256 the export hands its batches to a worker thread (output.ts).
    for (let done = 0; done < 9000; done += 1000) {
      await store.audit.append(Array.from({ length: 1000 }, (_, k) => anEvent('request.created', { time: timeAt(600 + done + k), actor: alice, request: requestRef(`req-w-${done + k}`) })));
    }
    await store.close();
    repeatActor(9000);
    const r = await audit(['export', '--format', 'csv', '--out', path.join(tmp.dir, 'large.csv'), '--data-dir', dataDir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Exported 9006 audit records/);
    assert.match(r.stderr, /AUDIT LOG DAMAGED: 1 record\(s\) \(seq 9000\) are stored in the log as text that is not the canonical form/);
  });

  it('says nothing of an intact log, escaped text included (exit 0)', async () => {
    const store = await openSqliteStore({ file: databaseFile(dataDir) });
    await store.audit.append([anEvent('request.created', { time: timeAt(900), actor: { ...alice, name: 'A "quoted" \\ name \u2028 😀' }, request: requestRef('req-escaped') })]);
    await store.close();
    for (const format of ['jsonl', 'csv', 'ocsf']) {
      const r = await audit(['export', '--format', format, '--out', path.join(tmp.dir, `intact.${format}`), '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /DAMAGED/);
    }
  });
});
