/**
 * Reaching approvers at the network boundary: the real bot over HTTP, the fake Bot Connector (which
 * starts personal chats, or refuses to as Teams does for someone without the app) and a controlled
 * clock. "delete resource group" lives 1h here: reminders at 30 and 45 minutes, escalation to
 * incident-leads (Frank, and Alice) at 40 minutes, its card also in the approvals channel.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/config/load';
import type { Logger } from '../../src/log/context';
import { startCountersign, type RunningCountersign } from '../../src/composition-root';
import { databaseFile, readSettings } from '../../src/settings';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite';
import { cardActions, cardOf, cardText } from '../support/connector';
import { auditOf, requestVia, settled, type PostedRequest } from '../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { APPROVALS_CHANNEL, reachConfigText } from '../support/reach';
import { eventually, opsChannel, people, type Conversation, type Person } from '../support/teams';

const MINUTE = 60_000;
const approvals: Conversation = { id: APPROVALS_CHANNEL, conversationType: 'channel' };

describe('reaching approvers (bot over HTTP, fake Bot Connector, controlled clock)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ configText: reachConfigText() });
    // Countersign was added to the approvals channel (someone talked to it there).
    await h.teams.say(people.erin, 'help', approvals);
  });
  afterEach(async () => {
    await h.stop();
  });

  /** The personal chat Countersign started with a person, if any. */
  const chatWith = (p: Person) => h.connector.createdChats.find((c) => c.aadObjectId === p.aadObjectId.toLowerCase())?.conversationId;
  /** Request cards (with buttons) posted as new messages in a conversation. */
  const cardsIn = (conversationId: string | undefined) =>
    h.connector.sent.filter((s) => s.conversationId === conversationId && s.kind !== 'update' && cardActions(cardOf(s.activity)).length > 0);
  const personal = (p: Person): Conversation => ({ id: chatWith(p)!, conversationType: 'personal' });
  async function sweepAt(minutes: number, asked: PostedRequest) {
    const r = await h.bot.deps.store.requests.get(asked.requestId);
    h.clock.advance(Date.parse(r!.createdAt) + minutes * MINUTE - h.clock.now().getTime());
    const swept = await h.bot.app.sweepReach();
    await settled(h);
    return swept;
  }

  it('sends each approver the card in a personal chat it starts, where a click counts and the card is kept current', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    const bobChat = chatWith(people.bob);
    assert.ok(bobChat, 'a personal chat with Bob was started');
    assert.equal(h.connector.createdChats.find((c) => c.conversationId === bobChat)?.tenantId, people.bob.tenantId);
    const [bobCard] = cardsIn(bobChat);
    assert.ok(bobCard, 'Bob got the card');
    assert.equal(cardsIn(chatWith(people.dave)).length, 1, 'Dave got the card');
    assert.equal(cardsIn(APPROVALS_CHANNEL).length, 1, 'the approvals channel got the card');

    const answer = await h.teams.click(people.bob, bobCard.id, 'approve', { conversation: personal(people.bob) });
    assert.match(cardText(answer.body.value as Record<string, unknown>), /APPROVED|EXECUTING|SUCCEEDED/);
    await settled(h);
    await eventually('every copy shows the outcome', () =>
      [bobCard.id, asked.cardId, cardsIn(APPROVALS_CHANNEL)[0].id, cardsIn(chatWith(people.dave))[0].id].every((id) => /SUCCEEDED/.test(cardText(h.connector.card(id)))),
    );
    const [notified] = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approvers.notified');
    assert.deepEqual(notified.data, { occasion: 'created', reached: [people.bob.aadObjectId, people.dave.aadObjectId, APPROVALS_CHANNEL] });
  });

  it('posts no second card to the approval channel for a request asked in a thread of it (Teams names a channel\'s messages by their thread)', async () => {
    const thread: Conversation = { id: `${APPROVALS_CHANNEL};messageid=1700000000000`, conversationType: 'channel' };
    const asked = await requestVia(h, 'delete resource group staging-old', people.alice, thread);
    await settled(h);
    assert.deepEqual(cardsIn(APPROVALS_CHANNEL), [], 'the card is in the channel already, in the thread it was asked in');
    const [notified] = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approvers.notified');
    assert.deepEqual(notified.data, { occasion: 'created', reached: [people.bob.aadObjectId, people.dave.aadObjectId] });
  });

  it('uses the personal chat a person talked to Countersign in, starting none', async () => {
    const bobChat: Conversation = { id: 'a:bob-talked-here', conversationType: 'personal' };
    await h.teams.say(people.bob, 'help', bobChat);
    await requestVia(h, 'delete resource group staging-old');
    assert.equal(cardsIn(bobChat.id).length, 1);
    assert.equal(chatWith(people.bob), undefined);
  });

  it('starts a new personal chat when the one a person talked in is gone, rather than calling them unreachable', async () => {
    const bobChat: Conversation = { id: 'a:bob-chat-since-deleted', conversationType: 'personal' };
    await h.teams.say(people.bob, 'help', bobChat);
    h.connector.goneConversations.add(bobChat.id);
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    const fresh = chatWith(people.bob);
    assert.ok(fresh, 'a new chat was started');
    assert.equal(cardsIn(fresh).length, 1);
    const audit = await auditOf(h, { requestId: asked.requestId });
    assert.deepEqual(audit.filter((r) => r.type === 'approver.unreachable'), []);
    // The new chat is the one saved: the next card goes straight there.
    await requestVia(h, 'delete resource group staging-web-frontend');
    await settled(h);
    assert.equal(cardsIn(fresh).length, 2);
    assert.equal(h.connector.createdChats.filter((c) => c.aadObjectId === people.bob.aadObjectId.toLowerCase()).length, 1);
  });

  it('never sends the requester a card of their own request', async () => {
    await requestVia(h, 'delete resource group staging-old', people.dave);
    assert.equal(chatWith(people.dave), undefined);
    assert.equal(chatWith(people.alice), undefined);
    assert.ok(chatWith(people.bob));
  });

  it('reports a person who does not have the app on the request card and in the audit', async () => {
    h.connector.notInstalledFor.set(people.dave.aadObjectId, 403);
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    await eventually('the card says who could not be reached', () =>
      cardText(h.connector.card(asked.cardId)).includes('Could not reach: 55555555-5555-4555-8555-555555555555 (app not installed).'),
    );
    const missed = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approver.unreachable');
    assert.deepEqual(missed.map((r) => [r.data?.who, r.outcome.detail]), [[people.dave.aadObjectId, 'app not installed']]);
    assert.equal(cardsIn(chatWith(people.bob)).length, 1, 'Bob was reached all the same');
  });

  it('says of a person who blocked Countersign\'s chat that they blocked it, not that the app is not installed', async () => {
    const bobChat: Conversation = { id: 'a:bob-blocked-the-bot', conversationType: 'personal' };
    await h.teams.say(people.bob, 'help', bobChat);
    h.connector.blockedConversations.add(bobChat.id);
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    await eventually('the card says who could not be reached, and why', () =>
      cardText(h.connector.card(asked.cardId)).includes("Could not reach: Bob Approver (blocked Countersign's chat in Teams)."),
    );
    const missed = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approver.unreachable');
    assert.deepEqual(missed.map((r) => [r.data?.who, r.outcome.detail]), [[people.bob.aadObjectId, "blocked Countersign's chat in Teams"]]);
    assert.equal(chatWith(people.bob), undefined, 'no new chat is started for someone who blocked the bot');
  });

  it('says of an approval channel Countersign was removed from that it is not in that team, not that an app is not installed', async () => {
    h.connector.removedFrom.add(APPROVALS_CHANNEL);
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    const why = 'Countersign is not in that team or chat (any more): add the app there';
    await eventually('the card says which channel could not be reached, and why', () => cardText(h.connector.card(asked.cardId)).includes(`Could not reach: ${APPROVALS_CHANNEL} (${why}).`));
    const missed = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approver.unreachable');
    assert.deepEqual(missed.map((r) => [r.data?.who, r.outcome.detail]), [[APPROVALS_CHANNEL, why]]);
  });

  it('says of an approval channel whose moderation blocks Countersign that it may not post there', async () => {
    h.connector.blockedConversations.add(APPROVALS_CHANNEL);
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    const why = "Countersign may not post there (the channel's moderation settings)";
    await eventually('the card says which channel could not be reached, and why', () => cardText(h.connector.card(asked.cardId)).includes(`Could not reach: ${APPROVALS_CHANNEL} (${why}).`));
  });

  it('reminds the people who have not decided at the configured points, at most max, and never after a decision', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    const bobChat = chatWith(people.bob)!;
    assert.deepEqual((await sweepAt(29, asked)).reminded, []);
    assert.deepEqual((await sweepAt(30, asked)).reminded, [asked.requestId]);
    const reminders = () => h.connector.texts(bobChat).filter((t) => t.includes('Reminder'));
    assert.equal(reminders().length, 1);
    assert.match(reminders()[0], new RegExp(`Reminder 1: request ${asked.requestId} \\(delete resource group staging-old\\) from Alice Requester is still waiting for a decision\\. It expires in 30 minutes`));
    const reminderCard = cardsIn(bobChat).at(-1)!;
    assert.ok(cardActions(cardOf(reminderCard.activity)).some((a) => a.verb === 'approve'), 'the reminder carries a card to act on');
    await sweepAt(45, asked);
    await sweepAt(55, asked);
    assert.equal(reminders().length, 2, 'max 2');
    const again = await requestVia(h, 'delete resource group staging-web-frontend');
    await h.teams.click(people.bob, again.cardId, 'reject');
    await settled(h);
    const before = h.connector.texts().filter((t) => t.includes(again.requestId)).length;
    await sweepAt(45, again);
    assert.equal(h.connector.texts().filter((t) => t.includes(again.requestId)).length, before, 'no reminder after a decision');
    assert.equal((await auditOf(h, { requestId: again.requestId })).filter((r) => r.type === 'request.reminded').length, 0);
  });

  it('sends a reminder as its text, then its card alone, so Teams answers the card\'s id: the reminder\'s card counts a click, and nobody is said to be unreachable', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    const bobChat = chatWith(people.bob)!;
    assert.deepEqual((await sweepAt(30, asked)).reminded, [asked.requestId]);
    const reminderCard = cardsIn(bobChat).at(-1)!;
    assert.equal(reminderCard.activity.text, undefined, 'the card goes alone');
    assert.ok(h.connector.texts(bobChat).some((t) => t.includes('Reminder 1: request')), 'the reminder text goes before it');
    assert.deepEqual((await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approver.unreachable').map((r) => r.outcome.detail), []);
    const answer = await h.teams.click(people.bob, reminderCard.id, 'approve', { conversation: personal(people.bob) });
    assert.match(cardText(answer.body.value as Record<string, unknown>), /APPROVED|EXECUTING|SUCCEEDED/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'succeeded');
  });

  /** A message from `p` in `conversation` whose clientInfo entity carries `timezone`, as Teams sends it. */
  async function sayWithZone(p: Person, text: string, conversation: Conversation, timezone: string) {
    const res = await h.teams.post(h.teams.activity(p, conversation, { type: 'message', text, entities: [{ type: 'clientInfo', locale: 'en-US', timezone }] }));
    assert.equal(res.status, 200);
  }

  it("names the expiry in each reminded person's own time zone (the last Teams sent), with the UTC instant; UTC for one with none", async () => {
    const bobChat: Conversation = { id: 'a:bob-in-berlin', conversationType: 'personal' };
    await sayWithZone(people.bob, 'help', bobChat, 'Europe/Berlin');
    const asked = await requestVia(h, 'delete resource group staging-old');
    const expiresAt = (await h.bot.deps.store.requests.get(asked.requestId))!.expiresAt;
    await sweepAt(30, asked);
    const bobReminder = h.connector.texts(bobChat.id).find((t) => t.includes('Reminder 1'));
    assert.match(bobReminder ?? '', new RegExp(`It expires in 30 minutes, at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d(:\\d\\d)? Europe/Berlin \\(${expiresAt.replace(/\./g, '\\.')}\\)\\.`));
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', ...(new Date(expiresAt).getUTCSeconds() ? { second: '2-digit' as const } : {}), hourCycle: 'h23' }).format(new Date(expiresAt));
    assert.ok(bobReminder!.includes(` ${berlin} Europe/Berlin`), bobReminder);
    const daveReminder = h.connector.texts(chatWith(people.dave)).find((t) => t.includes('Reminder 1'));
    assert.match(daveReminder ?? '', /It expires in 30 minutes, at \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC\./, 'no zone known for Dave: UTC');
  });

  it('keeps the zone a person last sent from a channel with their personal chat, and ignores a zone no runtime knows', async () => {
    const bobChat: Conversation = { id: 'a:bob-travels', conversationType: 'personal' };
    await sayWithZone(people.bob, 'help', bobChat, 'Europe/Berlin');
    await sayWithZone(people.bob, 'help', opsChannel, 'America/New_York');
    await sayWithZone(people.bob, 'help', opsChannel, 'Mars/Olympus_Mons');
    const stored = (await h.bot.store.conversations.getPersonalReference(people.bob.tenantId, people.bob.aadObjectId)) as { timeZone?: string; conversation?: { id?: string } };
    assert.equal(stored.timeZone, 'America/New_York');
    assert.equal(stored.conversation?.id, bobChat.id, 'still the way to reach Bob');
    const asked = await requestVia(h, 'delete resource group staging-old');
    await sweepAt(30, asked);
    assert.match(h.connector.texts(bobChat.id).find((t) => t.includes('Reminder 1')) ?? '', / America\/New_York \(/);
  });

  it('escalates once: the escalation role is told and its approval counts; the requester in it is still refused', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    assert.equal(chatWith(people.frank), undefined, 'Frank is told only once it is escalated');
    assert.deepEqual((await sweepAt(40, asked)).escalated, [asked.requestId]);
    assert.deepEqual((await sweepAt(41, asked)).escalated, []);
    assert.match(cardText(h.connector.card(asked.cardId)), /Escalated to incident-leads at .*: they may decide it too\./);
    const [frankCard] = cardsIn(chatWith(people.frank));
    assert.ok(frankCard, 'Frank got the card');
    assert.equal(chatWith(people.alice), undefined, 'Alice asked for it: she is not sent it');

    const self = await h.teams.click(people.alice, asked.cardId, 'approve');
    assert.match(cardText(self.body.value as Record<string, unknown>), /You asked for request .* so you cannot approve it/);
    await h.teams.click(people.frank, frankCard.id, 'approve', { conversation: personal(people.frank) });
    await settled(h);
    const done = await h.bot.deps.store.requests.get(asked.requestId);
    assert.equal(done?.state, 'succeeded', 'the role re-check at execution accepts the escalation role');
    const types = (await auditOf(h, { requestId: asked.requestId })).map((r) => r.type);
    assert.equal(types.filter((t) => t === 'request.escalated').length, 1);
  });

  it('waits as long as the connector\'s Retry-After says before starting a personal chat again', async () => {
    h.connector.retryAfterSeconds = 1;
    h.connector.throttleOnly = /^POST \/v3\/conversations$/;
    h.connector.throttleNext = 1;
    await requestVia(h, 'delete resource group staging-old');
    const [throttled] = h.connector.throttledAt;
    const bob = h.connector.createdChats.find((c) => c.aadObjectId === people.bob.aadObjectId);
    assert.ok(throttled && bob, 'the first attempt was throttled, the next one started the chat');
    assert.ok(bob.at - throttled >= 950, `retried after ${bob.at - throttled} ms`);
    assert.equal(cardsIn(bob.conversationId).length, 1);
  });
});

