/**
 * Every command that reads the SQLite database refuses one that holds nothing (emptied to 0 bytes,
 * not beginning as a SQLite file, deleted) before SQLite opens it: SQLite deletes the -wal beside a
 * database of no pages as soon as a connection reads it, even a read-only one, and after a crash
 * that -wal is the last copy of the newest records. Only `audit accept-loss` opens it, on purpose.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Checkpointer, checkpointFileOf } from '../../src/audit/access/checkpoints';
import { loadOrCreateSigningKey } from '../../src/audit/access/signing';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent, requestRef, tempDir, timeAt } from '../store/fixtures';
import { audit, storeCommand, type Run } from './run-audit';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A data directory as a bot killed with its newest records in the -wal leaves it (signed once, as
 * every start signs), then its database file emptied. Returns the -wal's bytes.
 */
async function crashedThenEmptied(dataDir: string, empty: (file: string) => void = (f) => truncateSync(f, 0)): Promise<Buffer> {
  const file = databaseFile(dataDir);
  const store = await openSqliteStore({ file, writer: 'inline' });
  for (let i = 0; i < 5; i++) await store.audit.append([anEvent('request.created', { time: timeAt(i * 60), request: requestRef('req-1') })]);
  await new Checkpointer({ store, signer: loadOrCreateSigningKey(dataDir), clock: { now: () => new Date() }, file: checkpointFileOf(dataDir), log: silent }).write('timer');
  await store.audit.append([anEvent('request.created', { data: { reason: 'reason-in-wal-only' } })]);
  // Copied while open, as a crash leaves it (closing checkpoints it into the database and deletes it).
  const wal = readFileSync(`${file}-wal`);
  assert.ok(wal.includes('reason-in-wal-only'));
  await store.close();
  rmSync(`${file}-shm`, { force: true });
  writeFileSync(`${file}-wal`, wal);
  empty(file);
  return wal;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('countersign commands on an emptied SQLite database', function () {
  this.timeout(20000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  const commands: [string, (dataDir: string) => Promise<Run>][] = [
    ['audit verify', (d) => audit(['verify', '--data-dir', d])],
    ['audit public-key', (d) => audit(['public-key', '--data-dir', d])],
    ['audit checkpoint', (d) => audit(['checkpoint', '--data-dir', d])],
    ['audit export', (d) => audit(['export', '--format', 'jsonl', '--out', path.join(tmp.dir, 'out.jsonl'), '--data-dir', d])],
    ['audit evidence', (d) => audit(['evidence', 'req-1', '--out', path.join(tmp.dir, 'evidence'), '--data-dir', d])],
    ['audit verify (COUNTERSIGN_DATA_DIR)', (d) => audit(['verify'], { COUNTERSIGN_DATA_DIR: d })],
    ['store backup', (d) => storeCommand(['backup', path.join(tmp.dir, 'copy.db'), '--data-dir', d])],
    ['store migrate --from', (d) => storeCommand(['migrate', '--from', databaseFile(d)], { COUNTERSIGN_STORE: 'postgres', COUNTERSIGN_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })],
  ];

  for (const [name, run] of commands) {
    it(`${name} refuses a database emptied to 0 bytes, naming it, and leaves its -wal byte for byte`, async () => {
      const dataDir = path.join(tmp.dir, 'data');
      const file = databaseFile(dataDir);
      const wal = await crashedThenEmptied(dataDir);
      const before = readdirSync(dataDir).sort();
      const r = await run(dataDir);
      assert.ok(existsSync(`${file}-wal`) && readFileSync(`${file}-wal`).equals(wal), `the -wal is as it was (${r.stderr.trim()})`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^error: the database file ${escape(file)} is empty \\(0 bytes\\): it was not opened, so it and its -wal and -shm files are left as they are\\. Its -wal \\(${wal.length} bytes\\) may hold the newest records: keep it with the database`),
      );
      assert.equal(statSync(file).size, 0);
      assert.deepEqual(readdirSync(dataDir).sort(), before, 'nothing made or removed in the data directory');
      assert.deepEqual(readdirSync(tmp.dir).sort(), ['data'], 'nothing written elsewhere');
    });
  }

  it('refuses a database that does not begin as a SQLite file the same way, and one with no -wal without speaking of it', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const file = databaseFile(dataDir);
    const wal = await crashedThenEmptied(dataDir, (f) => writeFileSync(f, Buffer.alloc(4096)));
    const r = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: the database file ${escape(file)} is not a SQLite database \\(its 4096 bytes do not begin as one\\): it was not opened, so it and its -wal and -shm files are left as they are\\. Its -wal \\(${wal.length} bytes\\)`));
    assert.ok(readFileSync(`${file}-wal`).equals(wal));

    const bare = path.join(tmp.dir, 'bare');
    mkdirSync(bare);
    writeFileSync(databaseFile(bare), '');
    const b = await audit(['public-key', '--data-dir', bare]);
    assert.equal(b.code, 1);
    assert.equal(b.stderr, `error: the database file ${databaseFile(bare)} is empty (0 bytes): it holds no Countersign database, and was not opened\n`);
    assert.deepEqual(readdirSync(bare), ['countersign.db'], 'no key pair is made beside it');
  });

  it('names the -wal left beside a deleted database', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const file = databaseFile(dataDir);
    const wal = await crashedThenEmptied(dataDir, (f) => rmSync(f));
    for (const r of [await audit(['verify', '--data-dir', dataDir]), await storeCommand(['backup', path.join(tmp.dir, 'copy.db'), '--data-dir', dataDir])]) {
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error: no Countersign database at ${escape(file)} \\(data directory from --data-dir\\), though its -wal \\(${wal.length} bytes\\) is there: the database was deleted, and the -wal, left as it is, may hold the newest records: keep it for the restore\n$`));
    }
    assert.ok(readFileSync(`${file}-wal`).equals(wal));
  });
});
