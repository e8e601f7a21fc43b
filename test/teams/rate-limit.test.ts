import assert from 'node:assert/strict';
import { ConversationRateLimiter, TEAMS_CONVERSATION_LIMITS } from '../../src/teams/rate-limit';

/** A limiter on a fake clock: sleeping moves the clock; `sentAt` records when each message went. */
function fakeLimiter() {
  let now = 0;
  const sentAt: number[] = [];
  const limiter = new ConversationRateLimiter(TEAMS_CONVERSATION_LIMITS, () => now, async (ms) => {
    now += ms;
  });
  return {
    async send(conversationId = 'c1') {
      await limiter.acquire(conversationId);
      sentAt.push(now);
    },
    sentAt,
    advance: (ms: number) => (now += ms),
  };
}

describe('Teams rate limits per conversation', () => {
  it('lets 7 messages go at once and holds the 8th until a second has passed', async () => {
    const f = fakeLimiter();
    for (let i = 0; i < 8; i++) await f.send();
    assert.deepEqual(f.sentAt, [0, 0, 0, 0, 0, 0, 0, 1000]);
  });

  it('never sends more than 60 messages in 30 seconds', async () => {
    const f = fakeLimiter();
    for (let i = 0; i < 75; i++) await f.send();
    for (let i = 60; i < f.sentAt.length; i++) assert.ok(f.sentAt[i] - f.sentAt[i - 60] >= 30_000, `message ${i}`);
    for (let i = 7; i < f.sentAt.length; i++) assert.ok(f.sentAt[i] - f.sentAt[i - 7] >= 1000, `message ${i}`);
    assert.equal(f.sentAt[60], 30_000);
  });

  it('counts each conversation on its own', async () => {
    const f = fakeLimiter();
    for (let i = 0; i < 7; i++) await f.send('channel-a');
    await f.send('channel-b');
    assert.equal(f.sentAt[7], 0, 'another conversation is not held back');
  });

  it('forgets messages older than its longest window', async () => {
    const f = fakeLimiter();
    for (let i = 0; i < 7; i++) await f.send();
    f.advance(31_000);
    await f.send();
    assert.equal(f.sentAt[7], 31_000);
  });
});
