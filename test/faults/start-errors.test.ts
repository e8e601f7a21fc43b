/**
 * A start that cannot open its SQLite store or read its checkpoint file says which file, what
 * SQLite's words mean and what to do, instead of "database is locked" alone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { StartupError, startCountersign } from '../../src/composition-root';
import { loadConfig } from '../../src/config/load';
import type { Logger } from '../../src/log/context';
import type { ArmSandbox } from '../../src/sandbox';
import { databaseFile, readSettings } from '../../src/settings';
import { checkpointFileOf } from '../../src/audit/access/checkpoints';
import { EXAMPLE_CONFIG } from '../support/harness';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { openSqliteStore } from '../../src/store/sqlite';
import { anEvent } from '../store/fixtures';
import { audit } from '../cli/run-audit';

const silent = pino({ level: 'silent' }) as pino.Logger & Logger;

describe('a start that cannot open its SQLite store or checkpoint file', function () {
  this.timeout(30_000);
  let sandbox: ArmSandbox;
  let dataDir: string;
  before(async () => {
    sandbox = await startTestSandbox();
  });
  after(async () => sandbox.close());
  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-start-'));
    await (await start()).stop();
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  function start() {
    return startCountersign({
      settings: readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_STORE_LOCK_WAIT: '300ms' }),
      config: loadConfig(EXAMPLE_CONFIG),
      azure: gatewayFor(sandbox),
      log: silent,
      sweepIntervalMs: 60_000,
    });
  }

  async function refused(): Promise<string> {
    const err = await start().then(async (bot) => (await bot.stop(), undefined), (e: unknown) => e);
    assert.ok(err instanceof StartupError || err instanceof Error, String(err));
    return (err as Error).message;
  }

  it('names the file size limit (ulimit -f) a start cannot write past, not a failing disk', async function () {
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip(); // util-linux's prlimit sets this process's limit
    }
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max file size'))!;
    const before = line.replace('Max file size', '').trim().split(/\s+/).slice(0, 2).join(':');
    // Smaller than the database: the start's first write past it fails with EFBIG (SQLite: disk I/O error).
    execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=8192:${before.split(':')[1]}`]);
    let message: string;
    try {
      message = await refused();
    } finally {
      execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${before}`]);
    }
    assert.match(message, new RegExp(`^the SQLite database ${databaseFile(dataDir)} cannot grow: this process may not grow a file past 8192 bytes \\(its file size limit, ulimit -f or LimitFSIZE\\), and ${databaseFile(dataDir)}(-wal)? is \\d+ bytes: writes that grow it fail \\(EFBIG\\) \\(disk I/O error\\): raise the limit, then start again`));
    await (await start()).stop();
  });

  it('names the file and the other process when the write lock is held past the wait', async () => {
    const other = new Database(databaseFile(dataDir));
    other.exec('BEGIN IMMEDIATE');
    try {
      const said = await refused();
      assert.match(said, new RegExp(`^the SQLite database ${databaseFile(dataDir).replace(/[.]/g, '\\.')} is locked by another process .* \\(database is locked\\): let it finish or close it, then start again$`));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('says a damaged database is to be restored from a backup', async () => {
    const fd = fs.openSync(databaseFile(dataDir), 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 4096);
    fs.closeSync(fd);
    assert.match(await refused(), /is damaged \(database disk image is malformed\): restore it, with its -wal file, from a backup/);
  });

  it('says a database damaged where only the checks of the start read (its checkpoint table) is to be restored from a backup', async () => {
    const file = databaseFile(dataDir);
    const db = new Database(file);
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_checkpoints'").pluck().get() as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    fs.closeSync(fd);
    assert.match(await refused(), new RegExp(`^the SQLite database ${file.replace(/[.]/g, '\\.')} is damaged \\(database disk image is malformed\\): restore it, with its -wal file, from a backup`));
  });

  it('names a damaged audit log that reads as a shorter one as damaged, to restore, and offers no accept-loss (which refuses it)', async () => {
    const file = databaseFile(dataDir);
    const store = await openSqliteStore({ file });
    // Each record about a page long, so the log's B-tree has an interior root over many leaves.
    for (let i = 0; i < 40; i++) await store.audit.append([anEvent('request.created', { outcome: { result: 'ok', detail: `${i} ${'x'.repeat(3000)}` } })]);
    await store.close();
    await (await start()).stop();
    const db = new Database(file);
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'").pluck().get() as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // The root's right-most child pointer (bytes 8 to 11 of an interior page) made to name its first
    // child: no read fails, but the log now seems to end at the last record of that child.
    const fd = fs.openSync(file, 'r+');
    const page = Buffer.alloc(pageSize);
    fs.readSync(fd, page, 0, pageSize, (root - 1) * pageSize);
    assert.equal(page[0], 0x05, 'an interior table page');
    const firstCell = page.readUInt16BE(12);
    page.writeUInt32BE(page.readUInt32BE(firstCell), 8);
    fs.writeSync(fd, page, 0, pageSize, (root - 1) * pageSize);
    fs.closeSync(fd);
    const said = await refused();
    assert.match(said, new RegExp(`^Countersign will not start: the SQLite database ${file.replace(/[.]/g, '\\.')} is damaged \\(PRAGMA quick_check: [^)]+\\), so what the audit log seems to lack below may only be unreadable\\.`));
    assert.match(said, /as read from the damaged file: the audit log ends at record \d+, but the checkpoint/);
    assert.match(said, /Restore the database \(and its -wal file\) from a backup\. Do not accept this as a loss/);
    assert.doesNotMatch(said, /--reason/);
    const run = await audit(['accept-loss', '--data-dir', dataDir, '--reason', 'try']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /is damaged \(PRAGMA quick_check[\s\S]*Nothing was recorded/);
    assert.match(await refused(), /is damaged/, 'still refused: nothing was written into the damaged file');
  });

  it('says a directory where the checkpoint file belongs is not the file', async () => {
    const file = checkpointFileOf(dataDir);
    fs.rmSync(file);
    fs.mkdirSync(file);
    assert.match(await refused(), /^cannot read the checkpoint file .*audit-checkpoints\.jsonl: it is a directory, not a file/);
  });
});
