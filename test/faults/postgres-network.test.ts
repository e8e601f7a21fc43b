/**
 * The network between an instance and PostgreSQL: stalled (packets dropped, connections left open),
 * cut (every connection reset) and restored, through a TCP proxy the test controls.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { schemaPerTest } from '../support/postgres';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

describe('faults: the network to PostgreSQL stalled, cut and restored', function () {
  this.timeout(60_000);
  const database = schemaPerTest();
  const opened: PostgresStore[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    for (const p of proxies.splice(0)) p.resume();
    for (const s of opened.splice(0)) await s.close();
    for (const p of proxies.splice(0)) await p.close();
  });
  const through = async (proxy?: TcpProxy, readiness: { answerWaitMs?: number } = {}) => {
    const url = new URL(database.db().url);
    const port = proxy ? proxy.port : Number(url.port || 5432);
    const store = await openPostgresStore({
      connection: { host: url.hostname, port, database: database.db().name, user: decodeURIComponent(url.username) || 'postgres', schema: database.schema() },
      lockWaitMs: 500,
      readiness,
    });
    opened.push(store);
    return store;
  };

  it('readiness answers not ready within its wait while the network is stalled, naming it, without using up the pool, and ready again once it flows', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    proxies.push(proxy);
    const store = await through(proxy, { answerWaitMs: 800 });
    assert.equal(await store.ping(), true);
    proxy.stall();
    // Probes every few seconds, as a platform makes them: each answers within its wait.
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const ok = await Promise.race([store.ping(), sleep(5000).then(() => 'no answer' as const)]);
      assert.equal(ok, false, `probe ${i}`);
      assert.ok(performance.now() - t0 < 2500, `probe ${i} took ${Math.round(performance.now() - t0)} ms`);
      assert.match(store.writeReadiness().problem ?? '', /did not answer the readiness probe within 800 ms: the network to it, or the server, is stalled|no connection of the pool came free/);
    }
    assert.match(store.writeReadiness().problem ?? '', /did not answer the readiness probe within 800 ms/, 'the stuck connections were given back: the last probe found one');
    proxy.resume();
    let ready = false;
    for (let i = 0; i < 20 && !ready; i++) {
      ready = await store.ping();
      if (!ready) await sleep(200);
    }
    assert.equal(ready, true, store.writeReadiness().problem);
  });
});
