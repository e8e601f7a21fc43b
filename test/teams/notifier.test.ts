import assert from 'node:assert/strict';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import type { CardMessage } from '../../src/app/ports';
import type { NotifierStores } from '../../src/teams/notifier';
import type { ApprovalRequest } from '../../src/domain/request';
import { cardLeaseMs, TeamsNotifier } from '../../src/teams/notifier';
import { requestIn } from '../support/requests';
import { cardActions, cardOf, FakeConnector } from '../support/connector';
import { eventually } from '../support/teams';
import { MemoryStore } from '../support/memory-store';
import { createAdapter } from '../../src/teams/adapter';
import { decideCardClaim, releasedCardClaim, type CardClaimState } from '../../src/store/card-claims';

/** The highest version claimed per card message and its lease, as the database shared by several instances keeps it. */
function sharedClaims(): Pick<NotifierStores, 'claimCardVersion' | 'releaseCardVersion'> {
  const claims = new Map<string, CardClaimState>();
  const key = (requestId: string, message: CardMessage) => `${requestId}/${message.activityId}`;
  return {
    claimCardVersion: async (requestId, message, version, lease) => {
      const { outcome, next } = decideCardClaim(claims.get(key(requestId, message)) ?? { sentVersion: 0, leaseHolder: null, leaseUntil: null }, version, lease, Date.now());
      if (next) claims.set(key(requestId, message), next);
      return outcome;
    },
    releaseCardVersion: async (requestId, message, version, holder, shown) => {
      const state = claims.get(key(requestId, message));
      if (state) claims.set(key(requestId, message), releasedCardClaim(state, version, holder, shown));
    },
  };
}

/** A notifier whose Bot Connector only records the card updates (version shown, per activity). */
function recordingNotifier(claims = sharedClaims(), updates: { activityId: string; card: string }[] = []) {
  const card: CardMessage = { conversationId: '19:ops-channel@thread.tacv2', activityId: 'card-1' };
  const conversations = {
    getCardMessages: async () => [card],
    ...claims,
    getReference: async () => ({ conversation: { id: card.conversationId }, serviceUrl: 'http://127.0.0.1:9/' }),
    saveReference: async () => undefined,
    saveCardMessage: async () => undefined,
  } as unknown as NotifierStores;
  const adapter = {
    continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
      logic({
        updateActivity: async (activity: { id: string; attachments: { content: unknown }[] }) => {
          updates.push({ activityId: activity.id, card: JSON.stringify(activity.attachments[0].content) });
        },
      } as unknown as TurnContext),
  } as unknown as CloudAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return { notifier: new TeamsNotifier(adapter, '', conversations, log), updates };
}

