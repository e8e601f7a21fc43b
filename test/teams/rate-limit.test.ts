import assert from 'node:assert/strict';
import { ConversationRateLimiter, SendAbandonedError, shareOfLimits, TEAMS_CONVERSATION_LIMITS } from '../../src/teams/rate-limit';

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

/**
 * One fake clock for limiters whose sleeps wait until the test moves the clock past them: `runUntil`
 * wakes the earliest sleeper each time nothing else can run, as on one timeline.
 */
function steppedClock() {
  let now = 0;
  let sleeps = 0;
  const pending: { at: number; wake: () => void }[] = [];
  return {
    now: () => now,
    sleeps: () => sleeps,
    sleep: (ms: number) => {
      sleeps++;
      return new Promise<void>((resolve) => pending.push({ at: now + ms, wake: resolve }));
    },
    async runUntil(done: () => boolean) {
      while (!done()) {
        await new Promise((resolve) => setImmediate(resolve));
        if (done() || pending.length === 0) continue;
        pending.sort((a, b) => a.at - b.at);
        const next = pending.shift()!;
        now = Math.max(now, next.at);
        next.wake();
      }
    },
    /** Runs until `work` settled. */
    async settle(work: Promise<unknown>) {
      let done = false;
      void work.then(() => (done = true));
      await this.runUntil(() => done);
    },
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

  describe('many sends waiting on one conversation', () => {
    function steppedLimiter(windows = [{ max: 1, perMs: 1000 }]) {
      const clock = steppedClock();
      return { ...clock, limiter: new ConversationRateLimiter(windows, clock.now, clock.sleep) };
    }

    it('lets them go in the order they came', async () => {
      const s = steppedLimiter();
      const order: number[] = [];
      await s.settle(Promise.all(Array.from({ length: 20 }, (_, i) => s.limiter.acquire('channel').then(() => order.push(i)))));
      assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
      assert.equal(s.now(), 19_000, 'one a second');
    });

    it('wakes once for each send that goes, not every waiting send each time', async () => {
      const s = steppedLimiter();
      await s.settle(Promise.all(Array.from({ length: 100 }, () => s.limiter.acquire('channel'))));
      // 99 sends had to wait, a second each; waking all the waiting ones every time would be 4,950 sleeps.
      assert.equal(s.sleeps(), 99);
    });

    it('does not let a newcomer pass the ones already waiting, even when room opens as it comes', async () => {
      const s = steppedLimiter([{ max: 2, perMs: 1000 }]);
      const order: string[] = [];
      const early = Promise.all(['a', 'b', 'c', 'd'].map((k) => s.limiter.acquire('channel').then(() => order.push(k))));
      await s.runUntil(() => order.length >= 3);
      // The clock is at 1,000 ms: c went; d waits. A new send now must go after d.
      const late = s.limiter.acquire('channel').then(() => order.push('late'));
      await s.settle(Promise.all([early, late]));
      assert.deepEqual(order, ['a', 'b', 'c', 'd', 'late']);
    });
  });

  describe('a turn\'s replies (ahead)', () => {
    it('go before the proactive sends already waiting, after the replies waiting before them, and count in the same windows', async () => {
      const clock = steppedClock();
      const limiter = new ConversationRateLimiter([{ max: 1, perMs: 1000 }], clock.now, clock.sleep);
      const order: string[] = [];
      const sent = (k: string) => () => order.push(`${k}@${clock.now()}`);
      await limiter.acquire('channel').then(sent('card-0'));
      const cards = ['card-1', 'card-2'].map((k) => limiter.acquire('channel').then(sent(k)));
      const replies = ['reply-1', 'reply-2'].map((k) => limiter.acquire('channel', true).then(sent(k)));
      await clock.settle(Promise.all([...cards, ...replies]));
      assert.deepEqual(order, ['card-0@0', 'reply-1@1000', 'reply-2@2000', 'card-1@3000', 'card-2@4000']);
    });
  });

  describe('a reply with a longest wait', () => {
    it('goes once its wait is up, counted, when room does not come first; what waited behind it waits the longer', async () => {
      const clock = steppedClock();
      const limiter = new ConversationRateLimiter([{ max: 1, perMs: 10_000 }], clock.now, clock.sleep);
      const order: string[] = [];
      const sent = (k: string) => () => order.push(`${k}@${clock.now()}`);
      await limiter.acquire('channel').then(sent('card-0'));
      const card = limiter.acquire('channel').then(sent('card-1'));
      const reply = limiter.acquire('channel', true, 5000).then(sent('reply'));
      await clock.settle(Promise.all([card, reply]));
      assert.deepEqual(order, ['card-0@0', 'reply@5000', 'card-1@15000']);
    });

    it('goes when room comes before its wait is up, and its timer then does nothing', async () => {
      const clock = steppedClock();
      const limiter = new ConversationRateLimiter([{ max: 1, perMs: 1000 }], clock.now, clock.sleep);
      const order: string[] = [];
      await limiter.acquire('channel');
      await clock.settle(limiter.acquire('channel', true, 5000).then(() => order.push(`reply@${clock.now()}`)));
      await clock.settle(limiter.acquire('channel').then(() => order.push(`next@${clock.now()}`)));
      assert.deepEqual(order, ['reply@1000', 'next@2000']);
    });
  });

  describe('closed (Countersign is stopping)', () => {
    it('fails the sends still waiting and every later one, and says how many were waiting', async () => {
      let now = 0;
      const limiter = new ConversationRateLimiter([{ max: 1, perMs: 1000 }], () => now, () => new Promise<void>(() => undefined));
      await limiter.acquire('a');
      const waiting = [limiter.acquire('a'), limiter.acquire('a'), limiter.acquire('b')];
      assert.equal(limiter.close('Countersign is stopping'), 2, 'b had room and went');
      await waiting[2];
      for (const w of waiting.slice(0, 2)) await assert.rejects(w, (err: Error) => err instanceof SendAbandonedError && err.message === 'not sent: Countersign is stopping');
      now += 5000;
      await assert.rejects(limiter.acquire('c'), SendAbandonedError);
      assert.equal(limiter.close('again'), 0);
    });
  });

  describe('shared among several instances (COUNTERSIGN_INSTANCES)', () => {
    it('gives each instance the limits divided by the instance count, rounded down, at least one message', () => {
      assert.deepEqual(shareOfLimits(1), TEAMS_CONVERSATION_LIMITS);
      assert.deepEqual(shareOfLimits(2), [{ max: 3, perMs: 1000 }, { max: 30, perMs: 30_000 }]);
      assert.deepEqual(shareOfLimits(3), [{ max: 2, perMs: 1000 }, { max: 20, perMs: 30_000 }]);
      assert.deepEqual(shareOfLimits(10), [{ max: 1, perMs: 1000 }, { max: 6, perMs: 30_000 }]);
      assert.deepEqual(shareOfLimits(100), [{ max: 1, perMs: 1000 }, { max: 1, perMs: 30_000 }]);
    });

    it('keeps three busy instances together within Teams\' limits for one conversation', async () => {
      const sentAt: number[] = [];
      // One clock for the three: a sleeping instance lets the others run, as on one timeline.
      const clock = steppedClock();
      const instances = [0, 1, 2].map(() => new ConversationRateLimiter(shareOfLimits(3), clock.now, clock.sleep));
      const sends = instances.map(async (limiter) => {
        for (let i = 0; i < 40; i++) {
          await limiter.acquire('channel');
          sentAt.push(clock.now());
        }
      });
      await clock.settle(Promise.all(sends));
      sentAt.sort((a, b) => a - b);
      assert.equal(sentAt.length, 120);
      for (let i = 7; i < sentAt.length; i++) assert.ok(sentAt[i] - sentAt[i - 7] >= 1000, `message ${i}: more than 7 in a second`);
      for (let i = 60; i < sentAt.length; i++) assert.ok(sentAt[i] - sentAt[i - 60] >= 30_000, `message ${i}: more than 60 in 30 seconds`);
    });
  });
});

