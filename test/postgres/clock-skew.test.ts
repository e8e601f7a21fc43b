/**
 * Several instances on one PostgreSQL database each decide expiry, approvals and break-glass windows
 * by their own clock: an instance whose clock is more than 5 s (or a quarter of a shorter execution
 * lease) from the database's is not started, and one that drifts there after it started stops
 * writing (/readyz 503, the bot stops), saying why.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { allowedClockSkewMs, MAX_CLOCK_SKEW_MS, skewProblem } from '../../src/store/postgres/readiness';
import { anEvent } from '../store/fixtures';
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

  it('allows a quarter of a short execution lease at most, so a clock ahead does not take live leases as expired', () => {
    assert.equal(allowedClockSkewMs(60_000), MAX_CLOCK_SKEW_MS);
    assert.equal(allowedClockSkewMs(1500), 375);
    assert.equal(skewProblem({ skewMs: 4000, roundTripMs: 10 }, 60_000), undefined);
    assert.match(
      skewProblem({ skewMs: 4000, roundTripMs: 10 }, 1500) ?? '',
      /^this host's clock is 4\.0 s ahead of the database's \(at most 0\.375 s: a quarter of COUNTERSIGN_EXECUTION_LEASE, 1500 ms, since an instance ahead takes a running execution's lease as expired that much early\)/,
    );
  });

  it('is not started 4 s ahead with a 1.5 s lease, and is with a 60 s one', async () => {
    const connection = { ...database.db().connection, schema: database.schema() };
    await assert.rejects(openPostgresStore({ connection, readiness: { clock: () => Date.now() + 4000, executionLeaseMs: 1500 } }), /4\.0 s ahead of the database's \(at most 0\.375 s: a quarter of COUNTERSIGN_EXECUTION_LEASE/);
    opened.push(await openPostgresStore({ connection, readiness: { clock: () => Date.now() + 4000, executionLeaseMs: 60_000 } }));
  });

  it('takes half the round trip as doubt: a slow answer is not a wrong clock', () => {
    assert.equal(skewProblem({ skewMs: 5500, roundTripMs: 11_000 }), undefined);
    assert.match(skewProblem({ skewMs: 5500, roundTripMs: 100 }) ?? '', /5\.5 s ahead of/);
    assert.match(skewProblem({ skewMs: -9000, roundTripMs: 2000 }) ?? '', /9\.0 s behind/);
  });
});
