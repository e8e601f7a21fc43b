/**
 * Wall-clock steps: a backward step of an hour does not stall the takeover of a crashed execution
 * beyond one lease period, and record times never go backwards along the audit chain.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppDeps } from '../../src/app/context';
import { Executor } from '../../src/app/execution';
import type { AzureGateway } from '../../src/app/ports';
import { verifyChain } from '../../src/audit/verify/verify';
import { leaseLapsed } from '../../src/domain/lease-time';
import { resumeExecution, startExecution } from '../../src/domain/lifecycle';
import { RefusalReason } from '../../src/domain/refusal';
import type { AuditRecord } from '../../src/domain/audit';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { anEvent } from '../store/fixtures';
import { TestClock } from '../support/harness';
import { steppableWallClock } from '../support/wall-clock';
import { checkpointSchedule } from '../../src/audit/access/checkpoint-schedule';
import type { Store } from '../../src/app/ports';
import type { AuditStore } from '../../src/audit/ports';
import { LockWait } from '../../src/store/sqlite/write-lock';
import { setTimeout as sleep } from 'node:timers/promises';
import { approvalBy, auditTrailOf, bob, requestIn } from '../support/requests';

const LEASE_MS = 60_000;
const HOUR = 3_600_000;
const crashedAt = new Date('2026-12-04T12:00:00.000Z');

/**
 * An execution claimed by a run that then died: its lease runs one period past the crash. It was
 * approved minutes before it was claimed (an approval holds maxScheduleAhead, a week, only).
 */
function abandonedExecution() {
  const r = requestIn('approved');
  const approved = { ...r, approvals: [approvalBy(bob, r, new Date(crashedAt.getTime() - 5 * 60_000))] };
  const t = startExecution(approved, crashedAt, () => true, { owner: 'dead-host:1:aa', leaseUntil: new Date(crashedAt.getTime() + LEASE_MS) });
  assert.ok(t.ok && t.request.state === 'executing');
  return { ...t.request, version: 1 };
}

