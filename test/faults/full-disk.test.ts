/**
 * A disk that filled up while Countersign was stopped: the start says the disk is full and names the
 * database, and `countersign audit verify` says what stopped its read. The data directory is a small
 * tmpfs filled to the last block (a real full disk, not SQLite's max_page_count), so those tests need
 * root to mount it and are skipped without.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startCountersign } from '../../src/composition-root';
import { loadConfig } from '../../src/config/load';
import type { Logger } from '../../src/log/context';
import type { ArmSandbox } from '../../src/sandbox';
import { readSettings } from '../../src/settings';
import { INSTANCE_LOCK_FILE, lockDataDirectory } from '../../src/store/sqlite';
import { audit } from '../cli/run-audit';
import { EXAMPLE_CONFIG } from '../support/harness';
import { gatewayFor, startTestSandbox } from '../support/sandbox';

const silent = pino({ level: 'silent' }) as pino.Logger & Logger;

/** Writes zeros into `dir` until the file system holding it has no block left. */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const block = Buffer.alloc(4096);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

describe('a full disk', function () {
  this.timeout(30_000);

  it('takes the instance lock without writing a file beside it (a -journal would need room the disk may not have)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-lock-'));
    try {
      const lock = lockDataDirectory(dir);
      try {
        assert.deepEqual(fs.readdirSync(dir).sort(), [INSTANCE_LOCK_FILE]);
        assert.throws(() => lockDataDirectory(dir), /another Countersign is already running/);
      } finally {
        lock.release();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the instance lock file and what to check when it cannot be opened', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-lock-'));
    fs.mkdirSync(path.join(dir, INSTANCE_LOCK_FILE));
    const sandbox = await startTestSandbox();
    try {
      const err = await startCountersign({
        settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dir }),
        config: loadConfig(EXAMPLE_CONFIG),
        azure: gatewayFor(sandbox),
        log: silent,
      }).then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e as Error);
      assert.match(err?.message ?? '', new RegExp(`^Countersign cannot write the SQLite database ${path.join(dir, INSTANCE_LOCK_FILE)} \\(unable to open database file\\): .*check their owner and mode`));
    } finally {
      await sandbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on a tmpfs filled to its last block (root)', () => {
    let dir: string;
    let sandbox: ArmSandbox;
    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-full-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'ignore' });
      } catch {
        fs.rmSync(dir, { recursive: true, force: true });
        this.skip();
      }
      sandbox = await startTestSandbox();
    });
    after(async () => {
      await sandbox?.close();
      if (!dir || !fs.existsSync(dir)) return;
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        // not mounted (skipped)
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });

    function start() {
      return startCountersign({
        settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dir }),
        config: loadConfig(EXAMPLE_CONFIG),
        azure: gatewayFor(sandbox),
        log: silent,
        sweepIntervalMs: 60_000,
      });
    }

    it('stops a start with the disk full and the database named, verify says its read needs room, and both work once there is room', async () => {
      await (await start()).stop();
      fill(dir);

      const refused = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e as Error);
      assert.match(refused?.message ?? '', new RegExp(`^the disk holding ${path.join(dir, 'countersign.db')} is full or nearly so \\(0 KiB free; .*\\): free some space, then start again`));

      const verify = await audit(['verify', '--data-dir', dir]);
      assert.equal(verify.code, 1);
      assert.match(verify.stderr, /^error: Countersign could not read its audit database \(.*SQLITE_(FULL|IOERR)[A-Z_]*\): SQLite needs a little room on the disk beside the database even to read it .* This command changes nothing; free some space/);
      assert.doesNotMatch(verify.stderr, /what it did is not recorded/);

      fs.rmSync(path.join(dir, 'filler'));
      await (await start()).stop();
      const ok = await audit(['verify', '--data-dir', dir]);
      assert.equal(ok.code, 0, ok.stderr);
    });
  });
});
