/**
 * The cards of requests whose outcome message was sent, through the Teams notifier's card version
 * claims: the write settling the message (and the one taking it) changes nothing the card shows, so
 * the next start's card catch-up leaves a card that shows the outcome alone; a card that does not
 * show it yet, or a later change the card does show, is still sent.
 */
import assert from 'node:assert/strict';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import { Countersign } from '../../src/app/countersign';
import { TeamsNotifier } from '../../src/teams/notifier';
import type { AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, opsChannel, sourceIn } from '../support/people';
import { reachConfigText, RecordingMessenger } from '../support/reach';
import { asked, click, freshFakesEachTest, settle } from '../app/steps';

const DELETE = 'delete resource group staging-old';

/**
 * A Teams notifier over the fakes' store (one per run: its own lease holder), whose Bot Connector records card updates and messages,
 * or fails the updates while `failUpdates`: `for now` (503, a failure another try may pass) or `for good` (403, the bot removed).
 */
function teamsNotifier(f: AppOnFakes) {
  const updates: { activityId: string; card: string }[] = [];
  const messages: string[] = [];
  const state: { failUpdates: false | 'for now' | 'for good'; attempts: number } = { failUpdates: false, attempts: 0 };
  const adapter = {
    continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
      logic({
        updateActivity: async (activity: { id: string; attachments: { content: unknown }[] }) => {
          state.attempts++;
          if (state.failUpdates === 'for now') throw Object.assign(new Error('Service Unavailable'), { statusCode: 503 });
          if (state.failUpdates === 'for good') throw Object.assign(new Error('Forbidden'), { statusCode: 403 });
          updates.push({ activityId: activity.id, card: JSON.stringify(activity.attachments[0].content) });
        },
        sendActivity: async (text: unknown) => {
          messages.push(String(text));
          return { id: `m-${messages.length}` };
        },
      } as unknown as TurnContext),
  } as unknown as CloudAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const stores = { getReference: f.store.conversations.getReference.bind(f.store.conversations), getCardMessages: f.store.cards.getCardMessages.bind(f.store.cards), claimCardVersion: f.store.cards.claimCardVersion.bind(f.store.cards), releaseCardVersion: f.store.cards.releaseCardVersion.bind(f.store.cards) };
  const notifier = new TeamsNotifier(adapter, '', stores, log, 0);
  notifier.cardUpdateRetryMs = [];
  return { notifier, updates, messages, state };
}

describe('Teams: the cards of requests whose outcome message was settled', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => ({ messenger: new RecordingMessenger(), configText: reachConfigText(['breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }']) }), { noCrash: true });
  beforeEach(() => f.store.conversations.saveReference(opsChannel.id, { conversation: { id: opsChannel.id }, serviceUrl: 'http://127.0.0.1:9/' }));

  /** A request approved and executed by a run whose notifier is `first`, its outcome message sent and settled. */
  async function executed(first: ReturnType<typeof teamsNotifier>) {
    const r = await asked(f, alice, DELETE);
    f.deps.notifier = first.notifier;
    await click(f, bob, r, 'approve');
    await settle(f);
    await first.notifier.idle();
    const done = await f.request(r.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.outcomeMessage, undefined, 'the outcome message settled');
    assert.deepEqual(first.messages, [`[SANDBOX] Request ${r.id} (delete resource group) succeeded.`]);
    return done;
  }

  it('are not sent again by the next start: the settling write is not a change of the card', async () => {
    const first = teamsNotifier(f);
    const done = await executed(first);
    assert.ok(first.updates.length > 0 && /succeeded/i.test(first.updates.at(-1)!.card), 'the run updated the card to its outcome');

    const second = teamsNotifier(f);
    await new Countersign({ ...f.deps, notifier: second.notifier }).refreshCards();
    await second.notifier.idle();
    assert.deepEqual(second.updates, [], `the card already shows ${done.id}'s outcome: nothing to send`);
  });

  it('are sent by the next start when the run could not update the card to the outcome', async () => {
    const first = teamsNotifier(f);
    first.state.failUpdates = 'for now';
    const done = await executed(first);

    const second = teamsNotifier(f);
    await new Countersign({ ...f.deps, notifier: second.notifier }).refreshCards();
    await second.notifier.idle();
    assert.equal(second.updates.length, 1, 'the card update the run lost is sent once');
    assert.equal(second.updates[0].activityId, `card-${done.id}`);
    assert.match(second.updates[0].card, /succeeded/i);
  });

  it('are not tried again by the next start when Teams refused the update for good (403: the bot removed)', async () => {
    const first = teamsNotifier(f);
    first.state.failUpdates = 'for good';
    await executed(first);

    const second = teamsNotifier(f);
    second.state.failUpdates = 'for good';
    await new Countersign({ ...f.deps, notifier: second.notifier }).refreshCards();
    await second.notifier.idle();
    assert.ok(first.state.attempts > 0);
    assert.equal(second.state.attempts, 0, 'the card is settled at the version Teams refused');
  });

  it('are updated by a later change the card shows (the review of a break-glass use), after a restart', async () => {
    const first = teamsNotifier(f);
    f.deps.notifier = first.notifier;
    const meant = f.app.interpret(`break-glass ${DELETE} reason: outage INC-42`);
    const inner = meant.kind === 'break-glass' ? meant.request : meant;
    assert.ok(inner.kind === 'ready');
    const made = await f.app.breakGlass({ command: inner.command, values: inner.values, reason: inner.reason!, actor: alice, source: sourceIn(opsChannel, 'bg-1') });
    assert.ok(made.ok, JSON.stringify(made));
    await f.app.cardPosted(made.request.id, { conversationId: opsChannel.id, activityId: `card-${made.request.id}` });
    await settle(f);
    await f.app.tellingIdle();
    await first.notifier.idle();
    const done = await f.request(made.request.id);
    assert.equal(done.outcomeMessage, undefined, 'the outcome message settled');

    const second = teamsNotifier(f);
    f.deps.notifier = second.notifier;
    await new Countersign(f.deps).refreshCards();
    await second.notifier.idle();
    assert.equal(second.updates.length, 0, 'nothing new on the card at the start');
    const ratified = await click(f, bob, done, 'ratify', { comment: 'checked the incident' });
    assert.ok(ratified.ok, JSON.stringify(ratified));
    await second.notifier.idle();
    assert.equal(second.updates.length, 1, 'the review reaches the card');
    assert.match(second.updates[0].card, /ratified/i);
  });
});