describe('a wall clock that steps', function () {
  this.timeout(20000);

  describe('execution leases', () => {
    it('count a lease further ahead than one period as lapsed (recorded before the clock stepped back)', () => {
      const expiresAt = new Date(crashedAt.getTime() + LEASE_MS).toISOString();
      assert.equal(leaseLapsed(expiresAt, crashedAt, LEASE_MS), false, 'a fresh lease holds');
      assert.equal(leaseLapsed(expiresAt, new Date(crashedAt.getTime() + LEASE_MS), LEASE_MS), true, 'an expired one does not');
      assert.equal(leaseLapsed(expiresAt, new Date(crashedAt.getTime() - HOUR), LEASE_MS), true, 'after a step back of an hour');
      assert.equal(leaseLapsed('not a time', crashedAt, LEASE_MS), true);
    });

    it('lets another run take over at once after a backward step of an hour, but not a lease still running', () => {
      const r = abandonedExecution();
      const stepped = new Date(crashedAt.getTime() - HOUR + 1000);
      const taken = resumeExecution(r, { owner: 'new-host:2:bb', leaseUntil: new Date(stepped.getTime() + LEASE_MS) }, stepped);
      assert.ok(taken.ok);
      assert.equal(taken.request.execution?.lease?.owner, 'new-host:2:bb');
      const soon = new Date(crashedAt.getTime() + 1000);
      const held = resumeExecution(r, { owner: 'new-host:2:bb', leaseUntil: new Date(soon.getTime() + LEASE_MS) }, soon);
      assert.equal(held.ok ? undefined : held.refusal.reason, RefusalReason.LeaseHeld);
    });

    describe('through the executor, with an injected clock', () => {
      let dir: string;
      let store: SqliteStore;
      beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-clock-'));
        store = await openSqliteStore({ file: path.join(dir, 'countersign.db') });
      });
      afterEach(async () => {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      });

      function executorAt(clock: TestClock): Executor {
        const azure = {
          sandbox: true,
          resume: async (_op: unknown, ref: { resourceIds: string[] }) => ({ status: 'succeeded', ref }),
        } as unknown as AzureGateway;
        const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
        const deps = {
          store,
          azure,
          clock,
          log: quiet,
          notifier: { cardChanged: async () => undefined, tellRequester: async () => 'sent' as const },
        } as unknown as AppDeps;
        return new Executor(deps, { leaseMs: LEASE_MS, owner: 'new-host:2:bb' });
      }

      it('takes over a crashed execution within one lease period even though the clock went back an hour', async () => {
        await store.requests.insert(abandonedExecution(), auditTrailOf(abandonedExecution()));
        const clock = new TestClock(new Date(crashedAt.getTime() + 5000));
        clock.advance(-HOUR);
        const executor = executorAt(clock);
        assert.deepEqual(await executor.resumeAbandoned(), ['req-0001']);
        await executor.idle();
        assert.equal((await store.requests.get('req-0001'))?.state, 'succeeded');
      });

      it('does not take over a live lease when the clock did not step', async () => {
        await store.requests.insert(abandonedExecution(), auditTrailOf(abandonedExecution()));
        const executor = executorAt(new TestClock(new Date(crashedAt.getTime() + 5000)));
        assert.deepEqual(await executor.resumeAbandoned(), []);
      });
    });
  });

  describe('the audit chain', () => {
    it('never goes back in time: a record sealed after a backward step takes the previous time and keeps the clock reading', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-clock-'));
      const store = await openSqliteStore({ file: path.join(dir, 'countersign.db') });
      try {
        const t0 = '2026-12-04T12:00:00.000Z';
        const back = '2026-12-04T11:00:00.000Z';
        await store.audit.append([anEvent('config.loaded', { time: t0 })]);
        const [stepped, later] = await store.audit.append([anEvent('request.created', { time: back }), anEvent('request.approved', { time: '2026-12-04T11:00:01.000Z' })]);
        assert.equal(stepped.time, t0);
        assert.equal(stepped.data?.clockTime, back);
        assert.equal(later.time, t0);
        const all: AuditRecord[] = [];
        for await (const r of store.audit.read()) all.push(r);
        for (let i = 1; i < all.length; i++) assert.ok(all[i].time >= all[i - 1].time, `record ${all[i].seq} is earlier than ${all[i - 1].seq}`);
        assert.equal((await verifyChain(store.audit.read())).ok, true);
      } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps a later process on the same database to the last record time', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-clock-'));
      const file = path.join(dir, 'countersign.db');
      try {
        const first = await openSqliteStore({ file });
        await first.audit.append([anEvent('config.loaded', { time: '2026-12-04T12:00:00.000Z' })]);
        await first.close();
        const second = await openSqliteStore({ file });
        const [r] = await second.audit.append([anEvent('config.loaded', { time: '2026-12-04T10:00:00.000Z' })]);
        assert.equal(r.time, '2026-12-04T12:00:00.000Z');
        await second.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('intervals kept in memory (Date.now stepped back an hour, timers running on)', () => {
    let wall: ReturnType<typeof steppableWallClock>;
    beforeEach(() => (wall = steppableWallClock()));
    afterEach(() => wall.restore());

    it('an execution checkpoint still follows within its gap', async () => {
      let seq = 0;
      const store = { requests: {}, auditAccess: {}, audit: { append: async (types: string[]) => types.map((type) => ({ seq: ++seq, hash: 'h'.repeat(64), type })) } } as unknown as Store & AuditStore;
      const due: string[] = [];
      const s = checkpointSchedule(store, { every: 1000, gapMs: 50, due: async (t) => void due.push(t) });
      const append = (types: string[]) => (s.store.audit as unknown as { append(t: string[]): Promise<unknown> }).append(types);
      try {
        await append(['execution.started']);
        await sleep(0);
        assert.deepEqual(due, ['execution']);
        wall.step(-HOUR);
        await append(['execution.succeeded']);
        await sleep(200);
        assert.deepEqual(due, ['execution', 'execution'], 'the second one came within its gap, not an hour later');
      } finally {
        s.stop();
      }
    });

    it('a write stops waiting for the write lock after its limit', async () => {
      const wait = new LockWait(100);
      wall.step(-HOUR);
      await sleep(150);
      assert.equal(wait.next(), undefined, 'the limit passed');
      assert.ok(wait.waited() >= 100 && wait.waited() < 1000, `waited ${wait.waited()} ms`);
    });

    it('readiness looks at the file again once its answer is a cache time old', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-clock-'));
      const file = path.join(dir, 'countersign.db');
      const store = await openSqliteStore({ file, writer: 'inline', readiness: { cacheMs: 100 } });
      try {
        assert.equal(await store.ping(), true);
        wall.step(-HOUR);
        fs.renameSync(file, path.join(dir, 'moved.db'));
        await sleep(150);
        assert.equal(await store.ping(), false, 'the cached "ready" was not kept for the hour');
        assert.match(store.writeReadiness().problem ?? '', /countersign\.db/);
      } finally {
        await store.close().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
