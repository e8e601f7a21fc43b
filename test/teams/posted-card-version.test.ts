/**
 * The cards Countersign posts where a person asked (a new request's, `status`, `pending`) are recorded
 * with the version of the request they show: the next start's card catch-up (refreshCards) leaves
 * them as they are, instead of sending each the same state again at every start for a day.
 */
import assert from 'node:assert/strict';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import { Countersign } from '../../src/app/countersign';
import type { Actor } from '../../src/domain/request';
import { TeamsNotifier } from '../../src/teams/notifier';
import { RequestPosting } from '../../src/teams/request-posting';
import type { AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, opsChannel, sourceIn } from '../support/people';
import { reachConfigText, RecordingMessenger } from '../support/reach';
import { ask, asked, click, freshFakesEachTest, settle } from '../app/steps';

const DELETE = 'delete resource group staging-old';

/** A Teams notifier over the fakes' store (its own lease holder, as a new run's), whose Bot Connector records the card updates. */
function teamsNotifier(f: AppOnFakes, options: { settled?: boolean } = {}) {
  const updates: string[] = [];
  /** The places in a conversation's Teams budget taken, and the card versions claimed. */
  const taken = { places: 0, claims: 0 };
  const adapter = {
    continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
      logic({ updateActivity: async (activity: { id: string }) => void updates.push(activity.id) } as unknown as TurnContext),
  } as unknown as CloudAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const claim = f.store.cards.claimCardVersion.bind(f.store.cards);
  const stores = {
    getReference: f.store.conversations.getReference.bind(f.store.conversations),
    getCardMessages: f.store.cards.getCardMessages.bind(f.store.cards),
    claimCardVersion: (...args: Parameters<typeof claim>) => (taken.claims++, claim(...args)),
    releaseCardVersion: f.store.cards.releaseCardVersion.bind(f.store.cards),
    ...(options.settled ? { getSettledCardMessages: f.store.cards.getSettledCardMessages.bind(f.store.cards) } : {}),
  };
  const notifier = new TeamsNotifier(adapter, '', stores, log, 0);
  notifier.cardUpdateRetryMs = [];
  const acquire = notifier.limiter.acquire.bind(notifier.limiter);
  notifier.limiter.acquire = (...args) => (taken.places++, acquire(...args));
  return { notifier, updates, taken };
}

let posted = 0;

/** A turn of `who` in the ops channel whose replies are recorded, each given a message id. */
function turn(who: Actor, sent: string[]): TurnContext {
  return {
    activity: { channelId: 'msteams', id: `incoming-${++posted}`, from: { id: who.aadObjectId, aadObjectId: who.aadObjectId, name: who.name }, conversation: { id: opsChannel.id, conversationType: 'channel', tenantId: who.tenantId } },
    sendActivity: async () => {
      const id = `posted-${++posted}`;
      sent.push(id);
      return { id };
    },
  } as unknown as TurnContext;
}

describe('Teams: the cards posted where a person asked, at the next start', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => ({ messenger: new RecordingMessenger(), configText: reachConfigText([]) }), { noCrash: true });
  beforeEach(() => f.store.conversations.saveReference(opsChannel.id, { conversation: { id: opsChannel.id }, serviceUrl: 'http://127.0.0.1:9/' }));

  const posting = () => new RequestPosting(f.app, () => ({}), () => undefined);

  /** Every conversation the request's cards are in is one Countersign can reach (the approvers' chats too). */
  async function reachable(requestId: string): Promise<string[]> {
    const cards = await f.store.cards.getCardMessages(requestId);
    for (const c of cards) await f.store.conversations.saveReference(c.conversationId, { conversation: { id: c.conversationId }, serviceUrl: 'http://127.0.0.1:9/' });
    return cards.map((c) => c.activityId);
  }

  async function restart(settled = true): Promise<string[]> {
    const next = teamsNotifier(f, { settled });
    await new Countersign({ ...f.deps, notifier: next.notifier }).refreshCards();
    await next.notifier.idle();
    lastRestart = next.taken;
    return next.updates;
  }
  let lastRestart = { places: 0, claims: 0 };

  it('are not sent again: a new request\'s card and its `pending` copy show its state already', async () => {
    const first = teamsNotifier(f);
    f.deps.notifier = first.notifier;
    const made = await ask(f, alice, DELETE);
    assert.ok(made.ok, JSON.stringify(made));
    const sent: string[] = [];
    assert.equal(await posting().postRequestCard(turn(alice, sent), made.request), true);
    await settle(f);
    await f.app.tellingIdle();
    await first.notifier.idle();
    await posting().showPending(turn(bob, sent));
    const cards = await reachable(made.request.id);
    assert.equal(cards.length, 4, `the card posted at its creation, its copy, and the two approvers' cards: ${cards.join()}`);
    assert.equal(sent.length, 3, 'the card at its creation, then `pending`\'s list and its copy of the card');
    assert.ok(cards.includes(sent[0]) && cards.includes(sent[2]), `both bound, with the approvers' cards: ${cards.join()}`);
    assert.equal((await f.request(made.request.id)).state, 'pending');

    assert.deepEqual(await restart(false), [], 'every card shows the request as it is');
    assert.deepEqual(lastRestart, { places: 4, claims: 4 }, 'by a store that cannot say what each card shows, each is claimed to find that out');
    assert.deepEqual(await restart(), [], 'every card shows the request as it is');
    assert.deepEqual(lastRestart, { places: 0, claims: 0 }, "none took a place in its conversation's Teams budget, nor was claimed: the replies to people do not wait behind them");
  });

  it('are not sent again for a request that ended: a `status` copy posted after its end shows it', async () => {
    const first = teamsNotifier(f);
    f.deps.notifier = first.notifier;
    const r = await asked(f, alice, DELETE);
    await f.app.tellingIdle();
    await reachable(r.id);
    await click(f, bob, r, 'reject', { comment: 'not today' });
    await settle(f);
    await f.app.tellingIdle();
    await first.notifier.idle();
    const ended = await f.request(r.id);
    assert.equal(ended.state, 'rejected');
    const answer = await f.app.statusIn(alice, r.id, sourceIn(opsChannel));
    assert.ok('show' in answer, JSON.stringify(answer));
    const sent: string[] = [];
    await posting().postRequestCard(turn(alice, sent), answer.show);
    const cards = await reachable(r.id);
    assert.ok(cards.includes(`card-${r.id}`) && cards.includes(sent[0]), `the card and its \`status\` copy are bound: ${cards.join()}`);

    assert.deepEqual(await restart(), [], 'the copy shows the rejection already');
    // A later change the cards show (none here: made up) still reaches every one of them.
    const later = teamsNotifier(f);
    await later.notifier.cardChanged({ ...ended, version: ended.version + 1, cardVersion: undefined });
    await later.notifier.idle();
    assert.deepEqual(later.updates.sort(), [...cards].sort(), 'a newer version goes to every card');
  });
});
