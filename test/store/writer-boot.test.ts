/**
 * The SQLite writer thread started ahead of its store (WriterThreadBoot): the entry point starts it
 * before it loads the rest of Countersign, and the store takes it when it opens.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore, WriterThreadBoot } from '../../src/store/sqlite';
import { openConfiguredStore } from '../../src/store/open-store';
import { anEvent } from './fixtures';
import { startCountersign } from '../../src/composition-root';
import { readSettings } from '../../src/settings';

describe('a SQLite writer thread started ahead of its store', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-boot-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the thread the store writes through, once it has opened the database', async () => {
    const boot = new WriterThreadBoot();
    const store = await openSqliteStore({ file: path.join(dir, 'countersign.db'), writerThread: boot });
    try {
      const [record] = await store.audit.append([anEvent('config.loaded')]);
      assert.equal(record.seq, 1);
      assert.equal((await store.audit.head())?.hash, record.hash);
      assert.equal(await store.ping(), true);
      assert.throws(() => boot.take(), /already given to a store/);
    } finally {
      await store.close();
    }
  });

  it('is ended when the store cannot open, and when the store it was started for writes inline', async () => {
    fs.writeFileSync(path.join(dir, 'a-file'), '');
    const missing = path.join(dir, 'a-file', 'countersign.db');
    const boot = new WriterThreadBoot();
    const exited = new Promise<number>((resolve) => boot.worker.once('exit', resolve));
    await assert.rejects(openSqliteStore({ file: missing, writerThread: boot }));
    await exited;

    const inlineBoot = new WriterThreadBoot();
    const inlineExited = new Promise<number>((resolve) => inlineBoot.worker.once('exit', resolve));
    const store = await openSqliteStore({ file: path.join(dir, 'countersign.db'), writer: 'inline', writerThread: inlineBoot });
    await inlineExited;
    await store.audit.append([anEvent('config.loaded')]);
    await store.close();
  });

  it('says why, when the thread died before the store took it', async () => {
    const boot = new WriterThreadBoot();
    await boot.worker.terminate();
    await assert.rejects(openSqliteStore({ file: path.join(dir, 'countersign.db'), writerThread: boot }), /writer thread exited \(code \d+\) while it booted/);
  });

  it('is passed on by the settings-driven opening', async () => {
    const boot = new WriterThreadBoot();
    const opened = await openConfiguredStore({ kind: 'sqlite' }, { dataDir: dir, sqliteWriterThread: boot });
    assert.throws(() => boot.take(), /already given/);
    await opened.store.close();
  });

  it('is ended, and no database is created, when the config is wrong', async () => {
    const config = path.join(dir, 'bad.yaml');
    fs.writeFileSync(config, 'version: 1\ntenants: []\nrolez: {}\n');
    const dataDir = path.join(dir, 'data');
    const boot = new WriterThreadBoot();
    const exited = new Promise<number>((resolve) => boot.worker.once('exit', resolve));
    await assert.rejects(
      startCountersign({ settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: config }), sqliteWriterThread: boot }),
      /rolez: unknown key/,
    );
    await exited;
    assert.equal(fs.existsSync(dataDir), false, 'nothing written');
  });
});