describe('Card updates for everyone', () => {
  it('sends one update showing the newest state when a request changes several times at once', async () => {
    // An approval is followed at once by the claim and the start of execution: three versions.
    const approved: ApprovalRequest = requestIn('approved');
    const executing: ApprovalRequest = requestIn('executing');
    const started: ApprovalRequest = { ...executing, version: executing.version + 1, execution: { ...executing.execution!, ref: { resourceIds: ['/subscriptions/x/resourceGroups/staging-old'] } } };
    const { notifier, updates } = recordingNotifier();
    void notifier.cardChanged(approved);
    void notifier.cardChanged(executing);
    void notifier.cardChanged(started);
    await notifier.idle();
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.equal(updates[0].activityId, 'card-1');
    assert.match(updates[0].card, /Executing/);
  });

  it('still sends a later change once the first update has gone', async () => {
    const { notifier, updates } = recordingNotifier();
    await notifier.cardChanged(requestIn('executing'));
    await notifier.cardChanged(requestIn('succeeded'));
    await notifier.idle();
    assert.equal(updates.length, 2);
    assert.match(updates[1].card, /Succeeded/);
  });

  it('renders a card only when Teams lets its update go, from the newest version by then, and sends no stale one after', async () => {
    const { notifier, updates } = recordingNotifier();
    // Teams' budget for the channel is spent: the first update waits until the test lets it go.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let calls = 0;
    notifier.limiter = { acquire: async () => (calls++ === 0 ? held : undefined) } as unknown as typeof notifier.limiter;
    const done = notifier.cardChanged(requestIn('approved'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the settle time: the update is waiting
    void notifier.cardChanged(requestIn('executing'));
    void notifier.cardChanged(requestIn('succeeded'));
    letGo();
    await done;
    await notifier.idle();
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('sends a change once when several instances are told of it', async () => {
    const claims = sharedClaims();
    const updates: { activityId: string; card: string }[] = [];
    const instances = [recordingNotifier(claims, updates), recordingNotifier(claims, updates), recordingNotifier(claims, updates)];
    await Promise.all(instances.map((i) => i.notifier.cardChanged(requestIn('executing'))));
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
  });

  it('sends nothing when a new run is told of a change the last run already put on the card (the start\'s refresh of ended requests)', async () => {
    const claims = sharedClaims();
    const updates: { activityId: string; card: string }[] = [];
    await recordingNotifier(claims, updates).notifier.cardChanged(requestIn('succeeded'));
    assert.equal(updates.length, 1);
    const restarted = recordingNotifier(claims, updates);
    await restarted.notifier.cardChanged(requestIn('succeeded'));
    await restarted.notifier.idle();
    assert.equal(updates.length, 1, 'the card already shows it');
  });

  it('looks the request\'s cards up again while the store cannot answer, and then updates them', async () => {
    const { notifier, updates } = recordingNotifier();
    notifier.retryOptions = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
    notifier.cardUpdateRetryMs = [5, 5, 5];
    const stores = (notifier as unknown as { conversations: { getCardMessages: (id: string) => Promise<CardMessage[]> } }).conversations;
    const lookUp = stores.getCardMessages;
    let failing = 2;
    stores.getCardMessages = async (id) => {
      if (failing-- > 0) throw new Error('Connection terminated unexpectedly');
      return lookUp(id);
    };
    await notifier.cardChanged(requestIn('succeeded'));
    await notifier.idle();
    assert.equal(updates.length, 1, 'the card shows the end');
    assert.match(updates[0].card, /Succeeded/);
  });

  it('sends no older card after another instance sent a newer one', async () => {
    const claims = sharedClaims();
    const updates: { activityId: string; card: string }[] = [];
    const slow = recordingNotifier(claims, updates);
    const fast = recordingNotifier(claims, updates);
    // The slow instance's update waits for Teams' budget while the other sends a newer version.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    slow.notifier.limiter = { acquire: () => held } as unknown as typeof slow.notifier.limiter;
    const done = slow.notifier.cardChanged(requestIn('executing'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fast.notifier.cardChanged(requestIn('succeeded'));
    letGo();
    await done;
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('sends the same version again when Teams asks for a retry', async () => {
    const updates: { activityId: string; card: string }[] = [];
    const { notifier } = recordingNotifier(sharedClaims(), updates);
    notifier.retryOptions = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
    failFirstUpdate(notifier, Object.assign(new Error('Too Many Requests'), { statusCode: 429 }));
    await notifier.cardChanged(requestIn('succeeded'));
    assert.equal(updates.length, 1);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('waits as long as Teams\' Retry-After says before sending again', async () => {
    const updates: { activityId: string; card: string }[] = [];
    const { notifier } = recordingNotifier(sharedClaims(), updates);
    notifier.retryOptions = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
    failFirstUpdate(notifier, Object.assign(new Error('Too Many Requests'), { statusCode: 429, response: { status: 429, headers: { get: (n: string) => (n === 'retry-after' ? '1' : undefined) } } }));
    const started = Date.now();
    await notifier.cardChanged(requestIn('succeeded'));
    assert.ok(Date.now() - started >= 1000, `sent again after ${Date.now() - started} ms, before Retry-After's second`);
    assert.equal(updates.length, 1);
  });

  it("shows a former delegate's own card without a button to decide, with why above it, leaving the version claims alone", async () => {
    const { notifier, updates } = recordingNotifier();
    const pending = requestIn('pending');
    const card: CardMessage = { conversationId: 'personal-carol', activityId: 'card-carol' };
    await notifier.cardWithoutButtons(pending, card, 'Your delegation from Bob Approver was revoked by Bob Approver at 2026-03-02 09:05 UTC, so you can no longer decide it on their behalf.');
    await notifier.idle();
    assert.deepEqual(updates.map((u) => u.activityId), ['card-carol']);
    const shown = JSON.parse(updates[0].card) as Record<string, unknown>;
    assert.deepEqual(cardActions(shown).filter((a) => ['approve', 'reject', 'cancel'].includes(a.verb)), []);
    assert.match(updates[0].card, /Your delegation from Bob Approver was revoked by Bob Approver at 2026-03-02 09:05 UTC/);
    // The request's next version still goes to every card of it as everyone's card.
    await notifier.cardChanged({ ...pending, version: pending.version + 1 });
    await notifier.idle();
    assert.equal(updates.length, 2);
    assert.ok(cardActions(JSON.parse(updates[1].card) as Record<string, unknown>).some((a) => a.verb === 'approve'));
  });

  it("answers whether a former delegate's card was done with: false while Teams failed for now, true once refused for good", async () => {
    const pending = requestIn('pending');
    const card: CardMessage = { conversationId: 'personal-carol', activityId: 'card-carol' };
    const notice = 'Your delegation from Bob Approver ended at 2026-03-02 09:30 UTC, so you can no longer decide it on their behalf.';
    const down = recordingNotifier();
    down.notifier.retryOptions = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
    failFirstUpdate(down.notifier, Object.assign(new Error('Service Unavailable'), { statusCode: 503 }));
    assert.equal(await down.notifier.cardWithoutButtons(pending, card, notice), false, 'a later sweep tries it again');
    const gone = recordingNotifier();
    failFirstUpdate(gone.notifier, Object.assign(new Error('Not Found'), { statusCode: 404 }));
    assert.equal(await gone.notifier.cardWithoutButtons(pending, card, notice), true, 'the message is gone: nothing to try again');
    const shown = recordingNotifier();
    assert.equal(await shown.notifier.cardWithoutButtons(pending, card, notice), true);
    assert.deepEqual(shown.updates.map((u) => u.activityId), ['card-carol']);
  });
});

describe('Card updates that fail', () => {
  const channelCard: CardMessage = { conversationId: '19:ops-channel@thread.tacv2', activityId: 'card-1' };
  const personalCard: CardMessage = { conversationId: 'a:personal-bob', activityId: 'card-2' };
  const unavailable = () => Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * A notifier for a request with a card in the channel and one in Bob's personal chat, whose Bot
   * Connector answers each update attempt as `answer` says: what Teams took, every attempt, the log.
   */
  function notifierWith(answer: (activityId: string) => Promise<void>, claims = sharedClaims()) {
    const updates: { activityId: string; card: string }[] = [];
    const attempts: string[] = [];
    const logged: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const conversations = {
      getCardMessages: async () => [channelCard, personalCard],
      ...claims,
      getReference: async (id: string) => ({ conversation: { id }, serviceUrl: 'http://127.0.0.1:9/' }),
    } as unknown as NotifierStores;
    const adapter = {
      continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
        logic({
          updateActivity: async (activity: { id: string; attachments: { content: unknown }[] }) => {
            attempts.push(activity.id);
            await answer(activity.id);
            updates.push({ activityId: activity.id, card: JSON.stringify(activity.attachments[0].content) });
          },
        } as unknown as TurnContext),
    } as unknown as CloudAdapter;
    const record = (level: string) => (fields: Record<string, unknown>, msg: string) => void logged.push({ level, msg, fields });
    const notifier = new TeamsNotifier(adapter, '', conversations, { info: record('info'), warn: record('warn'), error: record('error') } as never, 0);
    notifier.cardUpdateRetryMs = [30, 30, 30, 30];
    /** The state each card shows at Teams now. */
    const shows = (activityId: string) => {
      const last = updates.filter((u) => u.activityId === activityId).at(-1)?.card ?? '';
      return /Succeeded/.test(last) ? 'succeeded' : /Executing/.test(last) ? 'executing' : 'as posted';
    };
    return { notifier, updates, attempts, logged, shows };
  }

  it('tries a failed card update again until Teams takes it, and the card shows the request\'s state', async () => {
    let failures = 3;
    const { notifier, attempts, shows } = notifierWith(async () => {
      if (failures-- > 0) throw unavailable();
    });
    await notifier.cardChanged(requestIn('succeeded'));
    await notifier.idle();
    assert.deepEqual([shows('card-1'), shows('card-2')], ['succeeded', 'succeeded']);
    assert.equal(attempts.length, 5, `three failed attempts, then one per card: ${attempts.join()}`);
  });

  it('ends showing the final state when the request finished while Teams failed every update, once Teams is back', async () => {
    let down = true;
    const { notifier, shows } = notifierWith(async () => {
      if (down) throw unavailable();
    });
    void notifier.cardChanged(requestIn('executing'));
    await sleep(20);
    void notifier.cardChanged(requestIn('succeeded'));
    await sleep(50);
    down = false;
    await notifier.idle();
    assert.deepEqual([shows('card-1'), shows('card-2')], ['succeeded', 'succeeded']);
  });

  it('updates the request\'s other card at once while one card\'s update hangs, and that one after it answers', async () => {
    let answer!: () => void;
    const hung = new Promise<void>((resolve) => (answer = resolve));
    const { notifier, shows } = notifierWith((activityId) => (activityId === 'card-1' ? hung : Promise.resolve()));
    const done = notifier.cardChanged(requestIn('executing'));
    await eventually('the personal card updated', () => shows('card-2') === 'executing', 2000);
    void notifier.cardChanged(requestIn('succeeded'));
    await eventually('the personal card shows the next state too', () => shows('card-2') === 'succeeded', 2000);
    assert.equal(shows('card-1'), 'as posted', 'the channel card is still waiting for Teams');
    answer();
    await done;
    await notifier.idle();
    assert.deepEqual([shows('card-1'), shows('card-2')], ['succeeded', 'succeeded']);
  });

  it('updates the request\'s other card while one keeps failing, and logs that card once its retries are spent', async () => {
    const { notifier, attempts, logged, shows } = notifierWith(async (activityId) => {
      if (activityId === 'card-1') throw unavailable();
    });
    await notifier.cardChanged(requestIn('succeeded'));
    assert.equal(shows('card-2'), 'succeeded');
    assert.equal(attempts.filter((a) => a === 'card-1').length, 5, 'the first attempt and four more');
    const failed = logged.filter((l) => l.level === 'error');
    assert.deepEqual(
      failed.map((l) => [l.msg, l.fields.conversationId, l.fields.activityId, l.fields.attempts]),
      [['card update failed: the card shows an older state of its request', channelCard.conversationId, 'card-1', 5]],
    );
    assert.equal(logged.filter((l) => l.msg === 'card update failed; trying again').length, 4);
  });

  it('does not try again an update Teams refused for good (the message is gone)', async () => {
    const { notifier, attempts, logged } = notifierWith(async (activityId) => {
      if (activityId === 'card-1') throw Object.assign(new Error('Not Found'), { statusCode: 404 });
    });
    await notifier.cardChanged(requestIn('succeeded'));
    assert.equal(attempts.filter((a) => a === 'card-1').length, 1);
    assert.equal(logged.filter((l) => l.level === 'error' && l.fields.activityId === 'card-1').length, 1);
  });

  it('settles a card Teams refused for good at its version: a later start does not try it again, a newer version still gets its attempt', async () => {
    // The Playground lost its messages at a restart of `npm run local`: each start's refresh of the day's ended requests met 404 again.
    const claims = sharedClaims();
    const gone = async (activityId: string) => {
      if (activityId === 'card-1') throw Object.assign(new Error('Message does not exist in the thread'), { statusCode: 404 });
    };
    const first = notifierWith(gone, claims);
    await first.notifier.cardChanged(requestIn('succeeded'));
    await first.notifier.idle();
    assert.equal(first.attempts.filter((a) => a === 'card-1').length, 1);
    const restarted = notifierWith(gone, claims);
    await restarted.notifier.cardChanged(requestIn('succeeded'));
    await restarted.notifier.idle();
    assert.deepEqual(restarted.attempts, [], 'neither card is tried again at the next start');
    assert.deepEqual(restarted.logged.filter((l) => l.level !== 'info').map((l) => l.msg), []);
    const newer = requestIn('succeeded');
    await restarted.notifier.cardChanged({ ...newer, version: newer.version + 1 });
    await restarted.notifier.idle();
    assert.deepEqual(restarted.attempts.sort(), ['card-1', 'card-2'], 'a newer version is tried on both cards');
  });

  it('does not try again an update, or a look-up of the cards, that the store refused for good (its database changed under it: Countersign is stopping)', async () => {
    const gone = Object.assign(new Error('the database file …/countersign.db was deleted while Countersign had it open'), { name: 'DatabaseFileGoneError' });
    for (const fails of ['claimCardVersion', 'getCardMessages'] as const) {
      const { notifier, logged } = notifierWith(async () => undefined);
      // A retry a minute later: the stop that follows such a store's failure waited its whole grace for them.
      notifier.cardUpdateRetryMs = [60_000];
      const stores = (notifier as unknown as { conversations: NotifierStores }).conversations;
      let tries = 0;
      stores[fails] = (async () => {
        tries++;
        throw gone;
      }) as never;
      stores.storageFault = (err) => (err === gone ? 'damaged' : undefined);
      const done = notifier.cardChanged(requestIn('succeeded'));
      const ended = await Promise.race([done.then(() => 'ended'), sleep(1000).then(() => 'still trying')]);
      notifier.abandonWaiting('test over');
      await done;
      assert.equal(ended, 'ended', `${fails}: given up at once`);
      assert.equal(tries, fails === 'claimCardVersion' ? 2 : 1, `${fails}: one try per card message`);
      assert.equal(logged.filter((l) => /trying again/.test(l.msg)).length, 0, `${fails}: ${JSON.stringify(logged.map((l) => l.msg))}`);
      assert.ok(logged.some((l) => l.level === 'error' && String(l.fields.err).includes('was deleted while Countersign had it open')), `${fails}: the failure is logged`);
    }
  });

  it('drops the updates waiting to be tried again when Countersign stops, and says so', async () => {
    const { notifier, logged } = notifierWith(async (activityId) => {
      if (activityId === 'card-1') throw unavailable();
    });
    notifier.cardUpdateRetryMs = [60_000];
    const done = notifier.cardChanged(requestIn('succeeded'));
    await eventually('a retry is waiting', () => logged.some((l) => l.msg === 'card update failed; trying again'), 2000);
    assert.equal(notifier.abandonWaiting('Countersign is stopping'), 1);
    await done;
    assert.ok(logged.some((l) => l.msg === 'card update not sent: Countersign is stopping' && l.fields.activityId === 'card-1'));
  });
});

describe('Card updates from several instances, through the Bot Connector', () => {
  const card: CardMessage = { conversationId: '19:ops-channel@thread.tacv2', activityId: 'card-1' };
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  let connector: FakeConnector;
  let store: MemoryStore;

  beforeEach(async () => {
    connector = await new FakeConnector().start();
    store = new MemoryStore();
    await store.cards.saveCardMessage(requestIn('pending').id, card);
    await store.conversations.saveReference(card.conversationId, { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: card.conversationId }, bot: { id: 'bot-countersign' } });
  });
  afterEach(() => connector.stop());

  /** One instance: its own adapter and notifier over its own connection to the shared store. */
  function instance(): TeamsNotifier {
    const shared = store.reopen();
    const stores: NotifierStores = {
      getReference: (id) => shared.conversations.getReference(id),
      getCardMessages: (id) => shared.cards.getCardMessages(id),
      claimCardVersion: (id, m, v, l) => shared.cards.claimCardVersion(id, m, v, l),
      releaseCardVersion: (id, m, v, h) => shared.cards.releaseCardVersion(id, m, v, h),
    };
    const notifier = new TeamsNotifier(createAdapter({ id: '', password: '', type: 'MultiTenant', tenantId: '' }, log as never), '', stores, log, 0);
    notifier.cardLease = { ...notifier.cardLease, busyRetryMs: 20 };
    return notifier;
  }

  /** The states the card message showed at Teams, in the order Teams applied the updates. */
  const shown = () => connector.updates(card.activityId).map((u) => (/Succeeded/.test(JSON.stringify(cardOf(u.activity))) ? 'succeeded' : 'executing'));

  it('never puts an older card over a newer one when the first instance\'s update is slow to reach Teams', async () => {
    // Instance A's update (executing) takes 600 ms to reach Teams; B sends the newer state meanwhile.
    connector.updateDelayMs = (activity) => (/Executing/.test(JSON.stringify(cardOf(activity))) ? 600 : 0);
    const [a, b] = [instance(), instance()];
    const first = a.cardChanged(requestIn('executing'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(shown(), [], 'A\'s update is on its way');
    await Promise.all([first, b.cardChanged(requestIn('succeeded'))]);
    await Promise.all([a.idle(), b.idle()]);
    assert.deepEqual(shown(), ['executing', 'succeeded']);
  });

  it('keeps its claim while its update travels, however short the claim\'s lease: renewed, so a slow update is not overtaken', async () => {
    // A lease far shorter than the 1.6 s Teams takes here (as with a short execution lease: cardLeaseMs).
    // Renewed every third of it: 400 ms lets the event loop of a loaded machine stall 250 ms without
    // the lease running out under the renewals (150 ms let it stall 100 ms, which happens there).
    connector.updateDelayMs = (activity) => (/Executing/.test(JSON.stringify(cardOf(activity))) ? 1600 : 0);
    const [a, b] = [instance(), instance()];
    for (const n of [a, b]) n.cardLease = { ...n.cardLease, ms: 400 };
    const first = a.cardChanged(requestIn('executing'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all([first, b.cardChanged(requestIn('succeeded'))]);
    await Promise.all([a.idle(), b.idle()]);
    assert.deepEqual(shown(), ['executing', 'succeeded']);
  });

  it('gives a card claim at most two thirds of the execution lease, so a dead instance\'s claims lapse before its executions are taken over', () => {
    assert.equal(cardLeaseMs(60_000), 30_000, 'the default lease: 30 s as before');
    assert.equal(cardLeaseMs(1500), 1000);
    assert.equal(cardLeaseMs(3_600_000), 30_000);
  });

  describe("a former delegate's card shown without its buttons", () => {
    const notice = 'Your delegation from Bob Approver ended at 2026-03-02 09:30 UTC, so you can no longer decide it on their behalf.';
    /** What each update Teams applied showed: the card without buttons (with the notice), or everyone's card in its state. */
    const states = () => connector.updates(card.activityId).map((u) => {
      const text = JSON.stringify(cardOf(u.activity));
      return text.includes('Your delegation from Bob Approver') ? 'withdrawn' : /Succeeded/.test(text) ? 'succeeded' : 'pending';
    });

    it('never puts the older state over a newer card another instance sends at the same moment', async () => {
      // A takes the buttons off the pending card, its update 600 ms on its way; B sends the request's newer state meanwhile.
      connector.updateDelayMs = (activity) => (JSON.stringify(cardOf(activity)).includes('Your delegation from') ? 600 : 0);
      const [a, b] = [instance(), instance()];
      const first = a.cardWithoutButtons(requestIn('pending'), card, notice);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Promise.all([first, b.cardChanged(requestIn('succeeded'))]);
      await Promise.all([a.idle(), b.idle()]);
      assert.deepEqual(states(), ['withdrawn', 'succeeded'], 'the newer state last');
    });

    it('leaves a card that already shows a newer state as it is', async () => {
      const [a, b] = [instance(), instance()];
      await b.cardChanged(requestIn('succeeded'));
      await a.cardWithoutButtons(requestIn('pending'), card, notice);
      await a.idle();
      assert.deepEqual(states(), ['succeeded']);
    });

    it('takes the buttons off a card that shows the same state (sent by another instance), and a newer state still follows', async () => {
      const [a, b] = [instance(), instance()];
      await b.cardChanged(requestIn('pending'));
      await a.cardWithoutButtons(requestIn('pending'), card, notice);
      await a.cardWithoutButtons(requestIn('pending'), card, notice);
      await b.cardChanged(requestIn('succeeded'));
      await Promise.all([a.idle(), b.idle()]);
      assert.deepEqual(states(), ['pending', 'withdrawn', 'withdrawn', 'succeeded']);
    });
  });

  describe('messages to the requester: what became of them', () => {
    const done = requestIn('succeeded');
    const where = done.source.conversationId;
    beforeEach(() => store.conversations.saveReference(where, { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: where }, bot: { id: 'bot-countersign' } }));

    it('answers sent once Teams took it', async () => {
      assert.equal(await instance().tellRequester(done, 'Request CS-1 succeeded.'), 'sent');
      assert.deepEqual(connector.texts(where), ['[SANDBOX] Request CS-1 succeeded.']);
    });

    it('answers refused when the conversation is gone (404), and when no reference to it is stored', async () => {
      connector.goneConversations.add(where);
      const notifier = instance();
      notifier.retryOptions = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
      assert.equal(await notifier.tellRequester(done, 'Request CS-1 succeeded.'), 'refused');
      assert.equal(await notifier.tellRequester({ ...done, source: { ...done.source, conversationId: '19:never-there@thread.tacv2' } }, 'Request CS-1 succeeded.'), 'refused');
    });

    it('warns of a conversation whose reference is not stored once, not at every send to it; another conversation gets its own warning', async () => {
      const warnings: Record<string, unknown>[] = [];
      const notifier = instance();
      (notifier as unknown as { log: unknown }).log = { ...log, warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ ...fields, msg }) };
      const missing: string[] = [];
      notifier.onReferenceMissing = (id) => missing.push(id);
      const nowhere = { ...done, source: { ...done.source, conversationId: '19:never-there@thread.tacv2' } };
      for (let i = 0; i < 5; i++) assert.equal(await notifier.tellRequester(nowhere, 'Request CS-1 succeeded.'), 'refused');
      assert.equal(await notifier.tellRequester({ ...done, source: { ...done.source, conversationId: '19:gone-too@thread.tacv2' } }, 'Request CS-1 succeeded.'), 'refused');
      assert.deepEqual(
        warnings.map((w) => [w.conversationId, w.msg]),
        [
          ['19:never-there@thread.tacv2', 'no conversation reference stored; cannot reach the conversation'],
          ['19:gone-too@thread.tacv2', 'no conversation reference stored; cannot reach the conversation'],
        ],
      );
      assert.equal(missing.length, 6, 'each send still has the reference written again at the conversation\'s next message');
      // Once the minute is over, the next send warns again, counting those it did not warn of.
      notifier.referenceMissingWarnMs = 20;
      await new Promise((resolve) => setTimeout(resolve, 30));
      await notifier.tellRequester(nowhere, 'Request CS-1 succeeded.');
      assert.deepEqual(warnings.slice(2).map((w) => [w.conversationId, w.alsoSinceLastWarning]), [['19:never-there@thread.tacv2', 4]]);
    });

    it('remembers at most 10,000 conversations warned of, forgetting the oldest first (a table of references emptied under a start over many)', () => {
      const notifier = instance();
      let warned = 0;
      (notifier as unknown as { log: unknown }).log = { ...log, warn: () => warned++ };
      const warn = (id: string) => (notifier as unknown as { warnReferenceMissing(id: string): void }).warnReferenceMissing(id);
      for (let i = 0; i < 12_000; i++) warn(`19:gone-${i}@thread.tacv2`);
      const remembered = (notifier as unknown as { missingWarned: Map<string, unknown> }).missingWarned;
      assert.equal(warned, 12_000);
      assert.equal(remembered.size, 10_000);
      warn('19:gone-11999@thread.tacv2');
      assert.equal(warned, 12_000, 'the newest is still remembered: not warned of again within the minute');
      warn('19:gone-0@thread.tacv2');
      assert.equal(warned, 12_001, 'the oldest was forgotten: warned of again');
      assert.equal(remembered.size, 10_000);
    });

    it('answers failed when Teams fails for now (500 through every retry), so that it may be sent later', async () => {
      connector.failTexts = true;
      const notifier = instance();
      notifier.retryOptions = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };
      assert.equal(await notifier.tellRequester(done, 'Request CS-1 succeeded.'), 'failed');
      assert.deepEqual(connector.texts(where), []);
    });
  });

  it('sends the newer card once the lease of an instance that died holding an older one ran out', async () => {
    // A dead instance claimed version 3 with a 300 ms lease and never released it.
    assert.equal(await store.cards.claimCardVersion(requestIn('executing').id, card, 3, { holder: 'dead', ms: 300 }), 'claimed');
    const b = instance();
    const started = Date.now();
    await b.cardChanged(requestIn('succeeded'));
    assert.deepEqual(shown(), ['succeeded']);
    assert.ok(Date.now() - started >= 250, `sent after ${Date.now() - started} ms, before the dead instance's lease ran out`);
  });
});

/** The notifier's first card update is answered with `error` (as Teams' throttling arrives), later ones go through. */
function failFirstUpdate(notifier: TeamsNotifier, error: Error): void {
  let failures = 1;
  const adapter = (notifier as unknown as { adapter: CloudAdapter }).adapter;
  const original = adapter.continueConversationAsync.bind(adapter);
  (adapter as unknown as { continueConversationAsync: unknown }).continueConversationAsync = async (appId: string, ref: unknown, logic: (ctx: TurnContext) => Promise<void>) => {
    if (failures-- > 0) return logic({ updateActivity: async () => Promise.reject(error) } as unknown as TurnContext);
    return original(appId, ref as never, logic);
  };
}
