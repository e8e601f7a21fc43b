/**
 * A turn's replies are held to the conversation's rate limits with the proactive sends and card
 * updates (one limiter, the notifier's), ahead of those already waiting: in a channel past Teams'
 * limits a new request's card waits for room instead of drawing 429s and being lost.
 */
import assert from 'node:assert/strict';
import { ConversationRateLimiter } from '../../src/teams/rate-limit';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

/** One message each 30 s in the channel, its room taken by a proactive message: where the sends after it begin. */
async function fillChannel(h: Harness): Promise<number> {
  h.bot.notifier.limiter = new ConversationRateLimiter([{ max: 1, perMs: 30_000 }]);
  const before = h.connector.sent.length;
  await h.bot.notifier.post(opsChannel.id, { type: 'message', text: 'proactive' });
  return before;
}

/** Asserts that `turn` was answered once its replies had waited the 5 s for room, and within `ms`. */
async function answeredAfterTheWait(turn: Promise<unknown>, ms: number): Promise<void> {
  const started = Date.now();
  const within = await Promise.race([turn.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), ms))]);
  const took = Date.now() - started;
  assert.ok(within, `the turn's replies waited past ${ms} ms for room in the conversation`);
  assert.ok(took >= 4500, `the replies went after ${took} ms, before the 5 s they wait for room`);
}

describe('replies within the conversation\'s rate limits', function () {
  this.timeout(60000);
  let h: Harness;

  before(async () => {
    h = await startHarness();
    // The channel's reference is stored when someone speaks there.
    await h.teams.say(people.alice, 'help');
  });
  after(async () => h.stop());

  it('waits for room counted with the proactive sends, and goes ahead of those already waiting', async () => {
    // One message each 800 ms in any conversation for this test.
    h.bot.notifier.limiter = new ConversationRateLimiter([{ max: 1, perMs: 800 }]);
    const before = h.connector.sent.length;
    await h.bot.notifier.post(opsChannel.id, { type: 'message', text: 'proactive 1' });
    const queued = h.bot.notifier.post(opsChannel.id, { type: 'message', text: 'proactive 2' });
    const started = Date.now();
    await h.teams.say(people.alice, 'hepl');
    const took = Date.now() - started;
    assert.ok(took >= 700, `the reply went after ${took} ms, inside the window of the proactive message before it`);
    await queued;
    const texts = h.connector.sent.slice(before).map((s) => (s.activity as { text?: string }).text ?? '');
    assert.equal(texts.length, 3, JSON.stringify(texts));
    assert.equal(texts[0], 'proactive 1');
    assert.match(texts[1], /I don't know the command "hepl"/, 'the reply went before the proactive message queued ahead of it');
    assert.equal(texts[2], 'proactive 2');
  });

  it('waits at most 5 s for room, then goes all the same: the person is not kept waiting for the whole window', async () => {
    // One message each 30 s: the proactive message takes the room, and the reply would wait 30 s
    // for the next (past the 15 s Bot Framework gives a turn, after which Teams sends the message again).
    const before = await fillChannel(h);
    await answeredAfterTheWait(h.teams.say(people.alice, 'hepl'), 8000);
    const texts = h.connector.sent.slice(before).map((s) => (s.activity as { text?: string }).text ?? '');
    assert.equal(texts[0], 'proactive');
    assert.match(texts[1], /I don't know the command "hepl"/);
  });

  it('waits at most 5 s for room in all for a turn\'s replies, not 5 s for each: "pending" posting several cards answers within Teams\' window', async () => {
    h.bot.notifier.limiter = new ConversationRateLimiter();
    await h.teams.say(people.alice, 'delete resource group staging-old');
    await h.teams.say(people.alice, 'delete resource group staging-api-service');
    // Their approvers are told in the background: done before the channel fills.
    await h.bot.app.tellingIdle();
    await h.bot.notifier.idle();
    // One message each 30 s: the proactive message takes the room; "pending" then sends its list and
    // the two requests' cards, three replies, each of which found no room.
    const before = await fillChannel(h);
    // 5 s each would be 15 s.
    await answeredAfterTheWait(h.teams.say(people.bob, 'pending'), 9000);
    const cards = h.connector.sent.slice(before).filter((s) => s.conversationId === opsChannel.id && /staging-old|staging-api-service/.test(JSON.stringify(s.activity)));
    assert.equal(cards.length, 3, 'the list and the two requests\' cards were posted');
  });
});
