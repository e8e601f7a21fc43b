/**
 * Remembering how to reach a conversation is a write a message makes the first time it comes from
 * there. It is not what the message asks: when the store cannot take it at once (another process
 * holds the write lock, the disk is full), the message is answered all the same, and the next
 * message from the conversation writes it again.
 */
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness';
import { cardActions, cardOf } from '../support/connector';
import { eventually, opsChannel, people, type Conversation } from '../support/teams';

describe('Teams: remembering a conversation does not hold up its messages', function () {
  this.timeout(20000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const fresh: Conversation = { id: '19:never-seen@thread.tacv2', conversationType: 'channel' };

  it('answers help in a new conversation while that write waits for a lock, then fails; the next message saves it', async () => {
    const conversations = h.bot.store.conversations;
    const save = conversations.saveReference.bind(conversations);
    let release!: () => void;
    const lockReleased = new Promise<void>((resolve) => (release = resolve));
    let tries = 0;
    conversations.saveReference = async (id, reference) => {
      if (id === fresh.id && tries++ === 0) {
        await lockReleased;
        throw new Error('the store is locked by another process (database is locked): waited 5000 ms for its write lock, nothing was written');
      }
      return save(id, reference);
    };
    const started = Date.now();
    const from = await h.teams.say(people.alice, 'help', fresh);
    assert.ok(Date.now() - started < 3000, 'answered without waiting for the write');
    assert.ok(h.teams.since(from).some((s) => JSON.stringify(s.activity).includes('approve')), 'help was answered');
    assert.equal(await conversations.getReference(fresh.id), undefined);

    release();
    await eventually('the failed write is logged', () => h.logs.some((l) => l.msg === 'how to reach this conversation could not be saved; the next message saves it again') || undefined);
    await h.teams.say(people.alice, 'help', fresh);
    assert.ok(await conversations.getReference(fresh.id), 'saved by the next message');
    assert.equal(tries, 2);
  });

  it('writes a conversation\'s reference again at its next message once a card update found it gone from the store', async () => {
    const conversations = h.bot.store.conversations;
    const from = await h.teams.say(people.alice, 'vm restart batch-worker-01');
    const posted = h.teams.since(from).find((x) => x.conversationId === opsChannel.id && cardActions(cardOf(x.activity)).length > 0);
    assert.ok(posted, 'the request card');
    assert.ok(await conversations.getReference(opsChannel.id), 'stored by the request\'s message');
    // Its row deleted by hand (or the table emptied, or an older backup restored): gone until written again.
    const get = conversations.getReference.bind(conversations);
    const save = conversations.saveReference.bind(conversations);
    let gone = true;
    const saved: string[] = [];
    conversations.getReference = async (id) => (gone && id === opsChannel.id ? undefined : get(id));
    conversations.saveReference = async (id, reference) => {
      saved.push(id);
      if (id === opsChannel.id) gone = false;
      return save(id, reference);
    };
    await h.teams.click(people.bob, posted.id, 'approve');
    await eventually('the card update found no reference', () => h.logs.some((l) => l.msg === 'no conversation reference stored; cannot reach the conversation' && l.conversationId === opsChannel.id) || undefined);
    await h.teams.say(people.alice, 'help');
    assert.ok(saved.includes(opsChannel.id), `written again by the next message: ${JSON.stringify(saved)}`);
    assert.equal(gone, false);
  });
});
