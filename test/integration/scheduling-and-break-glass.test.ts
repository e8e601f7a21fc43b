/**
 * Approve now, run later, and break-glass, at the network boundary: the real bot over HTTP, the fake
 * Bot Connector, the ARM sandbox and a controlled clock. "delete resource group" may be broken glass
 * on by requesters (Alice), its notice going to a security channel; "tag" may not.
 */
import assert from 'node:assert/strict';
import { cardActions, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { reachConfigText } from '../support/reach';
import { eventually, opsChannel, people, shown } from '../support/teams';

const NOTICE = '19:security-notices@thread.tacv2';
const HOUR = 3_600_000;

describe('scheduling and break-glass (bot over HTTP, fake Bot Connector, controlled clock)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ configText: reachConfigText([`breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h, notify: ["${NOTICE}"] }`]) });
    // Countersign was added to the notice channel.
    await h.teams.say(people.erin, 'help', { id: NOTICE, conversationType: 'channel' });
  });
  afterEach(async () => {
    await h.stop();
  });

  /** Types `break-glass ...`; returns the card posted in the operations channel (no buttons while it runs). */
  async function breakGlassVia(text: string): Promise<{ cardId: string; requestId: string }> {
    const from = await h.teams.say(people.alice, text);
    await h.bot.app.tellingIdle();
    const posted = h.teams.since(from).find((s) => s.conversationId === opsChannel.id && ((s.activity as { attachments?: unknown[] }).attachments?.length ?? 0) > 0);
    assert.ok(posted, 'the card was posted where it was asked');
    const requestId = /CS-[0-9A-Z]+/.exec(cardText(h.connector.card(posted.id)))?.[0];
    assert.ok(requestId);
    return { cardId: posted.id, requestId };
  }
  const textsSince = (from: number) => h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');

  it('approves now and runs at the time asked for, echoing it and showing "Runs at" on the card', async () => {
    const at = new Date(Math.ceil((h.clock.now().getTime() + 2 * HOUR) / 60_000) * 60_000);
    const from = h.connector.sent.length;
    const asked = await requestVia(h, `delete resource group staging-old at ${at.toISOString().slice(0, 16)}Z`);
    const stamp = `${at.toISOString().slice(0, 10)} ${at.toISOString().slice(11, 16)} UTC`;
    assert.ok(textsSince(from).some((t) => t.includes(`no earlier than ${stamp}`)), JSON.stringify(textsSince(from)));
    await h.teams.click(people.bob, asked.cardId, 'approve');
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'scheduled');
    await eventually('the card says when it runs', () => /Runs at/.test(cardText(h.connector.card(asked.cardId))));
    assert.match(cardText(h.connector.card(asked.cardId)), /APPROVED, SCHEDULED/);
    assert.deepEqual(await h.bot.app.sweepScheduled(), []);
    h.clock.advance(at.getTime() - h.clock.now().getTime());
    assert.deepEqual(await h.bot.app.sweepScheduled(), [asked.requestId]);
    await settled(h);
    await eventually('it ran at the time', () => /SUCCEEDED/.test(cardText(h.connector.card(asked.cardId))));
    assert.ok((await auditOf(h, { requestId: asked.requestId })).some((r) => r.type === 'request.scheduled'));
  });

  it('cancels a scheduled request from its card before it starts; nothing runs at the time', async () => {
    const at = new Date(h.clock.now().getTime() + 2 * HOUR);
    const asked = await requestVia(h, `delete resource group staging-old at ${at.toISOString()}`);
    await h.teams.click(people.bob, asked.cardId, 'approve');
    await settled(h);
    const answer = await h.teams.click(people.alice, asked.cardId, 'cancel');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /CANCELLED/);
    h.clock.advance(3 * HOUR);
    assert.deepEqual(await h.bot.app.sweepScheduled(), []);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'cancelled');
  });

  it('runs break-glass at once, tells the notice channel loudly, and is ratified from an approver\'s card', async () => {
    const asked = await breakGlassVia('break-glass delete resource group staging-old reason: INC-4711 leaked key');
    await settled(h);
    await eventually('it ran without approval', () => /BREAK-GLASS · SUCCEEDED/.test(cardText(h.connector.card(asked.cardId))));
    const notice = h.connector.sent.filter((s) => s.conversationId === NOTICE && s.kind !== 'update');
    assert.ok(notice.some((s) => /BREAK-GLASS: Alice/.test(JSON.stringify(s.activity))), 'the notice channel was told');
    const bobChat = h.connector.createdChats.find((c) => c.aadObjectId === people.bob.aadObjectId.toLowerCase())?.conversationId;
    assert.ok(h.connector.sent.some((s) => s.conversationId === bobChat && /BREAK-GLASS/.test(JSON.stringify(s.activity))), 'an approver was told in a personal chat');
    await eventually('the card offers the review', () => cardActions(h.connector.card(asked.cardId)).some((a) => a.verb === 'ratify'));
    const ratify = await h.teams.click(people.bob, asked.cardId, 'ratify');
    assert.match(cardText(ratify.body.value as Record<string, unknown>), /BREAK-GLASS ratified by Bob Approver/);
    const types = (await auditOf(h, { requestId: asked.requestId })).map((r) => r.type);
    assert.ok(types.includes('breakglass.used') && types.includes('breakglass.ratified'), types.join(', '));
  });

  it('is flagged from an approver\'s card with a comment saying what is wrong with it', async () => {
    const asked = await breakGlassVia('break-glass delete resource group staging-old reason: INC-4711 leaked key');
    await settled(h);
    await eventually('the card offers the review', () => cardActions(h.connector.card(asked.cardId)).some((a) => a.verb === 'flag'));
    // The Flag button opens a box for the comment, as Reject does.
    const flag = JSON.stringify(h.connector.card(asked.cardId));
    assert.match(flag, /"title":"Flag break-glass","style":"destructive","card":\{"type":"AdaptiveCard","body":\[\{"type":"Input\.Text","id":"comment","label":"What is wrong with it\?"/);
    await h.teams.click(people.bob, asked.cardId, 'flag', { comment: 'no incident was open at that time' });
    const [flagged] = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'breakglass.flagged');
    assert.ok(flagged, 'flagged');
    assert.match(JSON.stringify(flagged), /no incident was open at that time/);
  });

  it('escalates an overdue break-glass review', async () => {
    const asked = await breakGlassVia('break-glass delete resource group staging-old reason: INC-4711 leaked key');
    await settled(h);
    h.clock.advance(25 * HOUR);
    assert.deepEqual(await h.bot.app.sweepBreakGlassReviews(), [asked.requestId]);
    await settled(h);
    await eventually('the card says the review is overdue', () => /OVERDUE, escalated/.test(cardText(h.connector.card(asked.cardId))));
    assert.ok((await auditOf(h, { requestId: asked.requestId })).some((r) => r.type === 'breakglass.review_overdue'));
  });

  it('lists a break-glass use waiting for review in an approver\'s pending, with its card to review from, overdue too, until reviewed', async () => {
    const asked = await breakGlassVia('break-glass delete resource group staging-old reason: INC-4711 leaked key');
    await settled(h);
    await eventually('it ran', () => /BREAK-GLASS · SUCCEEDED/.test(cardText(h.connector.card(asked.cardId))));
    const bobPersonal = { id: 'a:personal-bob', conversationType: 'personal' as const };
    const pendingOf = async (who: typeof people.bob) => {
      const from = await h.teams.say(who, 'pending', who === people.bob ? bobPersonal : { id: 'a:personal-alice', conversationType: 'personal' });
      const cards = h.teams.since(from).filter((s) => s.kind !== 'update').map((s) => JSON.stringify(s.activity));
      return { list: cards[0] ?? '', posted: cards.slice(1).join('\n') };
    };
    let bob = await pendingOf(people.bob);
    assert.match(bob.list, new RegExp(`Break-glass uses waiting for your review[\\s\\S]*${asked.requestId}: delete resource group staging-old by Alice Requester, run without approval \\(break-glass\\)`), bob.list);
    assert.match(bob.posted, /Ratify break-glass/, 'its card is posted with the list, to review from');
    // The person who used it does not review it: nothing of the kind in their list.
    assert.doesNotMatch((await pendingOf(people.alice)).list, /waiting for your review/);
    h.clock.advance(25 * HOUR);
    await h.bot.app.sweepBreakGlassReviews();
    await settled(h);
    bob = await pendingOf(people.bob);
    assert.match(bob.list, new RegExp(`${asked.requestId}: [^"]*review overdue since`), 'escalated, still waiting');
    await h.teams.click(people.bob, asked.cardId, 'ratify');
    assert.doesNotMatch((await pendingOf(people.bob)).list, /waiting for your review/);
  });

  it('says when break-glass may be used again in the sender\'s time zone, as Teams sends it, UTC beside it', async () => {
    await h.stop();
    h = await startHarness({ configText: reachConfigText([`breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h, maxUses: { count: 1, per: 24h }, notify: ["${NOTICE}"] }`]) });
    // Teams' clientInfo entity carries the person's zone.
    const inBerlin = async (text: string) => {
      const from = h.connector.sent.length;
      await h.teams.post(h.teams.activity(people.alice, opsChannel, { type: 'message', text, entities: [{ type: 'clientInfo', locale: 'de-DE', timezone: 'Europe/Berlin' }] }));
      await settled(h);
      return textsSince(from).map(shown).join('\n');
    };
    await inBerlin('break-glass delete resource group staging-old reason: INC-4711 leaked key');
    const refused = await inBerlin('break-glass delete resource group staging-old reason: INC-4712 again');
    assert.match(refused, /as often as its policy allows \(breakGlass\.maxUses\): ask for approval instead, or wait until \d{4}-\d{2}-\d{2} \d{2}:\d{2} Europe\/Berlin \(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z\)\. Nothing was run\./, refused);
  });

  it('refuses break-glass where the policy does not allow it, and runs nothing', async () => {
    const from = await h.teams.say(people.alice, 'break-glass tag rg-web owner platform-team reason: urgent');
    assert.ok(textsSince(from).some((t) => /does not allow break-glass/.test(t)), JSON.stringify(textsSince(from)));
    const refused = (await auditOf(h)).filter((r) => r.type === 'request.refused');
    assert.equal(refused.at(-1)?.outcome.reason, 'break-glass-not-allowed');
    // Also when parameters are missing: refused as not allowed, audited.
    const incomplete = await h.teams.say(people.alice, 'break-glass tag reason: urgent');
    assert.ok(textsSince(incomplete).some((t) => /does not allow break-glass/.test(t)), JSON.stringify(textsSince(incomplete)));
    assert.equal((await auditOf(h)).filter((r) => r.type === 'request.refused' && r.outcome.reason === 'break-glass-not-allowed').length, 2);
  });

  it('names a misspelt command under break-glass, with the suggestion the plain path gives, and a read-only one as needing none', async () => {
    const typo = await h.teams.say(people.alice, 'break-glass delet resource group staging-old reason: INC-4711 urgent');
    const [said] = textsSince(typo).map(shown);
    assert.match(said, /^\[SANDBOX\] I don't know the command "delet"\. Did you mean: delete resource group[,?]/);
    assert.match(said, /\? Usage: break-glass <command with all its parameters> reason: <why this cannot wait for approval>\. Nothing was run\.$/);
    const twice = await h.teams.say(people.alice, 'break-glass delete resource group staging-old at 02:00 at 03:00 reason: INC-4711 urgent');
    assert.deepEqual(textsSince(twice).map(shown), ['[SANDBOX] The run time is given twice ("at 02:00" and "at 03:00"): give it once, "at <time>" at the end of the command, before "reason:". Usage: break-glass <command with all its parameters> reason: <why this cannot wait for approval>. Nothing was run.']);
    const before = (await auditOf(h)).length;
    const readOnly = await h.teams.say(people.alice, 'break-glass list groups reason: INC-4711 urgent');
    assert.deepEqual(textsSince(readOnly).map(shown), ['[SANDBOX] "list groups" is read-only: it needs no approval, so no break-glass either; type it without "break-glass". Nothing was run.']);
    // Refused by the use case, as every break-glass refusal, and recorded.
    const refused = (await auditOf(h)).slice(before).filter((r) => r.type === 'request.refused');
    assert.deepEqual(refused.map((r) => [r.outcome.reason, (r.data as { command?: string }).command]), [['break-glass-not-allowed', 'list groups']]);
  });
});
