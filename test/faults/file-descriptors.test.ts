/**
 * The process out of file descriptors (`ulimit -n` reached: connections held open, a leak). What the
 * database already holds open must be enough for a write: a write's savepoint journal that SQLite
 * moved to a temporary file past 64 KiB made an approval fail, told as a full or failing disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { keepSigningKeyFile, loadOrCreateSigningKey } from '../../src/audit/access/signing';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent, aRequest, tempDir } from '../store/fixtures';

/** This process's open-files limit, soft and hard, as /proc says. */
function openFilesLimit(): [string, string] {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = line!.replace('Max open files', '').trim().split(/\s+/);
  return [soft, hard];
}

function setOpenFilesLimit([soft, hard]: [string, string]): void {
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]);
}

/** Runs `work` with every file descriptor this process may open taken, then gives them back. */
async function withNoFileDescriptorLeft<T>(work: () => Promise<T>): Promise<T> {
  const before = openFilesLimit();
  // A limit close to what is open, so that taking the rest is quick.
  setOpenFilesLimit([String(fs.readdirSync('/proc/self/fd').length + 64), before[1]]);
  const taken: number[] = [];
  try {
    for (;;) taken.push(fs.openSync('/dev/null', 'r'));
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'EMFILE');
  }
  try {
    return await work();
  } finally {
    for (const fd of taken) fs.closeSync(fd);
    setOpenFilesLimit(before);
  }
}

describe('no file descriptor left', function () {
  this.timeout(30000);
  let tmp: ReturnType<typeof tempDir>;
  before(function () {
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip(); // util-linux's prlimit sets this process's limit
    }
  });
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  for (const writer of ['thread', 'inline'] as const) {
    it(`${writer} writer: commits a write that changes more than 64 KiB of what the database held (a request's long body), opening no file`, async () => {
      const store = await openSqliteStore({ file: path.join(tmp.dir, 'countersign.db'), writer });
      try {
        const long = aRequest('req-1', { reason: 'x'.repeat(200_000) });
        await store.requests.insert(long, [anEvent('request.created')]);
        await withNoFileDescriptorLeft(async () => {
          await store.requests.update({ ...long, version: 2, state: 'approved', reason: 'y'.repeat(200_000) }, 1, [anEvent('request.approved')]);
          assert.equal(await store.ping(), true, 'ready all along');
        });
        assert.equal((await store.requests.get('req-1'))?.state, 'approved');
      } finally {
        await store.close();
      }
    });
  }

  it('says that the look at the signing key file found no file descriptor to open it with, not that the file is wrong (its owner and mode)', async () => {
    const signer = loadOrCreateSigningKey(tmp.dir);
    const found = await withNoFileDescriptorLeft(async () => keepSigningKeyFile(tmp.dir, signer));
    assert.equal(found.kind, 'unchecked');
    assert.match((found as { problem: string }).problem, /could not be opened: this process has no file descriptor left \(EMFILE\); raise its open-files limit/);
    assert.deepEqual(keepSigningKeyFile(tmp.dir, signer), { kind: 'intact' });
  });
});
