/**
 * Another process holding the database's write lock (a CLI run, a backup, a second bot): the bot
 * keeps answering, writes wait for the lock without blocking the event loop, and a write that
 * cannot get it in time fails with StoreBusyError, so the person is told nothing changed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { verifyChain } from '../../src/audit/verify/verify';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { StoreBusyError } from '../../src/store/sqlite/write-lock';
import { anEvent } from '../store/fixtures';
import { requestVia, settled } from '../support/flows';
import { longestStall } from '../support/event-loop';
import { startHarness, type Harness } from '../support/harness';
import { people } from '../support/teams';

/** Holds BEGIN IMMEDIATE on a second connection, as another process would. */
function holdWriteLock(file: string): { release(): void } {
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  return {
    release() {
      other.exec('ROLLBACK');
      other.close();
    },
  };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a write lock held by another process', function () {
  this.timeout(30000);

  describe('the store', () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-lock-'));
      file = path.join(dir, 'countersign.db');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('waits for the lock without blocking the event loop, and writes once it is released', async () => {
      const store = await openSqliteStore({ file, busyTimeoutMs: 3000 });
      await store.audit.append([anEvent('config.loaded')]);
      const lock = holdWriteLock(file);
      setTimeout(() => lock.release(), 1200);
      const started = Date.now();
      const { value, stallMs } = await longestStall(store.audit.append([anEvent('request.created')]));
      assert.equal(value.status, 'fulfilled');
      assert.ok(Date.now() - started >= 1100, 'it did wait for the lock');
      assert.ok(stallMs < 600, `the event loop stalled ${stallMs} ms`);
      assert.equal((await store.audit.head())?.seq, 2);
      await store.close();
    });

    it('fails every waiting write with StoreBusyError past the limit, records nothing of them, and carries on', async () => {
      const store = await openSqliteStore({ file, busyTimeoutMs: 300 });
      await store.audit.append([anEvent('config.loaded')]);
      const lock = holdWriteLock(file);
      const first = store.audit.append([anEvent('request.created')]);
      await sleep(50);
      const joined = store.conversations.saveReference('c', { a: 1 });
      const { value, stallMs } = await longestStall(Promise.allSettled([first, joined]));
      const results = (value as PromiseFulfilledResult<PromiseSettledResult<unknown>[]>).value;
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
      for (const r of results) assert.ok((r as PromiseRejectedResult).reason instanceof StoreBusyError);
      assert.ok(stallMs < 250, `the event loop stalled ${stallMs} ms`);
      lock.release();
      assert.equal(await store.conversations.getReference('c'), undefined);
      const [next] = await store.audit.append([anEvent('request.approved')]);
      assert.equal(next.seq, 2);
      assert.equal((await verifyChain(store.audit.read())).ok, true);
      await store.close();
    });

    it('refuses a write still waiting for the lock when the store closes', async () => {
      const store = await openSqliteStore({ file, busyTimeoutMs: 5000 });
      const lock = holdWriteLock(file);
      const waiting = store.audit.append([anEvent('config.loaded')]);
      await sleep(30);
      await store.close();
      await assert.rejects(waiting, StoreBusyError);
      lock.release();
    });
  });

  describe('the bot', () => {
    let h: Harness;
    afterEach(async () => h?.stop());

    it('keeps /healthz and read-only commands answering; a click made meanwhile succeeds once the lock is released in time', async () => {
      h = await startHarness();
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      await h.teams.say(people.bob, 'pending'); // bob's conversation reference is stored before the lock
      const lock = holdWriteLock(databaseFile(h.dataDir));
      const click = h.teams.click(people.bob, cardId, 'approve');
      setTimeout(() => lock.release(), 2500);
      const t0 = Date.now();
      const health = await fetch(`${h.bot.url}/healthz`);
      assert.equal(health.status, 200);
      assert.ok(Date.now() - t0 < 1000, `/healthz took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      // `help` reads only (`status` now records the card it posts, which is a write).
      await h.teams.say(people.bob, 'help');
      assert.ok(Date.now() - t1 < 1500, `a read-only command took ${Date.now() - t1} ms`);
      const answer = await click;
      assert.ok(Date.now() - t0 >= 2000, 'the click waited for the lock');
      assert.doesNotMatch(JSON.stringify(answer.body), /nothing changed/);
      await settled(h);
      assert.notEqual((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    });

    it('answers status while the lock is held past the limit: the card, and that its buttons will not work until it can be recorded', async () => {
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '400ms' } });
      const { requestId } = await requestVia(h, 'delete resource group staging-old');
      const lock = holdWriteLock(databaseFile(h.dataDir));
      let answers: string[];
      try {
        const from = await h.teams.say(people.bob, `status ${requestId}`);
        answers = h.teams.since(from).map((s) => String(s.activity.text ?? 'card'));
      } finally {
        lock.release();
      }
      assert.deepEqual(answers, [
        'card',
        `[SANDBOX] Countersign could not record the card above as request ${requestId}'s (its database is busy or cannot take writes right now), so its buttons will be refused. Type "status ${requestId}" again in a while for a card whose buttons work.`,
      ]);
      assert.ok(h.logs.some((l) => l.msg === 'a posted card could not be recorded: its buttons will be refused'));
      assert.ok(!h.logs.some((l) => l.msg === 'turn failed'), 'not an internal error');
    });

    it('answers pending while the lock is held past the limit with one card, and no wait for each of the others', async () => {
      // Two waits apart: one wait plus the work however slow a loaded machine makes it, against one per card.
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '2s' } });
      for (const rg of ['staging-old', 'staging-api-service', 'staging-web-frontend']) await requestVia(h, `delete resource group ${rg}`);
      await h.teams.say(people.bob, 'help'); // Bob's conversation is known before the lock
      const lock = holdWriteLock(databaseFile(h.dataDir));
      let answers: string[];
      const started = Date.now();
      try {
        const from = await h.teams.say(people.bob, 'pending');
        answers = h.teams.since(from).map((s) => String(s.activity.text ?? 'card'));
      } finally {
        lock.release();
      }
      assert.ok(Date.now() - started < 4000, `pending took ${Date.now() - started} ms: one wait for the store, not one per card`);
      assert.equal(answers.length, 3, answers.join('\n'));
      assert.deepEqual(answers.slice(0, 2), ['card', 'card'], 'the list, then the first card');
      assert.match(answers[2], /^\[SANDBOX\] Countersign could not record the card above as request CS-\w+'s .*so its buttons will be refused\. The other 2 card\(s\) were not posted; type "pending" again in a while\.$/);
    });

    it('answers help in a conversation it has not seen while the lock is held past the limit', async () => {
      // A wait far longer than the answer takes on a loaded machine: the lock is released once it came.
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '5s' } });
      const lock = holdWriteLock(databaseFile(h.dataDir));
      const started = Date.now();
      let answers: string[];
      try {
        const from = await h.teams.say(people.carol, 'help', { id: '19:new-channel@thread.tacv2', conversationType: 'channel' });
        answers = h.teams.since(from).map((s) => JSON.stringify(s.activity));
      } finally {
        lock.release();
      }
      assert.ok(Date.now() - started < 4000, `help took ${Date.now() - started} ms`);
      assert.equal(answers.length, 1);
      assert.doesNotMatch(answers[0], /could not save/);
    });

    it('tells the clicker nothing changed when the lock is held past the limit, and leaves the request as it was', async () => {
      h = await startHarness({ env: { COUNTERSIGN_STORE_LOCK_WAIT: '400ms' } });
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
      const lock = holdWriteLock(databaseFile(h.dataDir));
      try {
        const answer = await h.teams.click(people.bob, cardId, 'approve');
        assert.match(String(answer.body.value), new RegExp(`could not record this action for request ${requestId}: another process is holding its database, so nothing was changed`));
      } finally {
        lock.release();
      }
      assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
      assert.ok(h.sandbox.state.liveGroup('staging-old'));
    });
  });
});
