/**
 * The in-memory store that test/app runs the use cases on keeps the same promises as SQLite: the
 * same contract suite, plus what stands in for the database-level guarantees it cannot have.
 */
import assert from 'node:assert/strict';
import { verifyChain } from '../../src/audit/verify/verify';
import { MemoryStore } from '../support/memory-store';
import { anEvent } from './fixtures';
import { collect, storeContract } from './store-contract';
import type { StoreHarness } from './store-contract';

export async function memoryHarness(): Promise<StoreHarness> {
  let store = new MemoryStore();
  const harness: StoreHarness = {
    store,
    async reopen() {
      await store.close();
      store = store.reopen();
      harness.store = store;
      return store;
    },
    async cleanup() {
      await store.close();
    },
  };
  return harness;
}

storeContract('in memory', memoryHarness);

describe('in-memory store, beyond the contract', () => {
  it('keeps the log as written when a caller changes a record it was given or read', async () => {
    const store = new MemoryStore();
    const [written] = await store.audit.append([anEvent('request.created')]);
    written.type = 'request.approved';
    const [read] = await collect(store.audit.read());
    read.outcome.result = 'refused';
    const [again] = await collect(store.audit.read());
    assert.equal(again.type, 'request.created');
    assert.equal(again.outcome.result, 'ok');
    assert.equal((await verifyChain(store.audit.read())).ok, true);
  });
});
