/**
 * How Countersign keeps the way back to a conversation (for card updates and messages it sends
 * later): written when the conversation is new or how to reach it changed, not each time another
 * person in the channel types a command.
 */
import assert from 'node:assert/strict';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('the stored conversation reference', function () {
  this.timeout(30000);
  let h: Harness;
  const saved: { conversationId: string; reference: Record<string, unknown> }[] = [];

  before(async () => {
    h = await startHarness({
      wrapStore: (store: Store) => ({
        ...store,
        conversations: {
          getReference: (id: string) => store.conversations.getReference(id),
          getPersonalReference: (tenantId: string, aadObjectId: string) => store.conversations.getPersonalReference(tenantId, aadObjectId),
          savePersonalReference: (tenantId: string, aadObjectId: string, reference: unknown) => store.conversations.savePersonalReference(tenantId, aadObjectId, reference),
          saveReference: async (conversationId: string, reference: unknown) => {
            saved.push({ conversationId, reference: reference as Record<string, unknown> });
            await store.conversations.saveReference(conversationId, reference);
          },
        },
      }),
    });
  });
  after(() => h.stop());

  it('is written once for a channel where several people talk, and again when the service URL changes', async () => {
    await h.teams.say(people.alice, 'help');
    await h.teams.say(people.bob, 'help');
    await h.teams.say(people.alice, 'pending');
    await h.teams.say(people.dave, 'help');
    assert.equal(saved.filter((s) => s.conversationId === opsChannel.id).length, 1);
    assert.equal((saved[0].reference.conversation as { id: string }).id, opsChannel.id);

    // Teams moved the conversation to another service URL: the new one is what later updates use.
    const moved = `${h.connector.url.replace(/\/$/, '')}/amer/`;
    await h.teams.post({ ...h.teams.activity(people.bob, opsChannel, { type: 'message', text: 'help' }), serviceUrl: moved });
    const channelSaves = saved.filter((s) => s.conversationId === opsChannel.id);
    assert.equal(channelSaves.length, 2);
    assert.equal(channelSaves[1].reference.serviceUrl, moved);
    assert.equal((await h.bot.store.conversations.getReference(opsChannel.id) as { serviceUrl: string }).serviceUrl, moved);
  });
});
