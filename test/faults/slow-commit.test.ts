/**
 * A commit that takes long (a slow or stalled fsync, a disk under someone else's load). The SQLite
 * store commits on its writer thread, so the bot's event loop goes on: /healthz and read-only
 * commands answer while a click's commit is stalled, and nothing of that write is visible to readers
 * before its COMMIT returned. The fault hook (StoreWriter.stallCommits) blocks the committing
 * thread just before each COMMIT, as a slow fsync would; with the inline writer the same hook
 * blocks the event loop, which is what the thread avoids.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CommitOutcomeUnknownError, withTurnDeadline } from '../../src/app/ports';
import type { ApprovalRequest } from '../../src/domain/request';
import { failedText } from '../../src/teams/fault-text';
import { asked, click } from '../app/steps';
import { appOnStore } from '../support/app-on-fakes';
import { alice, bob } from '../support/people';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { anEvent } from '../store/fixtures';
import { requestVia, settled } from '../support/flows';
import { longestStall } from '../support/event-loop';
import { startHarness, type Harness } from '../support/harness';
import { eventually, people } from '../support/teams';
import { startWatchedBot } from '../support/fatal-bot';


/** Tracks whether a promise has settled yet. */
function watch<T>(p: Promise<T>): { promise: Promise<T>; settled(): boolean } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { promise, settled: () => done };
}

