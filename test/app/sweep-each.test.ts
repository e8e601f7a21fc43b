/**
 * A look over every request in some states (a sweep over those waiting for approval, the start's
 * look at the cards) reads them a page at a time, lets the event loop answer between pages, and
 * keeps only what it picks.
 */
import assert from 'node:assert/strict';
import { requestsWhere } from '../../src/app/sweep-each';
import type { RequestQuery } from '../../src/app/ports';
import { appOnFakes } from '../support/app-on-fakes';
import { alice } from '../support/people';
import { asked } from './steps';

describe('a look over every request in some states', () => {
  it('picks the matches of every page, oldest first, holding one page at a time, with a turn for the event loop between pages', async () => {
    const f = appOnFakes();
    const first = await asked(f, alice, 'delete resource group staging-old');
    const ids = [first.id];
    for (let i = 0; i < 1234; i++) {
      const id = `${first.id}-${String(i).padStart(4, '0')}`;
      await f.deps.store.requests.insert({ ...first, id, state: i % 3 === 0 ? 'rejected' : 'pending' }, []);
      if (i % 3 !== 0) ids.push(id);
    }
    const reads: RequestQuery[] = [];
    const turns: number[] = [];
    const list = f.deps.store.requests.list.bind(f.deps.store.requests);
    const store = { ...f.deps.store, requests: { ...f.deps.store.requests, list: (q: RequestQuery) => (reads.push(q), list(q)) } };
    // Counts the turns the event loop got while the look ran, and after which read each came.
    let looking = true;
    const tick = () => {
      if (!looking) return;
      turns.push(reads.length);
      setImmediate(tick);
    };
    setImmediate(tick);
    const kept = await requestsWhere({ store }, { states: ['pending'] }, (r) => r.id.endsWith('1') || r.id === first.id);
    looking = false;
    assert.deepEqual(kept.map((r) => r.id), ids.filter((id) => id.endsWith('1') || id === first.id), 'every match, in order, none twice');
    assert.deepEqual(reads.map((q) => [q.limit, q.offset]), [[500, 0], [500, 500]], 'two pages of 500 for the 824 pending ones');
    assert.ok(turns.includes(1), `the event loop had a turn between the pages (turns after reads: ${turns.join(', ')})`);
  });
});
