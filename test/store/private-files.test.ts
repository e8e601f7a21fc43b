/**
 * The data directory and the SQLite database hold requests, reasons and conversation references:
 * Countersign makes them 0700 and 0600 (the -wal and -shm take the database's mode), and so is a
 * backup's copy. Ones already there keep their mode, and the start names those others may read.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openConfiguredStore } from '../../src/store/open-store';
import { openToOtherUsers } from '../../src/store/private-files';
import { backupSqliteStore } from '../../src/store/sqlite';
import { databaseFile, readSettings } from '../../src/settings';
import { loadConfig } from '../../src/config/load';
import { warnOfRiskyStart } from '../../src/wiring/start-warnings';
import type { OpenedStore } from '../../src/store/open-store';
import { RecordingLog } from '../support/app-fakes';
import { EXAMPLE_CONFIG } from '../support/harness';
import { anEvent } from './fixtures';

const modeOf = (file: string): string => (fs.statSync(file).mode & 0o777).toString(8).padStart(4, '0');

describe('who may read the data directory and the database', function () {
  if (process.platform === 'win32') return;
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-private-'));
    // The usual umask, which lets SQLite's own 0644 and mkdir's 0755 through.
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('makes a new data directory 0700 and its database, -wal and -shm 0600', async () => {
    const dataDir = path.join(dir, 'srv', 'data');
    const opened = await openConfiguredStore({ kind: 'sqlite' }, { dataDir });
    try {
      await opened.store.audit.append([anEvent('config.loaded')]);
      const file = databaseFile(dataDir);
      assert.deepEqual(
        [dataDir, path.dirname(dataDir), file, `${file}-wal`, `${file}-shm`].map((f) => [f, modeOf(f)]),
        [[dataDir, '0700'], [path.dirname(dataDir), '0700'], [file, '0600'], [`${file}-wal`, '0600'], [`${file}-shm`, '0600']],
      );
      assert.deepEqual(openToOtherUsers(dataDir, file), [], 'nothing to say of them');
    } finally {
      await opened.store.close();
    }
  });

  it('leaves an existing directory and database as they are, and the start names each with its mode and the command to run', async () => {
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { mode: 0o755 });
    const file = databaseFile(dataDir);
    fs.closeSync(fs.openSync(file, 'wx', 0o644));
    const opened = await openConfiguredStore({ kind: 'sqlite' }, { dataDir });
    try {
      await opened.store.audit.append([anEvent('config.loaded')]);
      assert.deepEqual([modeOf(dataDir), modeOf(file), modeOf(`${file}-wal`)], ['0755', '0644', '0644'], 'not changed behind the operator\'s back');
      const log = new RecordingLog();
      const settings = readSettings({ COUNTERSIGN_DATA_DIR: dataDir });
      warnOfRiskyStart(log, settings, loadConfig(EXAMPLE_CONFIG), { sandbox: true }, 'sub', { kind: 'sqlite', where: file } as OpenedStore);
      const said = log.lines.filter((l) => typeof l.path === 'string').map((l) => [l.level, l.path, l.mode, l.msg]);
      assert.deepEqual(said, [
        ['warn', dataDir, '0755', `the data directory ${dataDir} is mode 0755: other users of this machine may read it; run: chmod 700 ${dataDir}`],
        ['warn', file, '0644', `the database ${file} is mode 0644: other users of this machine may read it; run: chmod 600 ${file}`],
        ['warn', `${file}-wal`, '0644', `the database's write-ahead log ${file}-wal is mode 0644: other users of this machine may read it; run: chmod 600 ${file}-wal`],
        ['warn', `${file}-shm`, '0644', `the database's shared-memory file ${file}-shm is mode 0644: other users of this machine may read it; run: chmod 600 ${file}-shm`],
      ]);
    } finally {
      await opened.store.close();
    }
  });

  it('makes a backup\'s copy 0600', async () => {
    const opened = await openConfiguredStore({ kind: 'sqlite' }, { dataDir: dir });
    await opened.store.audit.append([anEvent('config.loaded')]);
    await opened.store.close();
    const target = path.join(dir, 'backup.db');
    await backupSqliteStore(databaseFile(dir), target);
    assert.equal(modeOf(target), '0600');
  });

  it('says nothing on Windows, whose permissions are no modes', () => {
    fs.chmodSync(dir, 0o755);
    assert.equal(openToOtherUsers(dir, undefined, 'linux').length, 1);
    assert.deepEqual(openToOtherUsers(dir, undefined, 'win32'), []);
  });
});
