/**
 * The database file deleted, replaced or cut while Countersign has it open. SQLite goes on writing
 * to the file it opened, so without a check every commit "succeeds" into a file that no longer is
 * at its path, and all of it is gone at the next start. The writer checks before each COMMIT and
 * readiness between writes: the writes are refused, readiness says why, and the bot is told it must
 * restart (node dist/main.js exits with 1; its next start checks the log against the checkpoints).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { DatabaseFileGoneError } from '../../src/store/sqlite/file-watch';
import { anEvent } from '../store/fixtures';
import { verifyChain } from '../../src/audit/verify/verify';
import { eventually, people } from '../support/teams';
import { requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { databaseFile } from '../../src/settings';
import { startWatchedBot } from '../support/fatal-bot';
import { audit } from '../cli/run-audit';
import { StartupError } from '../../src/composition-root';

/** The newest record of the log in the data directory, read beside the running bot. */
async function lastRecord(dataDir: string): Promise<{ seq: number; hash: string }> {
  const db = new Database(path.join(dataDir, 'countersign.db'), { readonly: true });
  try {
    return db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
  } finally {
    db.close();
  }
}

describe('the database file deleted, replaced or cut while open', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-gone-'));
    file = path.join(dir, 'countersign.db');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const faults: [string, (file: string) => void, RegExp][] = [
    ['deleted with its WAL', (f) => ['', '-wal', '-shm'].forEach((s) => fs.rmSync(f + s, { force: true })), /was deleted while Countersign had it open/],
    ['cut to nothing', (f) => fs.truncateSync(f, 0), /was cut from \d+ to 0 bytes/],
    [
      'replaced by another file',
      (f) => {
        fs.copyFileSync(f, `${f}.copy`);
        fs.renameSync(`${f}.copy`, f);
      },
      /was replaced by another file/,
    ],
    ['its write-ahead log deleted', (f) => fs.rmSync(`${f}-wal`), /write-ahead log .*-wal was deleted/],
    ['its write-ahead log cut short', (f) => fs.truncateSync(`${f}-wal`, 0), /write-ahead log .*-wal was cut from \d+ to 0 bytes/],
    ['its shared-memory file deleted', (f) => fs.rmSync(`${f}-shm`), /shared-memory file .*-shm was deleted while Countersign had the database open: other processes no longer share its write lock/],
  ];

  for (const writer of ['thread', 'inline'] as const) {
    for (const [what, fault, message] of faults) {
      it(`${writer} writer, ${what}: refuses the next write and every later one, is not ready, and says it must restart`, async () => {
        const stopped: Error[] = [];
        const store: SqliteStore = await openSqliteStore({ file, writer, onWriterStopped: (err) => stopped.push(err) });
        try {
          await store.audit.append([anEvent('config.loaded')]);
          assert.equal(await store.ping(), true);
          fault(file);
          await assert.rejects(store.audit.append([anEvent('request.created')]), (err: Error) => err.name === DatabaseFileGoneError.name && message.test(err.message));
          await eventually('told', () => stopped.length > 0);
          assert.equal(stopped.length, 1);
          assert.match(stopped[0].message, message);
          await assert.rejects(store.audit.append([anEvent('request.approved')]), message);
          assert.equal(await store.ping(), false);
          const readiness = store.writeReadiness();
          assert.match(readiness.problem ?? '', writer === 'thread' ? /writer thread|was|write-ahead/ : message);
        } finally {
          await store.close();
        }
      });
    }
  }

  it('leaves the database file readable after its write-ahead log was cut short under it: nothing written over the hole', async () => {
    const store: SqliteStore = await openSqliteStore({ file, onWriterStopped: () => undefined });
    try {
      for (let i = 0; i < 20; i++) await store.audit.append([anEvent('config.loaded')]);
      fs.truncateSync(`${file}-wal`, 0);
      await assert.rejects(store.audit.append([anEvent('request.created')]), /write-ahead log .* was cut from \d+ to 0 bytes/);
      await assert.rejects(store.audit.append([anEvent('request.created')]), /write-ahead log .* was cut from \d+ to 0 bytes/);
    } finally {
      await store.close().catch(() => undefined);
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database file is what the last checkpoint left, intact');
    } finally {
      db.close();
    }
  });

  for (const writer of ['thread', 'inline'] as const) {
    it(`${writer} writer: goes on after another process emptied the -wal by a checkpoint (wal_checkpoint(TRUNCATE) in a sqlite3 shell), found by a write or by readiness`, async () => {
      const stopped: Error[] = [];
      const store: SqliteStore = await openSqliteStore({ file, writer, readiness: { cacheMs: 0 }, onWriterStopped: (err) => stopped.push(err) });
      try {
        const shell = new Database(file);
        try {
          for (let round = 0; round < 2; round++) {
            for (let i = 0; i < 5; i++) await store.audit.append([anEvent('config.loaded')]);
            assert.ok(fs.statSync(`${file}-wal`).size > 0);
            assert.deepEqual(shell.pragma('wal_checkpoint(TRUNCATE)'), [{ busy: 0, log: 0, checkpointed: 0 }]);
            assert.equal(fs.statSync(`${file}-wal`).size, 0);
            // First a write meets it (inside its transaction), then readiness (between writes).
            if (round === 0) await store.audit.append([anEvent('request.created')]);
            else assert.equal(await store.ping(), true, store.writeReadiness().problem);
          }
          await store.audit.append([anEvent('request.approved')]);
          assert.equal(await store.ping(), true);
        } finally {
          shell.close();
        }
        assert.deepEqual(stopped, []);
        assert.equal((await verifyChain(store.audit.read())).ok, true);
        assert.equal((await store.audit.head())?.seq, 12);
      } finally {
        await store.close();
      }
    });
  }

  it('is found by readiness between writes, which stops the writes as a commit would', async () => {
    const stopped: Error[] = [];
    const store = await openSqliteStore({ file, readiness: { cacheMs: 0 }, onWriterStopped: (err) => stopped.push(err) });
    try {
      await store.audit.append([anEvent('config.loaded')]);
      fs.rmSync(file);
      assert.equal(await store.ping(), false);
      const readiness = store.writeReadiness();
      assert.match(readiness.problem ?? '', /was deleted while Countersign had it open/);
      await eventually('told', () => stopped.length > 0);
      await assert.rejects(store.audit.append([anEvent('request.created')]), /was deleted/);
    } finally {
      await store.close();
    }
  });

  it('leaves a store whose file stays put alone, however much it grows', async () => {
    const stopped: Error[] = [];
    const store = await openSqliteStore({ file, onWriterStopped: (err) => stopped.push(err) });
    try {
      for (let i = 0; i < 20; i++) await store.audit.append(Array.from({ length: 50 }, () => anEvent('request.created')));
      assert.equal(await store.ping(), true);
    } finally {
      await store.close();
    }
    assert.deepEqual(stopped, []);
  });

  it('refuses a second bot on the same data directory, and takes it once the first stopped', async () => {
    const first = await startWatchedBot(dir);
    try {
      await assert.rejects(startWatchedBot(dir), (err: Error) => err instanceof StartupError && /another Countersign is already running on the data directory .* the SQLite store serves one instance/.test(err.message));
      assert.equal((await fetch(`${first.bot.url}/readyz`)).status, 200, 'the first goes on');
    } finally {
      await first.stop();
    }
    const second = await startWatchedBot(dir);
    await second.stop();
  });

  it('starts a bot while a command-line tool holds the instance lock for a moment to see whether one runs', async () => {
    // As instanceRunning does, in another process: the lock taken, then let go after 500 ms; the bot's start waits that out.
    const lockFile = path.join(dir, 'countersign.instance-lock');
    const script = `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))}); const db = new D(${JSON.stringify(lockFile)}); db.exec('BEGIN EXCLUSIVE'); process.stdout.write('held\\n'); setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 500);`;
    const probe = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => probe.stdout.once('data', () => resolve()));
    const w = await startWatchedBot(dir);
    await w.stop();
  });

  it('keeps the command line off a database whose -shm file was deleted under the running bot: it would not share its lock', async () => {
    const w = await startWatchedBot(dir);
    try {
      fs.rmSync(path.join(dir, 'countersign.db-shm'));
      // Those that write, and those that only read (a read would make a new -shm and hide the deletion from the next writer).
      for (const args of [['checkpoint'], ['export', '--format', 'jsonl', '--out', path.join(dir, 'x.jsonl')], ['verify']]) {
        const cli = await audit([...args, '--data-dir', dir]);
        assert.equal(cli.code, 1, `${args[0]}: ${cli.stdout}${cli.stderr}`);
        assert.match(cli.stderr, /the database's shared-memory file .*countersign\.db-shm is missing while Countersign runs on .*: opening the database now would make a new one that does not share Countersign's write lock.*Nothing was opened/);
        assert.equal(fs.existsSync(path.join(dir, 'countersign.db-shm')), false, `${args[0]}: no new one was made`);
      }
      // The bot finds it gone at its next write (or readiness probe) and stops writing.
      await eventually('not ready', async () => (await fetch(`${w.bot.url}/readyz`)).status === 503);
      await eventually('told', () => w.fatal.length > 0);
      assert.match(w.fatal[0], /shared-memory file .*-shm was deleted/);
    } finally {
      await w.stop();
    }
  });

  it('stops writing when the instance lock file is deleted under the bot, since a second one could then start beside it', async () => {
    const w = await startWatchedBot(dir);
    try {
      fs.rmSync(path.join(dir, 'countersign.instance-lock'));
      await eventually('not ready', async () => (await fetch(`${w.bot.url}/readyz`)).status === 503);
      await eventually('told', () => w.fatal.length > 0);
      assert.match(w.fatal[0], /the instance lock file .*countersign\.instance-lock was deleted while Countersign ran: a second Countersign could start on this data directory beside it/);
    } finally {
      await w.stop();
    }
  });

  /** 400 records checkpointed into the file, then the store opened again with `writer`, its stops collected. */
  async function reopenedWith400Records(writer: 'thread' | 'inline'): Promise<{ store: SqliteStore; stopped: Error[] }> {
    const before = await openSqliteStore({ file });
    for (let i = 0; i < 20; i++) await before.audit.append(Array.from({ length: 20 }, () => anEvent('request.created')));
    await before.close();
    const stopped: Error[] = [];
    return { store: await openSqliteStore({ file, writer, onWriterStopped: (err) => stopped.push(err) }), stopped };
  }

  for (const writer of ['thread', 'inline'] as const) {
    it(`${writer} writer: a read that finds the file cut short calls it damaged and stops the store, once, with what the file check finds`, async () => {
      // A database in the file (checkpointed at close), then a few records in the write-ahead log only.
      const { store, stopped } = await reopenedWith400Records(writer);
      try {
        await store.audit.append([anEvent('request.approved')]);
        fs.truncateSync(file, 0);
        const err = await (async () => {
          for await (const r of store.audit.read()) void r;
        })().then(
          () => assert.fail('read a database cut to nothing'),
          (e: unknown) => e,
        );
        assert.match(String((err as { code?: unknown }).code), /^SQLITE_(CORRUPT|NOTADB)/);
        assert.equal(store.storageFault(err), 'damaged', 'not "disk full, try again later"');
        assert.equal(store.storageFault(err), 'damaged');
        await eventually('stopped', () => stopped.length > 0);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(stopped.length, 1, 'told once');
        assert.match(stopped[0].message, /was cut from \d+ to 0 bytes/);
      } finally {
        await store.close();
      }
    });
  }

  for (const writer of ['thread', 'inline'] as const) {
    it(`${writer} writer: a background read (a sweep's, only logged) that finds the file overwritten in place stops the store too`, async () => {
      const { store, stopped } = await reopenedWith400Records(writer);
      try {
        // Written over in place, as `cp old.db countersign.db` does: the same file, the same size, other pages.
        const size = fs.statSync(file).size;
        const fd = fs.openSync(file, 'r+');
        fs.writeSync(fd, Buffer.alloc(size - 8192, 0xa5), 0, size - 8192, 8192);
        fs.closeSync(fd);
        const err = await (async () => {
          for await (const r of store.audit.read()) void r;
        })().then(
          () => assert.fail('read a database written over'),
          (e: unknown) => e,
        );
        assert.match(String((err as { code?: unknown }).code), /^SQLITE_(CORRUPT|NOTADB)/);
        // Nobody asks storageFault(err): the sweep that met it only logs it.
        await eventually('stopped', () => stopped.length > 0);
        assert.match(stopped[0].message, /no longer reads as a database/);
        await assert.rejects(store.audit.append([anEvent('request.approved')]));
      } finally {
        await store.close().catch(() => undefined);
      }
    });
  }

  for (const writer of ['thread', 'inline'] as const) {
    for (const by of ['readiness', 'a write'] as const) {
      it(`${writer} writer: an older copy put over the file in place, that reads as a valid database, is found by ${by} (the log went back) and stops the store`, async () => {
        const stopped: Error[] = [];
        const store: SqliteStore = await openSqliteStore({ file, writer, onWriterStopped: (err) => stopped.push(err) });
        const checkpoint = () => {
          // What a checkpoint of another process (or the bot's own) does: every frame copied into the file.
          const other = new Database(file);
          other.pragma('wal_checkpoint(PASSIVE)');
          other.close();
        };
        let oldHead = 0;
        try {
          for (let i = 0; i < 10; i++) await store.audit.append(Array.from({ length: 10 }, () => anEvent('request.created')));
          checkpoint();
          const old = fs.readFileSync(file);
          oldHead = (await lastRecord(dir)).seq;
          await store.audit.append([anEvent('config.loaded')]);
          await store.audit.append([anEvent('config.loaded')]);
          checkpoint();
          const head = (await lastRecord(dir)).seq;
          assert.equal(fs.statSync(file).size, old.length, 'the same size: the size check cannot tell');
          assert.equal(await store.ping(), true);
          // `cp old.db countersign.db`: the same file (inode), the same size, an older valid database.
          fs.writeFileSync(file, old);
          const missing = new RegExp(`went back while Countersign had it open: this instance had committed or seen it reach record ${head}, and it now ends at record ${oldHead}, so records ${oldHead + 1} to ${head} are missing`);
          if (by === 'readiness') {
            await new Promise((r) => setTimeout(r, 1100));
            assert.equal(await store.ping(), false);
            if (writer === 'inline') assert.match(store.writeReadiness().problem ?? '', missing);
            await eventually('told', () => stopped.length > 0);
            await assert.rejects(store.audit.append([anEvent('request.approved')]), missing);
          } else {
            await assert.rejects(store.audit.append([anEvent('request.approved')]), (err: Error) => err.name === DatabaseFileGoneError.name && missing.test(err.message));
          }
          await eventually('told', () => stopped.length > 0);
          assert.equal(stopped.length, 1);
          assert.match(stopped[0].message, missing);
          assert.match(stopped[0].message, /Restore the database, with its -wal file, from a backup/);
          assert.equal(await store.ping(), false);
        } finally {
          await store.close().catch(() => undefined);
        }
        assert.equal((await lastRecord(dir)).seq, oldHead, 'nothing was appended onto the older copy');
      });
    }
  }

  it('says, under a card status posted but could not record because the file was deleted, that the database changed and Countersign is stopping', async () => {
    let h: Harness | undefined;
    try {
      h = await startHarness();
      const { requestId } = await requestVia(h, 'delete resource group staging-old');
      fs.rmSync(databaseFile(h.dataDir));
      const from = await h.teams.say(people.bob, `status ${requestId}`);
      const answers = h.teams.since(from).map((a) => String(a.activity.text ?? 'card'));
      assert.equal(answers[0], 'card');
      assert.match(answers[1], new RegExp(`could not record the card above as request ${requestId}'s: its database was changed under it .* Countersign is stopping.* Its buttons will be refused\\.$`));
      assert.doesNotMatch(answers[1], /busy|again in a while/);
    } finally {
      await h?.stop().catch(() => undefined);
    }
  });

  it('makes the bot say it must be restarted, and signs into the checkpoint file only the last record it committed', async () => {
    const w = await startWatchedBot(dir);
    const checkpointFile = path.join(dir, 'audit-checkpoints.jsonl');
    const checkpointsBefore = fs.readFileSync(checkpointFile, 'utf8');
    const committed = await lastRecord(dir);
    try {
      fs.rmSync(path.join(dir, 'countersign.db'));
      await eventually('not ready', async () => (await fetch(`${w.bot.url}/readyz`)).status === 503);
      await eventually('told', () => w.fatal.length > 0);
      assert.match(w.fatal[0], /was deleted while Countersign had it open/);
      assert.ok(w.saidMustRestart());
    } finally {
      await w.stop();
    }
    const after = fs.readFileSync(checkpointFile, 'utf8');
    assert.ok(after.startsWith(checkpointsBefore));
    const added = after.slice(checkpointsBefore.length).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
    assert.deepEqual(added.map((c) => [c.seq, c.hash]), [[committed.seq, committed.hash]], 'one checkpoint, of what it had committed: nothing after the file was gone');
  });

  it('makes the bot stop, not ready, naming the records missing, when an older copy is put over its file in place', async () => {
    const w = await startWatchedBot(dir);
    const db = path.join(dir, 'countersign.db');
    const checkpoint = () => {
      const other = new Database(db);
      other.pragma('wal_checkpoint(PASSIVE)');
      other.close();
    };
    try {
      const store = w.bot.deps.store;
      checkpoint();
      const old = fs.readFileSync(db);
      await store.audit.append([anEvent('config.loaded')]);
      checkpoint();
      assert.equal(fs.statSync(db).size, old.length, 'the same size: the size check cannot tell');
      assert.equal((await fetch(`${w.bot.url}/readyz`)).status, 200);
      fs.writeFileSync(db, old);
      await eventually('not ready', async () => (await fetch(`${w.bot.url}/readyz`)).status === 503);
      await eventually('told', () => w.fatal.length > 0);
      assert.match(w.fatal[0], /the audit log in .*countersign\.db went back while Countersign had it open: .* so records \d+ to \d+ are missing from it .* Restore the database, with its -wal file, from a backup/);
      assert.ok(w.saidMustRestart());
    } finally {
      await w.stop();
    }
  });

  it('finds at the next start a log whose write-ahead log was cut short while the bot ran, instead of taking the shorter log', async () => {
    const w = await startWatchedBot(dir);
    try {
      // Records past the last checkpoint, as exports or requests would add: committed, then cut away.
      const store = w.bot.deps.store;
      // What was signed at the start is in the database file itself; what follows only in the write-ahead log.
      const other = new Database(path.join(dir, 'countersign.db'));
      other.pragma('wal_checkpoint(PASSIVE)');
      other.close();
      for (let i = 0; i < 5; i++) await store.audit.append([anEvent('execution.progressed', { data: { i } })]);
      const wal = path.join(dir, 'countersign.db-wal');
      fs.truncateSync(wal, 0);
      await assert.rejects(store.audit.append([anEvent('request.created')]), /write-ahead log .* was cut/);
      await eventually('told', () => w.fatal.length > 0);
      assert.match(w.fatal[0], /write-ahead log .* was cut from \d+ to \d+ bytes/);
    } finally {
      await w.stop();
    }
    assert.ok(!w.lines.some((l) => l.msg === 'audit checkpoint at shutdown failed'), 'no shutdown checkpoint is tried over the stopped store');
    await assert.rejects(startWatchedBot(dir), (err: Error) => /does not match what was signed before[\s\S]*records \d+ to \d+ at least are missing/.test(err.message));
  });
});
