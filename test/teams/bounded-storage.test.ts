/**
 * Dialog state is bounded and expires: thousands of people who start a form and never finish leave
 * the storage at its bound, and a form left alone is forgotten after its time to live.
 */
import assert from 'node:assert/strict';
import { PrivateConversationState, TestAdapter, TurnContext } from 'botbuilder';
import { BoundedMemoryStorage, LruMap } from '../../src/teams/bounded-storage';

function turn(adapter: TestAdapter, person: string): TurnContext {
  return new TurnContext(adapter, { type: 'message', channelId: 'msteams', conversation: { id: '19:ops@thread.tacv2' } as never, from: { id: person, name: person }, text: 'delete resource group' });
}

describe('bounded dialog state', () => {
  it('stays at its bound when 5,000 distinct people start a form, keeping the most recent ones', async () => {
    let now = 0;
    const storage = new BoundedMemoryStorage({ maxEntries: 1000, ttlMs: 30 * 60_000, now: () => now });
    const state = new PrivateConversationState(storage);
    const dialog = state.createProperty<{ dialogStack: { id: string }[] }>('dialogState');
    const adapter = new TestAdapter(async () => undefined);
    for (let i = 0; i < 5000; i++) {
      now += 10;
      const ctx = turn(adapter, `user-${i}`);
      await state.load(ctx);
      await dialog.set(ctx, { dialogStack: [{ id: 'countersign.request' }] });
      await state.saveChanges(ctx);
    }
    assert.equal(storage.size, 1000);
    const latest = turn(adapter, 'user-4999');
    await state.load(latest, true);
    assert.deepEqual((await dialog.get(latest))?.dialogStack, [{ id: 'countersign.request' }], 'a recent form is still there');
    const oldest = turn(adapter, 'user-0');
    await state.load(oldest, true);
    assert.equal(await dialog.get(oldest), undefined, 'the least recently used form was dropped');
  });

  it('forgets a form after its time to live, and drops expired forms when others are written', async () => {
    let now = 0;
    const storage = new BoundedMemoryStorage({ maxEntries: 10, ttlMs: 1000, now: () => now });
    await storage.write({ a: { step: 1 }, b: { step: 1 } });
    now = 999;
    assert.deepEqual(Object.keys(await storage.read(['a', 'b'])), ['a', 'b']);
    now = 1000;
    assert.deepEqual(await storage.read(['a']), {});
    await storage.write({ c: { step: 1 } });
    assert.equal(storage.size, 1, 'b expired and was dropped on the next write');
  });

  it('refuses a write with a stale eTag, as MemoryStorage does', async () => {
    const storage = new BoundedMemoryStorage({ maxEntries: 10, ttlMs: 60_000 });
    await storage.write({ k: { v: 1 } });
    const { k } = await storage.read(['k']);
    await storage.write({ k: { ...k, v: 2 } });
    await assert.rejects(storage.write({ k: { ...k, v: 3 } }), /eTag conflict/);
    await storage.write({ k: { v: 4, eTag: '*' } });
    assert.equal((await storage.read(['k'])).k.v, 4);
    await storage.delete(['k']);
    assert.deepEqual(await storage.read(['k']), {});
  });

  it('LruMap keeps the most recently used entries', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.get('a');
    m.set('c', 3);
    assert.deepEqual([...m.entries()].map(([k]) => k), ['a', 'c']);
  });
});
