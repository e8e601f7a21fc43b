/** An audit command whose database write fails (the disk, a file-size limit): told in words, not SQLite's alone. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent, tempDir } from '../store/fixtures';

const ROOT = path.resolve(__dirname, '..', '..');

describe('countersign audit when its database cannot be written', function () {
  this.timeout(30_000);

  it('says the write failed, that what the command did is not recorded, and to check the disk (exit 1)', async () => {
    const tmp = tempDir();
    try {
      const dataDir = path.join(tmp.dir, 'data');
      const store = await openSqliteStore({ file: databaseFile(dataDir) });
      for (let i = 0; i < 20; i++) await store.audit.append([anEvent('request.created')]);
      await store.close();
      // A file-size limit of 512 bytes: SQLite's first write past it fails (Node ignores SIGXFSZ).
      const r = spawnSync('bash', ['-c', `ulimit -f 1; exec "${process.execPath}" bin/countersign.js audit checkpoint --data-dir "${dataDir}"`], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^error: Countersign could not write its audit database \(disk I\/O error, SQLITE_IOERR\w*\): the disk failed a write, or the file reached a size limit \(ulimit -f\)\. This command records what it does there, so what it did is not recorded .*free space or check the disk, then run it again\.\n$/);
    } finally {
      tmp.remove();
    }
  });
});
