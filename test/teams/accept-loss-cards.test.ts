/**
 * The cards of the requests an accepted loss of audit records expired (countersign audit accept-loss),
 * as Teams is sent them by the next start: every one of them loses its Approve and Reject, however
 * long Countersign stayed stopped after the acceptance, within the conversation's rate limit.
 */
import assert from 'node:assert/strict';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import { acceptAuditLoss } from '../../src/app/accept-loss';
import { Countersign, ENDED_CARDS_WINDOW_MS } from '../../src/app/countersign';
import { TeamsNotifier } from '../../src/teams/notifier';
import { ConversationRateLimiter } from '../../src/teams/rate-limit';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { cardActions } from '../support/connector';
import { alice } from '../support/people';
import { asked, settle } from '../app/steps';

const CHANNEL = '19:ops-channel@thread.tacv2';
/** The test's share of a conversation's Teams budget: 3 messages in 300 ms. */
const WINDOW = { max: 3, perMs: 300 };

/** A notifier over the fakes' store whose Bot Connector records each card update, when, and what it showed. */
function teamsNotifier(f: AppOnFakes) {
  const updates: { activityId: string; at: number; card: Record<string, unknown> }[] = [];
  const adapter = {
    continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
      logic({
        updateActivity: async (activity: { id: string; attachments: { content: Record<string, unknown> }[] }) => {
          updates.push({ activityId: activity.id, at: performance.now(), card: activity.attachments[0].content });
        },
      } as unknown as TurnContext),
  } as unknown as CloudAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const stores = { getReference: f.store.conversations.getReference.bind(f.store.conversations), getCardMessages: f.store.cards.getCardMessages.bind(f.store.cards), claimCardVersion: f.store.cards.claimCardVersion.bind(f.store.cards), releaseCardVersion: f.store.cards.releaseCardVersion.bind(f.store.cards) };
  const notifier = new TeamsNotifier(adapter, '', stores, log, 0);
  const waited: number[] = [];
  notifier.limiter = new ConversationRateLimiter([WINDOW], undefined, undefined, (_conversation, ms) => waited.push(ms));
  return { notifier, updates, waited };
}

describe('Teams: the cards of requests an accepted loss of audit records expired', () => {
  it('are updated at the next start, days after the acceptance, without their buttons, within the conversation\'s rate limit', async () => {
    const f = appOnFakes();
    await f.store.conversations.saveReference(CHANNEL, { conversation: { id: CHANNEL }, serviceUrl: 'http://127.0.0.1:9/' });
    const waiting = [];
    for (const group of ['a', 'b', 'c', 'd']) {
      const r = await asked(f, alice, `delete resource group staging-${group}`);
      for (const copy of [1, 2]) await f.app.cardPosted(r.id, { conversationId: CHANNEL, activityId: `${r.id}-card-${copy}` });
      waiting.push(r);
    }
    await acceptAuditLoss({ store: f.store, clock: f.clock }, { reason: 'restored from a copy, INC-4721', operator: 'ops@host', problems: ['records 13 to 20 are missing'], head: { seq: (await f.audit()).at(-1)!.seq, hash: 'a'.repeat(64) } });
    f.clock.advance(3 * ENDED_CARDS_WINDOW_MS);

    const { notifier, updates, waited } = teamsNotifier(f);
    const started = new Countersign({ ...f.deps, notifier });
    assert.equal(await started.refreshCards(), waiting.length);
    await notifier.idle();

    const cards = (await Promise.all(waiting.map((r) => f.store.cards.getCardMessages(r.id)))).flat();
    assert.equal(cards.length, 3 * waiting.length, 'the card posted where it was asked, and two copies');
    assert.ok(cards.every((c) => c.conversationId === CHANNEL), 'all in one conversation');
    assert.deepEqual(updates.map((u) => u.activityId).sort(), cards.map((c) => c.activityId).sort(), 'every card of every request it expired, once');
    for (const u of updates) {
      assert.deepEqual(cardActions(u.card).filter((a) => a.verb === 'approve' || a.verb === 'reject' || a.verb === 'cancel'), [], `${u.activityId} keeps no button to decide`);
      const text = JSON.stringify(u.card);
      assert.match(text, /"text":"Expired [^"]*, when a loss of audit records was accepted"/);
      assert.match(text, /Not executed: it was waiting for approval when a loss of audit records was accepted \(countersign audit accept-loss; the log then ended at record \d+\).*Check the target in Azure/);
      assert.doesNotMatch(text, /Nobody approved it in time/, 'not for want of approvers');
    }
    // Never more than the window allows in the one conversation (12 updates: at least three full windows).
    assert.ok(waited.length >= updates.length - WINDOW.max, `${waited.length} of ${updates.length} updates waited for room`);
    const times = updates.map((u) => u.at).sort((a, b) => a - b);
    const windows = Math.ceil(updates.length / WINDOW.max) - 1;
    assert.ok(times.at(-1)! - times[0] >= windows * WINDOW.perMs - 50, `${updates.length} updates went within ${times.at(-1)! - times[0]} ms`);
    await settle(f);
  });
});
