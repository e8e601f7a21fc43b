/**
 * Several instances on one PostgreSQL database each decide expiry, approvals and break-glass windows
 * by their own clock: an instance whose clock is more than 5 s from the database's is not started,
 * and one that drifts there after it started turns not ready (/readyz 503), saying why.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { MAX_CLOCK_SKEW_MS } from '../../src/store/postgres/readiness';
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

  it('starts within the bound, and turns not ready once its clock drifts past it, ready again once back', async () => {
    let offset = 0;
    const store = await open(() => Date.now() + offset);
    opened.push(store);
    assert.equal(await store.ping(), true);
    offset = MAX_CLOCK_SKEW_MS + 2000;
    assert.equal(await store.ping(), false);
    assert.match(store.writeReadiness().problem ?? '', /^this host's clock is 7\.\d s ahead of the database's/);
    offset = 0;
    assert.equal(await store.ping(), true);
  });
});
