/**
 * The probes a platform calls: /healthz says the process answers, /readyz says it can do its job
 * (config loaded, store reachable), so traffic goes elsewhere when it cannot.
 */
import assert from 'node:assert/strict';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { startLoggedCountersign, type LoggedCountersign } from './support';

/** A store whose reachability the test switches off and on. */
function switchableStore(store: Store, state: { reachable: boolean }): Store {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'ping' && !state.reachable) return async () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function get(c: LoggedCountersign, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${c.bot.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health and readiness probes', function () {
  this.timeout(20000);
  const store = { reachable: true };
  let c: LoggedCountersign;
  beforeEach(async () => {
    store.reachable = true;
    c = await startLoggedCountersign({ wrapStore: (s) => switchableStore(s, store) });
  });
  afterEach(async () => {
    store.reachable = true;
    await c.stop();
  });

  it('says it is alive', async () => {
    assert.deepEqual(await get(c, '/healthz'), { status: 200, body: { status: 'alive' } });
  });

  it('says it is ready when the config is loaded and the store answers, and nothing more to anyone who asks (no policy version, no store kind)', async () => {
    assert.deepEqual(await get(c, '/readyz'), { status: 200, body: { status: 'ready', config: true, store: true } });
  });

  it('says it is not ready while the store cannot be reached, and ready again once it can', async () => {
    store.reachable = false;
    assert.deepEqual(await get(c, '/readyz'), { status: 503, body: { status: 'not ready', config: true, store: false } });
    assert.deepEqual(await get(c, '/healthz'), { status: 200, body: { status: 'alive' } }, 'still alive: a restart would not help');
    store.reachable = true;
    assert.equal((await get(c, '/readyz')).status, 200);
  });

  it('keeps probes out of the request log, which records every other request with its id', async () => {
    await get(c, '/healthz');
    await get(c, '/readyz');
    const res = await fetch(`${c.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"not an activity"' });
    assert.equal(res.status, 400);
    const logged = c.lines.filter((l) => l.msg === 'http request');
    assert.deepEqual(logged.map((l) => [l.path, l.status]), [['/api/messages', 400]]);
    assert.equal(logged[0].reqId, res.headers.get('x-request-id'));
  });
});