describe('a thread of a channel listed as where approvals go (bot over HTTP)', function () {
  this.timeout(30000);
  const listed = `${APPROVALS_CHANNEL};messageid=1690000000000`;
  let h: Harness;
  before(async () => {
    h = await startHarness({ configText: reachConfigText([`notify: { channels: ["${listed}"] }`]) });
    // Countersign was mentioned in that thread: it knows how to reply there.
    await h.teams.say(people.erin, 'help', { id: listed, conversationType: 'channel' });
  });
  after(() => h.stop());

  it('gets the card for a request asked in another thread of its channel: a listed thread names only itself', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old', people.alice, { id: `${APPROVALS_CHANNEL};messageid=1700000000000`, conversationType: 'channel' });
    await settled(h);
    const posted = h.connector.sent.filter((s) => s.conversationId === listed && s.kind !== 'update' && cardActions(cardOf(s.activity)).length > 0);
    assert.equal(posted.length, 1, 'the listed thread got the card');
    const [notified] = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approvers.notified');
    assert.ok((notified?.data?.reached as string[] | undefined)?.includes(listed), JSON.stringify(notified?.data));
  });
});

describe('an approval channel Countersign was never added to (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ configText: reachConfigText() });
  });
  after(() => h.stop());

  it('is reported on the card and in the audit, like a person who cannot be reached', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    await eventually('the card names the channel', () => cardText(h.connector.card(asked.cardId)).includes(`Could not reach: ${APPROVALS_CHANNEL} (Countersign has not been added there).`));
    const missed = (await auditOf(h, { requestId: asked.requestId })).filter((r) => r.type === 'approver.unreachable');
    assert.deepEqual(missed.map((r) => r.data?.who), [APPROVALS_CHANNEL]);
  });
});

