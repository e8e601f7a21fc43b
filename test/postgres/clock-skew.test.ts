/**
 * Several instances on one PostgreSQL database each decide expiry, approvals and break-glass windows
 * by their own clock: an instance whose clock is more than 5 s from the database's is not started,
 * and one that drifts there after it started stops writing (/readyz 503, the bot stops), saying why.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { MAX_CLOCK_SKEW_MS, skewProblem } from '../../src/store/postgres/readiness';
import { asked, click } from '../app/steps';
import { anEvent } from '../store/fixtures';
import { TestClock, type RecordingLog } from '../support/app-fakes';
import { instanceOn } from '../support/app-on-fakes';
import { MemoryAzure } from '../support/memory-azure';
import { alice, bob } from '../support/people';
import { schemaPerTest } from '../support/postgres';

describe('PostgreSQL: an instance whose clock disagrees with the database\'s', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  const open = (clock: () => number) => openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() }, readiness: { clock } });

  it('is not started 10 minutes behind or 2 hours ahead, naming how far and what to do', async () => {
    for (const [offset, words] of [[-600_000, '600.0 s behind'], [7_200_000, '7200.0 s ahead of']] as const) {
      await assert.rejects(open(() => Date.now() + offset), (err: Error) => err.message.includes(`this host's clock is ${words} the database's (at most 5 s)`) && /synchronise this host's clock \(NTP\)/.test(err.message));
    }
  });

  it('starts within the bound; once its clock drifts past it, it stops writing and says why, until restarted', async () => {
    let offset = 0;
    let stopped: Error | undefined;
    const store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() }, readiness: { clock: () => Date.now() + offset }, onStopped: (err) => (stopped = err) });
    opened.push(store);
    assert.equal(await store.ping(), true);
    await store.audit.append([anEvent('config.loaded')]);
    offset = MAX_CLOCK_SKEW_MS + 2000;
    assert.equal(await store.ping(), false);
    assert.match(store.writeReadiness().problem ?? '', /this host's clock is 7\.\d s ahead of the database's .*Nothing more is written by this instance: restart it once its clock is right/);
    await assert.rejects(store.audit.append([anEvent('config.loaded')]), /this host's clock is 7\.\d s ahead/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(String(stopped), /StoreClockSkewError/, 'the bot is told, as for any store that stopped');
    offset = 0;
    assert.equal(await store.ping(), false, 'a clock that came back does not undo the stop: a restart checks it again');
  });

  it('with a lease of 1.5 s, two instances 4 s apart (as a start allows) never take a running execution from each other: leases run on the database\'s clock', async () => {
    for (const offset of [4000, -4000]) {
      const azure = new MemoryAzure(true);
      const logs: RecordingLog[] = [];
      // Each instance with its own store (pool) and its own clock, as on two hosts; one 4 s off.
      const instance = async (owner: string, offsetMs: number) => {
        const store = await open(() => Date.now() + offsetMs);
        opened.push(store);
        const clock = new TestClock(new Date(), { realTime: true });
        clock.advance(offsetMs);
        const { app, log } = instanceOn(store, clock, azure, { owner, leaseMs: 1500 });
        logs.push(log);
        return app;
      };
      const a = await instance(`a${offset > 0 ? 'p' : 'm'}`, offset);
      const b = await instance(`b${offset > 0 ? 'p' : 'm'}`, 0);
      const r = await asked({ app: a }, alice, 'delete resource group staging-old');
      azure.nextExecution({ hold: true });
      await click({ app: a }, bob, r, 'approve');
      await azure.whenHeld();
      // Four lease periods of the other instance sweeping while the first renews its lease.
      for (let i = 0; i < 30; i++) {
        assert.deepEqual(await b.executor.resumeAbandoned(), [], `taken over ${i * 200} ms into the execution, with a clock ${offset} ms off`);
        await sleep(200);
      }
      azure.release();
      await a.executor.idle();
      const done = await b.executor.idle().then(() => opened.at(-1)!.requests.get(r.id));
      assert.equal(done?.state, 'succeeded');
      assert.equal(done?.execution?.resumedAt, undefined, 'never resumed');
      assert.deepEqual(logs.flatMap((l) => l.lines.filter((x) => x.level !== 'info')), []);
    }
  });

  it('takes half the round trip as doubt: a slow answer is not a wrong clock', () => {
    assert.equal(skewProblem({ skewMs: 5500, roundTripMs: 11_000 }), undefined);
    assert.match(skewProblem({ skewMs: 5500, roundTripMs: 100 }) ?? '', /5\.5 s ahead of/);
    assert.match(skewProblem({ skewMs: -9000, roundTripMs: 2000 }) ?? '', /9\.0 s behind/);
  });
});
