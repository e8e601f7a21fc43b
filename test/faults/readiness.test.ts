/**
 * /readyz says whether the store can take a durable write: not while the database is full, while
 * another process holds the write lock past the time writes wait for it, or once the store closed;
 * ready again after.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { verifyChain } from '../../src/audit/verify/verify';
import { databaseFile } from '../../src/settings';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { anEvent } from '../store/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, people } from '../support/teams';
import { requestVia } from '../support/flows';

/**
 * SQLite's max_page_count stands in for a full disk: the database cannot grow past what it has. It
 * holds per connection, so it is set on the one that writes (the writer thread's).
 */
async function fillUp(store: SqliteStore): Promise<void> {
  const pages = (await store.writer.pragma('page_count')) as number;
  await store.writer.pragma(`max_page_count = ${pages}`);
}

async function makeRoom(store: SqliteStore): Promise<void> {
  await store.writer.pragma('max_page_count = 1073741823');
}

const big = (n: number) => anEvent('request.created', { outcome: { result: 'ok', detail: 'x'.repeat(n) } });

describe('readiness tells the truth about writes', function () {
  this.timeout(30000);

  describe('the store', () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-ready-'));
      file = path.join(dir, 'countersign.db');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('is not ready while the database is full and writes fail; ready again once it has room', async () => {
      const store = await openSqliteStore({ file, readiness: { cacheMs: 0, failureHoldMs: 0 } });
      await store.audit.append([anEvent('config.loaded')]);
      assert.equal(await store.ping(), true);
      await fillUp(store);
      await assert.rejects(store.audit.append([big(200_000)]), /full/);
      assert.deepEqual(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /the database is full/);
      await makeRoom(store);
      assert.equal(await store.ping(), true);
      await store.audit.append([big(200_000)]);
      assert.equal((await verifyChain(store.audit.read())).ok, true);
      await store.close();
    });

    it('stays not ready for a moment after a write failed, even if the probe sees room', async () => {
      const store = await openSqliteStore({ file, readiness: { cacheMs: 0, failureHoldMs: 60_000 } });
      await store.audit.append([anEvent('config.loaded')]);
      await fillUp(store);
      await assert.rejects(store.audit.append([big(200_000)]));
      await makeRoom(store);
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /the last write failed: .*full/);
      await store.close();
    });

    /**
     * A fault the probe's looks cannot see: the process may not grow a file past its size limit
     * (RLIMIT_FSIZE, `ulimit -f`: writes fail with EFBIG), as with a disk quota used up (EDQUOT) or a
     * disk whose writes fail, while the file system says it has room. Set with util-linux's prlimit on
     * this process (the writer thread shares its limits), given back after.
     */
    function fileSizeLimit(): string {
      const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max file size'));
      const [soft, hard] = line!.replace('Max file size', '').trim().split(/\s+/);
      return `${soft}:${hard}`;
    }
    function setFileSizeLimit(limit: string): void {
      execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${limit}`]);
    }

    for (const writer of ['thread', 'inline'] as const) {
      it(`${writer} writer: stays not ready while writes still fail where the file system has room (a file size limit), ready once it is raised`, async function () {
        try {
          execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
        } catch {
          this.skip();
        }
        const store = await openSqliteStore({ file, writer, readiness: { cacheMs: 0, failureHoldMs: 0 } });
        const before = fileSizeLimit();
        try {
          await store.audit.append([anEvent('config.loaded')]);
          assert.equal(await store.ping(), true);
          // No file may grow past the size the write-ahead log has now: the next commit cannot append to it.
          setFileSizeLimit(`${fs.statSync(`${file}-wal`).size}:${before.split(':')[1]}`);
          try {
            await assert.rejects(store.audit.append([big(200_000)]), (err: Error) => store.storageFault(err) === 'disk');
            assert.equal(await store.ping(), false, 'not ready: the next write fails as this one did');
            assert.match(store.writeReadiness().problem ?? '', new RegExp(`this process may not grow a file past \\d+ bytes \\(its file size limit, ulimit -f or LimitFSIZE\\), and ${file}-wal is \\d+ bytes: writes that grow it fail \\(EFBIG\\)`));
            assert.equal(await store.ping(), false, 'still not ready at the next probe');
          } finally {
            setFileSizeLimit(before);
          }
          assert.equal(await store.ping(), true, 'ready once the limit is raised');
          await store.audit.append([big(200_000)]);
          assert.equal((await verifyChain(store.audit.read())).ok, true);
        } finally {
          setFileSizeLimit(before);
          await store.close();
        }
      });
    }

    describe('on a file system the kernel made read-only under it (root: an ext4 image, errors=remount-ro)', () => {
      let mount: string;
      let image: string;
      before(function () {
        mount = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-erofs-'));
        image = `${mount}.img`;
        try {
          fs.writeFileSync(image, '');
          fs.truncateSync(image, 16 * 1024 * 1024);
          execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' });
          execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, mount], { stdio: 'ignore' });
        } catch {
          fs.rmSync(mount, { recursive: true, force: true });
          fs.rmSync(image, { force: true });
          this.skip();
        }
      });
      after(() => {
        if (!mount || !fs.existsSync(mount)) return;
        try {
          execFileSync('umount', [mount], { stdio: 'ignore' });
        } catch {
          // not mounted (skipped)
        }
        fs.rmSync(mount, { recursive: true, force: true });
        fs.rmSync(image, { force: true });
      });

      it('is not ready as soon as it is read-only, before a write fails, saying read-only and what to do; stays so while its writes fail', async function () {
        const device = path.basename(execFileSync('findmnt', ['-n', '-o', 'SOURCE', mount], { encoding: 'utf8' }).trim());
        const trigger = `/sys/fs/ext4/${device}/trigger_fs_error`;
        if (!fs.existsSync(trigger)) this.skip();
        const store = await openSqliteStore({ file: path.join(mount, 'countersign.db'), readiness: { cacheMs: 0, failureHoldMs: 0 } });
        try {
          await store.audit.append([anEvent('config.loaded')]);
          assert.equal(await store.ping(), true);
          // What ext4 does after a disk error with errors=remount-ro: every write to it fails with EROFS.
          fs.writeFileSync(trigger, 'countersign readiness test');
          // The lock can still be taken and statfs shows room: before, ready until a write failed.
          assert.equal(await store.ping(), false, 'not ready: no write can succeed');
          // EROFS from access(2) on older kernels (the superblock read-only), the mount's emergency_ro on recent ones.
          const how = new RegExp(`^the file system holding ${mount} is read-only \\((EROFS|ro at ${mount}|emergency_ro at ${mount}, after an error)\\), so`);
          assert.match(store.writeReadiness().problem ?? '', how);
          const readOnly =
            `${/^(.*?), so/.exec(store.writeReadiness().problem ?? '')?.[1]}, so no write to the database can succeed: it was mounted read-only, ` +
            'or the kernel made it so after a disk error (its log, dmesg, says which). Make it writable again (mount -o remount,rw; ' +
            'after a disk error, stop Countersign, check the file system with fsck and mount it again): Countersign is ready once a write commits';
          assert.equal(store.writeReadiness().problem, readOnly);
          // Told to people as read-only, not as a full or failing disk (fault-text.ts).
          await assert.rejects(store.audit.append([big(200_000)]), (err: Error) => store.storageFault(err) === 'read-only-file-system');
          assert.equal(await store.ping(), false, 'not ready: the next write fails as this one did');
          assert.equal(store.writeReadiness().problem, readOnly);
          assert.equal(await store.ping(), false, 'and at the next probe');
        } finally {
          await store.close();
        }
      });
    });

    it('is not ready once closed', async () => {
      const store = await openSqliteStore({ file });
      assert.equal(await store.ping(), true);
      await store.close();
      assert.equal(await store.ping(), false);
    });

    /**
     * A store whose writes wait 300 ms for the lock, while another process holds the write lock
     * during `held`; ready again once it is released.
     */
    async function whileLockHeld(held: (store: SqliteStore) => Promise<void>): Promise<void> {
      const store = await openSqliteStore({ file, busyTimeoutMs: 300, readiness: { cacheMs: 0 } });
      await store.audit.append([anEvent('config.loaded')]);
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        await held(store);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      assert.equal(await store.ping(), true);
      await store.close();
    }

    it('is ready while another process holds the lock for less than writes wait, not ready past it, ready after', async () => {
      await whileLockHeld(async (store) => {
        assert.equal(await store.ping(), true, 'a short lock is waited out by writes');
        await new Promise((r) => setTimeout(r, 350));
        assert.equal(await store.ping(), false);
        assert.match(store.writeReadiness().problem ?? '', /another process has held the write lock/);
      });
    });

    it('is not ready at the first probe after a write gave up on a lock that is still held', async () => {
      await whileLockHeld(async (store) => {
        await assert.rejects(store.audit.append([anEvent('request.created')]), /write lock/i);
        assert.equal(await store.ping(), false, 'the write watched the lock for the whole wait already');
        assert.match(store.writeReadiness().problem ?? '', /another process has held the write lock for \d+ ms \(writes wait 300 ms\)/);
      });
    });
  });

  describe('/readyz', () => {
    let h: Harness;
    afterEach(async () => h?.stop());
    const readyz = async () => (await fetch(`${h.bot.url}/readyz`)).status;

    it('is 503 while the database is full and 200 again once it has room, /healthz 200 throughout', async () => {
      h = await startHarness();
      const store = h.bot.deps.store as SqliteStore;
      assert.equal(await readyz(), 200);
      await fillUp(store);
      await assert.rejects(store.audit.append([big(200_000)]));
      assert.equal(await readyz(), 503);
      assert.ok(h.logs.some((l) => l.msg === 'store not ready for writes: /readyz answers 503' && /full/.test(String(l.problem))), 'the log says why');
      assert.equal((await fetch(`${h.bot.url}/healthz`)).status, 200);
      await makeRoom(store);
      await eventually('ready again', async () => (await readyz()) === 200);
    });

    it('tells a person whose request could not be saved that the database is full or failing, not that something broke inside', async () => {
      h = await startHarness();
      const store = h.bot.deps.store as SqliteStore;
      await fillUp(store);
      // Whatever room the pages it has still hold, filled too.
      for (let i = 0; i < 1000; i++) if (!(await store.audit.append([big(500)]).then(() => true, () => false))) break;
      const from = await h.teams.say(people.alice, 'delete resource group staging-old reason: cleanup');
      const answers = h.teams.since(from).map((a) => String(a.activity.text));
      assert.ok(answers.some((t) => /its database cannot take writes right now \(its disk is full or failing\), so nothing was changed/.test(t)), answers.join('\n'));
      await makeRoom(store);
    });

    it('tells a person whose click could not be recorded that the database is full or failing, and leaves the request as it was', async () => {
      h = await startHarness();
      const store = h.bot.deps.store as SqliteStore;
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      await fillUp(store);
      for (let i = 0; i < 1000; i++) if (!(await store.audit.append([big(500)]).then(() => true, () => false))) break;
      const answer = await h.teams.click(people.bob, cardId, 'approve');
      assert.match(String(answer.body.value), new RegExp(`Countersign could not record this action for request ${requestId}: its database cannot take writes right now \\(its disk is full or failing\\), so nothing was changed`));
      await makeRoom(store);
      assert.equal((await store.requests.get(requestId))?.state, 'pending');
    });

    it('is 503 while another process holds the write lock past the limit, 200 after', async () => {
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '300ms' } });
      const other = new Database(databaseFile(h.dataDir));
      other.exec('BEGIN IMMEDIATE');
      try {
        await eventually('not ready', async () => (await readyz()) === 503, 5000);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      await eventually('ready again', async () => (await readyz()) === 200, 5000);
    });
  });
});