describe('a commit that takes long (slow fsync)', function () {
  this.timeout(30000);

  describe('the store', () => {
    let dir: string;
    let file: string;
    let store: SqliteStore | undefined;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-slow-'));
      file = path.join(dir, 'countersign.db');
    });
    afterEach(async () => {
      await store?.close();
      store = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('commits on its writer thread: the event loop runs on while a commit is stalled', async () => {
      store = await openSqliteStore({ file });
      await store.audit.append([anEvent('config.loaded')]);
      await store.writer.stallCommits(1200);
      const started = Date.now();
      const { value, stallMs } = await longestStall(store.audit.append([anEvent('request.created')]));
      assert.equal(value.status, 'fulfilled');
      assert.ok(Date.now() - started >= 1100, 'the append waited for its stalled commit');
      assert.ok(stallMs < 500, `the event loop stalled ${stallMs} ms`);
    });

    it('the same stall blocks the event loop with the inline writer (what the thread is for)', async () => {
      store = await openSqliteStore({ file, writer: 'inline' });
      await store.writer.stallCommits(600);
      const { value, stallMs } = await longestStall(store.audit.append([anEvent('config.loaded')]));
      assert.equal(value.status, 'fulfilled');
      assert.ok(stallMs >= 500, `the event loop stalled only ${stallMs} ms`);
    });

    it('shows readers nothing of a write before its commit returned', async () => {
      store = await openSqliteStore({ file });
      const [first] = await store.audit.append([anEvent('config.loaded')]);
      await store.writer.stallCommits(800);
      const ref = watch(store.conversations.saveReference('conv-slow', { id: 'conv-slow' }));
      const append = watch(store.audit.append([anEvent('request.created')]));
      // The writer thread has run both writes' statements and waits before COMMIT.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(append.settled(), false);
      assert.deepEqual(await store.audit.head(), { seq: first.seq, hash: first.hash });
      assert.equal(await store.conversations.getReference('conv-slow'), undefined);
      const [second] = await append.promise;
      await ref.promise;
      assert.deepEqual(await store.audit.head(), { seq: second.seq, hash: second.hash });
      assert.deepEqual(await store.conversations.getReference('conv-slow'), { id: 'conv-slow' });
    });

    it('says not ready while the writer thread is stuck in a commit, ready again after', async () => {
      store = await openSqliteStore({ file, readiness: { cacheMs: 0, writerAnswerMs: 200 } });
      await store.audit.append([anEvent('config.loaded')]);
      await store.writer.stallCommits(1000);
      const append = store.audit.append([anEvent('request.created')]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /writer thread has not answered for 200 ms/);
      await append;
      await store.writer.stallCommits(0);
      assert.equal(await store.ping(), true);
    });
  });

  describe('a writer thread that stops', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-writer-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('fails the writes it had not answered as "outcome unknown", says so once, and is not ready after', async () => {
      const stopped: Error[] = [];
      const store = await openSqliteStore({ file: path.join(dir, 'countersign.db'), onWriterStopped: (err) => stopped.push(err) });
      await store.audit.append([anEvent('config.loaded')]);
      await store.writer.stallCommits(2000);
      const inFlight = store.audit.append([anEvent('request.created')]);
      await new Promise((r) => setTimeout(r, 200));
      // A crash of the thread (reaching into the writer: there is no other way to make it die).
      await (store.writer as unknown as { worker: Worker }).worker.terminate();
      await assert.rejects(inFlight, (err: Error) => err instanceof CommitOutcomeUnknownError && /writer thread .* stopped/.test(err.message));
      await assert.rejects(store.audit.append([anEvent('request.approved')]), /writer thread .* stopped/);
      assert.equal(stopped.length, 1);
      assert.equal(await store.ping(), false);
      assert.match(store.writeReadiness().problem ?? '', /writer thread .* stopped/);
      await store.close();
      assert.equal(stopped.length, 1, 'closing afterwards is not another stop');
    });

    it('makes the bot say it must be restarted, and hands that on (node dist/main.js then exits with 1)', async () => {
      const w = await startWatchedBot(dir);
      try {
        await (w.bot.store as unknown as { writer: { worker: Worker } }).writer.worker.terminate();
        await eventually('told', () => w.fatal.length > 0);
        assert.match(w.fatal[0], /writer thread .* stopped/);
        assert.ok(w.saidMustRestart());
        assert.equal((await fetch(`${w.bot.url}/readyz`)).status, 503);
      } finally {
        await w.stop();
      }
    });

    it('is not reported as stopped when it is closed', async () => {
      const stopped: Error[] = [];
      const store = await openSqliteStore({ file: path.join(dir, 'countersign.db'), onWriterStopped: (err) => stopped.push(err) });
      await store.audit.append([anEvent('config.loaded')]);
      await store.close();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(stopped, []);
    });
  });

  describe('the bot', () => {
    let h: Harness;
    afterEach(async () => h?.stop());

    it('answers /healthz and read-only commands while a click waits for its stalled commit; the click then succeeds', async () => {
      h = await startHarness();
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      await h.teams.say(people.bob, 'pending'); // bob's conversation reference is stored before the stall
      const store = h.bot.deps.store as SqliteStore;
      await store.writer.stallCommits(2500);
      const click = watch(h.teams.click(people.bob, cardId, 'approve'));
      await new Promise((r) => setTimeout(r, 300)); // the click's commit has begun its stall
      const health = await fetch(`${h.bot.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(click.settled(), false, '/healthz answered while the click was still waiting for its commit');
      // `help` reads only (`status` records the card it posts, which is a write).
      const from = await h.teams.say(people.bob, 'help');
      assert.ok(h.teams.since(from).length > 0, 'help was answered');
      assert.equal(click.settled(), false, 'help answered while the click was still waiting for its commit');
      assert.equal((await store.requests.get(requestId))?.state, 'pending', 'the approval is not visible before its commit');
      await store.writer.stallCommits(0);
      const answer = await click.promise;
      assert.doesNotMatch(JSON.stringify(answer.body), /nothing changed/);
      await settled(h);
      assert.notEqual((await store.requests.get(requestId))?.state, 'pending');
    });
  });
});

describe('a person\'s turn on SQLite answered by its deadline, however long the disk or another process holds it', function () {
  this.timeout(30000);
  let dir: string;
  let store: SqliteStore | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-turn-'));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** A click in a turn of `budgetMs`: its outcome, or that it had none after `giveUpMs`. */
  const clickInTurn = async (f: ReturnType<typeof appOnStore>, r: ApprovalRequest, budgetMs: number, giveUpMs: number) =>
    Promise.race([
      withTurnDeadline(() => click(f, bob, r, 'approve'), performance.now(), budgetMs).then(
        (x) => (x.ok ? 'approved' : x.refusal.message),
        (e: unknown) => failedText(`record this action for request ${r.id}`, store!.storageFault(e)),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve(`no answer after ${giveUpMs} ms`), giveUpMs)),
    ]);

  it('a click whose commit stalls (a slow fsync) is told by the deadline that it may not have been recorded', async () => {
    store = await openSqliteStore({ file: path.join(dir, 'countersign.db') });
    const f = appOnStore(store);
    const r = await asked(f, alice, 'delete resource group rg-slow-disk');
    await store.writer.stallCommits(8000);
    const outcome = await clickInTurn(f, r, 1500, 5000);
    assert.match(outcome, new RegExp(`could not confirm whether your approve was recorded for request ${r.id}`));
    await store.writer.stallCommits(0);
  });

  it('a click held up by another process\'s write lock (COUNTERSIGN_STORE_LOCK_WAIT 30 s) is told by the deadline that nothing was changed', async () => {
    const file = path.join(dir, 'countersign.db');
    store = await openSqliteStore({ file, busyTimeoutMs: 30_000 });
    const f = appOnStore(store);
    const r = await asked(f, alice, 'delete resource group rg-held');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcome = await clickInTurn(f, r, 2500, 6000);
      assert.match(outcome, /another process is holding its database, so nothing was changed/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal((await store.requests.get(r.id))?.state, 'pending');
  });

  it('writes on once the lock is free after a turn\'s write gave up on it with nothing else waiting (the writer is not left waiting for nothing)', async () => {
    const file = path.join(dir, 'countersign.db');
    store = await openSqliteStore({ file, busyTimeoutMs: 30_000 });
    await store.audit.append([anEvent('config.loaded')]);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const refused = await withTurnDeadline(() => store!.audit.append([anEvent('request.created')]), performance.now(), 2000).catch((e: unknown) => e);
    assert.equal(store.storageFault(refused), 'busy');
    // The writer's next try for the lock comes and goes with nothing in line.
    await new Promise((resolve) => setTimeout(resolve, 300));
    other.exec('ROLLBACK');
    other.close();
    const next = await Promise.race([store.audit.append([anEvent('request.created')]).then(() => 'written'), new Promise<string>((resolve) => setTimeout(() => resolve('not written after 5 s'), 5000))]);
    assert.equal(next, 'written');
  });

  it('still saves the request: the time Azure took to read its target (a what-if may take 15 s) is not its store work\'s', async () => {
    store = await openSqliteStore({ file: path.join(dir, 'countersign.db') });
    const f = appOnStore(store);
    // Azure reads the target in 3 s; the turn's store deadline is 2 s from its start.
    const snapshot = f.azure.snapshot.bind(f.azure);
    f.azure.snapshot = async (op) => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return snapshot(op);
    };
    const made = await withTurnDeadline(() => asked(f, alice, 'delete resource group rg-slow-read'), performance.now(), 2000).then(
      (r) => `made ${r.state}`,
      (e: unknown) => failedText('handle this message', store!.storageFault(e)),
    );
    assert.equal(made, 'made pending');
  });
});