describe('reminders and escalation with two instances on one database (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  let second: RunningCountersign;
  let secondStore: SqliteStore;
  before(async () => {
    h = await startHarness({ configText: reachConfigText() });
    const settings = readSettings({ PORT: '0', COUNTERSIGN_HOST: '127.0.0.1', COUNTERSIGN_DATA_DIR: h.dataDir, COUNTERSIGN_INSTANCES: '2' });
    secondStore = await openSqliteStore({ file: databaseFile(h.dataDir) });
    const quiet = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() })) as pino.Logger & Logger;
    second = await startCountersign({ settings, config: parseConfig(reachConfigText(), EXAMPLE_CONFIG), azure: h.bot.deps.azure, clock: h.clock, log: quiet, store: secondStore });
  });
  after(async () => {
    await second.stop();
    await secondStore.close();
    await h.stop();
  });

  it('sends each reminder and the escalation once when both instances sweep at the same moment', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    h.clock.advance(45 * MINUTE);
    const [a, b] = await Promise.all([h.bot.app.sweepReach(), second.app.sweepReach()]);
    assert.deepEqual([...a.escalated, ...b.escalated], [asked.requestId]);
    assert.deepEqual([...a.reminded, ...b.reminded], [asked.requestId]);
    await settled(h);
    await second.app.tellingIdle();
    await second.notifier.idle();
    const bobChat = h.connector.createdChats.find((c) => c.aadObjectId === people.bob.aadObjectId)!.conversationId;
    assert.equal(h.connector.texts(bobChat).filter((t) => t.includes('Reminder')).length, 1);
    const records = await auditOf(h, { requestId: asked.requestId });
    const types = records.map((r) => r.type);
    assert.equal(types.filter((t) => t === 'request.reminded').length, 1);
    assert.equal(types.filter((t) => t === 'request.escalated').length, 1);
    // Frank is told of the escalation by one instance. (Whether the reminder reaches him too depends
    // on which instance's write came first: only a reminder sent after the escalation counts him
    // among the deciders. Both instances may then start his personal chat; Teams keeps one.)
    const toldOfEscalation = records.filter((r) => r.type === 'approvers.notified' && r.data?.occasion === 'escalated');
    assert.equal(toldOfEscalation.length, 1, 'the escalation is told by one instance');
    assert.ok((toldOfEscalation[0].data?.reached as string[]).includes(people.frank.aadObjectId), 'Frank is told of the escalation');
    const frankChats = new Set(h.connector.createdChats.filter((c) => c.aadObjectId === people.frank.aadObjectId).map((c) => c.conversationId));
    assert.equal(frankChats.size, 1, 'Frank has one personal chat');
    assert.equal(h.connector.sent.filter((s) => s.conversationId === opsChannel.id && s.kind !== 'update' && /escalated/.test(String(s.activity.text))).length, 1, 'Alice is told once');
  });
});