describe('conversations the rate limiter holds', () => {
  it('lets go of the conversations gone quiet for the longest window: twenty thousand chats written to once are not all held', async () => {
    let now = 0;
    const limiter = new ConversationRateLimiter(TEAMS_CONVERSATION_LIMITS, () => now, async (ms) => {
      now += ms;
    });
    // One message each to twenty thousand conversations (personal chats, channel threads), ten a second.
    for (let i = 0; i < 20_000; i++) {
      await limiter.acquire(`a:person-${i}`);
      if (i % 10 === 9) now += 1000;
    }
    assert.ok(limiter.conversations <= 1000, `held ${limiter.conversations} conversations`);
  });

  it('keeps the lanes of conversations still sending within the window', async () => {
    let now = 0;
    const limiter = new ConversationRateLimiter(TEAMS_CONVERSATION_LIMITS, () => now, async (ms) => {
      now += ms;
    });
    const windows = TEAMS_CONVERSATION_LIMITS;
    const tightest = windows.reduce((a, b) => (a.max / a.perMs > b.max / b.perMs ? b : a));
    for (let i = 0; i < tightest.max; i++) await limiter.acquire('c-limited');
    // Many new conversations at the same instant: the limited one is not forgotten, so its next send waits.
    for (let i = 0; i < 5000; i++) await limiter.acquire(`c-${i}`);
    const before = now;
    await limiter.acquire('c-limited');
    assert.ok(now > before, 'the conversation at its limit still waits for room');
  });
});

