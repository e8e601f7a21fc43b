/**
 * A click counts only from a card Countersign posted for that request, always; every card posted
 * for a request works and stays current; people are told the truth when a card could not be posted.
 */
import assert from 'node:assert/strict';
import { CARD_COPIES_PER_CONVERSATION } from '../../src/app/card-binding';
import { cardActions, cardOf, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { APPROVALS_CHANNEL, reachConfigText } from '../support/reach';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Conversation } from '../support/teams';

/** The request card the bot posted since `from` (one), with its id and Approve data. */
function postedCard(h: Harness, from: number) {
  // Not the cards approvers are sent in personal chats Countersign started.
  const posted = h.teams.since(from).filter((s) => !h.connector.startedChat(s.conversationId) && cardActions(cardOf(s.activity)).length > 0);
  assert.equal(posted.length, 1, 'expected one request card');
  return { cardId: posted[0].id, data: cardActions(cardOf(posted[0].activity))[0].data };
}

describe('card binding (bot over HTTP, fake Bot Connector, ARM sandbox)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('refuses every click on a request whose card was posted without an id, and tells the requester the request exists', async () => {
    h.connector.omitIdNextSends = 1;
    const from = await h.teams.say(people.alice, 'delete resource group staging-old');
    const { data } = postedCard(h, from);
    const requestId = data.requestId as string;
    const told = h.connector.texts(opsChannel.id).slice(-1)[0];
    assert.match(told, new RegExp(`Request ${requestId} .*was created.*status ${requestId}`));
    assert.doesNotMatch(told, /nothing was changed/i);
    // Bob clicks Approve with the card's data, from any message id: no card of this request was recorded.
    const answer = await h.teams.post(
      h.teams.activity(people.bob, opsChannel, { type: 'invoke', name: 'adaptiveCard/action', replyToId: 'some-other-message', value: { action: { type: 'Action.Execute', verb: 'approve', data } } }),
    );
    assert.match(JSON.stringify(answer.body), new RegExp(`does not belong to request ${requestId}`));
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
    const refused = (await auditOf(h, { types: ['click.refused'] })).at(-1);
    assert.equal(refused?.outcome.reason, 'card-mismatch');
  });

  it('posts a working, bound card for "status <id>", and keeps it current', async () => {
    h.connector.omitIdNextSends = 1;
    const asked = await h.teams.say(people.alice, 'delete resource group staging-old');
    const requestId = postedCard(h, asked).data.requestId as string;
    // Bob asks for the card and approves from it.
    const from = await h.teams.say(people.bob, `status ${requestId}`);
    const status = postedCard(h, from);
    const answer = await h.teams.click(people.bob, status.cardId, 'approve');
    assert.doesNotMatch(JSON.stringify(answer.body), /does not belong/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    // The status card was updated to the outcome, like every other copy.
    assert.match(cardText(h.connector.card(status.cardId)), /SUCCEEDED/);
    assert.ok(h.connector.updates(status.cardId).length > 0);
  });

  it('keeps the card that "status" posted current when the request is decided from another card', async () => {
    const asked = await h.teams.say(people.alice, 'delete resource group staging-old');
    const original = postedCard(h, asked);
    const requestId = original.data.requestId as string;
    const from = await h.teams.say(people.erin, `status ${requestId}`);
    const status = postedCard(h, from);
    await h.teams.click(people.bob, original.cardId, 'reject', { comment: 'not today' });
    await settled(h);
    assert.match(cardText(h.connector.card(status.cardId)), /REJECTED/);
  });

  it('posts at most CARD_COPIES_PER_CONVERSATION copies of a card in one conversation; a further "status" points to them, and "pending" skips it', async () => {
    const asked = await h.teams.say(people.alice, 'delete resource group staging-old');
    const requestId = postedCard(h, asked).data.requestId as string;
    for (let i = 1; i < CARD_COPIES_PER_CONVERSATION; i++) postedCard(h, await h.teams.say(people.alice, `status ${requestId}`));
    const inChannel = async () => (await h.bot.deps.store.cards.getCardMessages(requestId)).filter((m) => m.conversationId === opsChannel.id).length;
    assert.equal(await inChannel(), CARD_COPIES_PER_CONVERSATION);
    for (const text of [`status ${requestId}`, `status ${requestId}`, 'pending']) {
      const from = await h.teams.say(text === 'pending' ? people.bob : people.alice, text);
      const cards = h.teams.since(from).filter((x) => !h.connector.startedChat(x.conversationId) && cardActions(cardOf(x.activity)).some((a) => a.data?.requestId === requestId));
      assert.deepEqual(cards, [], `no other copy for "${text}"`);
      if (text === 'pending') {
        assert.ok(
          h.connector.texts(opsChannel.id).some((t) => t.includes(`The card of ${requestId} is in this conversation as many times as one holds already, so it was not posted again: scroll up to the latest copy`)),
          'pending says why the card is not posted again',
        );
      } else {
        assert.equal(
          h.connector.texts(opsChannel.id).at(-1),
          `[SANDBOX] Request ${requestId}'s card is in this conversation 3 times already, each copy kept current: scroll up to the latest one. No more copies are posted here, so that their updates do not hold up other cards. Type "status ${requestId}" in a personal chat with Countersign for a copy there.`,
        );
      }
    }
    assert.equal(await inChannel(), CARD_COPIES_PER_CONVERSATION, 'so a change updates three copies here, however often status is asked');
  });

  it('tells the requester the request exists when its card could not be posted at all', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    h.connector.failCards = true;
    await h.teams.say(people.alice, 'delete resource group staging-old');
    h.connector.failCards = false;
    const requests = await h.bot.deps.store.requests.list({});
    assert.equal(requests.length, before + 1);
    const created = requests.at(-1)!;
    const told = h.connector.texts(opsChannel.id).slice(-1)[0];
    assert.match(told, new RegExp(`Request ${created.id} .*was created.*could not be posted`));
  });

  it('does not fail the turn (whose answer would be that nothing changed) when even the text saying the request exists cannot be posted', async () => {
    const before = (await h.bot.deps.store.requests.list({})).length;
    h.connector.failCards = true;
    h.connector.failTexts = true;
    try {
      await h.teams.say(people.alice, 'delete resource group staging-web-frontend');
    } finally {
      h.connector.failCards = false;
      h.connector.failTexts = false;
    }
    assert.equal((await h.bot.deps.store.requests.list({})).length, before + 1, 'the request exists');
    assert.ok(!h.logs.some((l) => l.msg === 'turn failed'), 'the turn did not fail');
    assert.ok(h.logs.some((l) => l.msg === 'could not tell the requester about their new request: it exists, its approvers are told'));
  });
});

describe('an approval channel Countersign heard from in a thread, as Teams names every message in a channel (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ configText: reachConfigText() });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('gets the card, as a new thread of the channel, and its clicks count', async () => {
    await h.teams.say(people.erin, 'help', { id: `${APPROVALS_CHANNEL};messageid=1700000000000`, conversationType: 'channel' });
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    assert.doesNotMatch(cardText(h.connector.card(asked.cardId)), /Could not reach/);
    const [card] = h.connector.sent.filter((s) => s.conversationId === APPROVALS_CHANNEL && s.kind !== 'update' && cardActions(cardOf(s.activity)).length > 0);
    assert.ok(card, 'the card was posted to the channel itself, not into the thread Erin wrote in');
    await h.teams.click(people.bob, card.id, 'approve', { conversation: { id: `${APPROVALS_CHANNEL};messageid=${card.id}`, conversationType: 'channel' } });
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'succeeded');
  });
});

describe('card binding in a Teams channel, whose activities name the thread (bot over HTTP)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ configText: reachConfigText() });
    // Countersign was added to the approvals channel: Teams names the channel itself in that event.
    await h.teams.say(people.erin, 'help', { id: APPROVALS_CHANNEL, conversationType: 'channel' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('takes a click on the card posted to an approval channel, which Teams sends as from the thread that card began', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    const [card] = h.connector.sent.filter((s) => s.conversationId === APPROVALS_CHANNEL && s.kind !== 'update' && cardActions(cardOf(s.activity)).length > 0);
    assert.ok(card, 'the approvals channel got the card');
    // Teams: every activity from a channel names its thread, `<channel id>;messageid=<the thread's first post>`.
    const thread: Conversation = { id: `${APPROVALS_CHANNEL};messageid=${card.id}`, conversationType: 'channel' };
    const answer = await h.teams.click(people.bob, card.id, 'approve', { conversation: thread });
    assert.doesNotMatch(JSON.stringify(answer.body), /does not belong/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'succeeded');
  });

  it('posts a request\'s card for "status" typed in a thread of its approval channel or of the channel it was asked in, not of another channel', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    for (const thread of [`${APPROVALS_CHANNEL};messageid=1700000000001`, `${opsChannel.id};messageid=1700000000002`]) {
      const from = await h.teams.say(people.bob, `status ${asked.requestId}`, { id: thread, conversationType: 'channel' });
      const posted = h.teams.since(from).filter((s) => s.conversationId === thread && cardActions(cardOf(s.activity)).length > 0);
      assert.equal(posted.length, 1, `the card is posted in ${thread}: ${JSON.stringify(h.teams.since(from).map((s) => s.activity.text))}`);
    }
    const elsewhere = '19:random@thread.tacv2;messageid=1700000000003';
    const from = await h.teams.say(people.bob, `status ${asked.requestId}`, { id: elsewhere, conversationType: 'channel' });
    assert.match(h.teams.since(from).map((s) => String(s.activity.text)).join('\n'), /was not asked in this conversation/);
  });

  it('counts the copies of a card in every thread of a channel as that channel\'s: "status" in yet another thread posts no fourth', async () => {
    const thread = (n: number): Conversation => ({ id: `${opsChannel.id};messageid=170000000000${n}`, conversationType: 'channel' });
    const asked = await requestVia(h, 'delete resource group staging-old', people.alice, thread(0));
    for (let n = 1; n < CARD_COPIES_PER_CONVERSATION; n++) {
      const from = await h.teams.say(people.alice, `status ${asked.requestId}`, thread(n));
      assert.equal(h.teams.since(from).filter((s) => cardActions(cardOf(s.activity)).length > 0).length, 1, `a copy in thread ${n}`);
    }
    const from = await h.teams.say(people.alice, `status ${asked.requestId}`, thread(9));
    assert.deepEqual(h.teams.since(from).filter((s) => cardActions(cardOf(s.activity)).length > 0), []);
    // The copies are in the other threads, not above this message: it says so rather than "scroll up".
    const told = String(h.teams.since(from).at(-1)?.activity.text);
    assert.match(told, new RegExp(`card is in this channel ${CARD_COPIES_PER_CONVERSATION} times already, all in other threads than this one, each copy kept current: open the thread of the latest one\\.`));
    assert.doesNotMatch(told, /scroll up/);
    // In a thread holding one of them, that one is counted.
    const inOne = await h.teams.say(people.alice, `status ${asked.requestId}`, thread(1));
    assert.match(String(h.teams.since(inOne).at(-1)?.activity.text), /in this channel 3 times already, 1 of them in this thread,/);
    const listed = await h.teams.say(people.bob, 'pending', thread(8));
    assert.match(h.teams.since(listed).map((x) => String(x.activity.text)).join('\n'), new RegExp(`The card of ${asked.requestId} is in this channel as many times as one holds already, in other threads than this one too, so it was not posted again: open the thread of the latest copy`));
  });

  it('still refuses that card clicked from another channel, or a thread of it naming another message', async () => {
    const asked = await requestVia(h, 'delete resource group staging-old');
    await settled(h);
    const [card] = h.connector.sent.filter((s) => s.conversationId === APPROVALS_CHANNEL && s.kind !== 'update' && cardActions(cardOf(s.activity)).length > 0);
    const elsewhere: Conversation = { id: `19:other@thread.tacv2;messageid=${card.id}`, conversationType: 'channel' };
    assert.match(JSON.stringify((await h.teams.click(people.bob, card.id, 'approve', { conversation: elsewhere })).body), /does not belong/);
    const data = cardActions(h.connector.card(card.id))[0].data;
    const otherMessage = await h.teams.post(
      h.teams.activity(people.bob, { id: `${APPROVALS_CHANNEL};messageid=${card.id}`, conversationType: 'channel' }, { type: 'invoke', name: 'adaptiveCard/action', replyToId: `${card.id}0`, value: { action: { type: 'Action.Execute', verb: 'approve', data } } }),
    );
    assert.match(JSON.stringify(otherMessage.body), /does not belong/);
    // A thread's id on an activity that says it is not from a channel (Teams never sends one): named exactly.
    for (const conversationType of ['personal', 'groupChat'] as const) {
      const notChannel: Conversation = { id: `${APPROVALS_CHANNEL};messageid=${card.id}`, conversationType };
      assert.match(JSON.stringify((await h.teams.click(people.bob, card.id, 'approve', { conversation: notChannel })).body), /does not belong/, conversationType);
    }
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(asked.requestId))?.state, 'pending');
    assert.deepEqual((await auditOf(h, { types: ['click.refused'] })).map((r) => r.outcome.reason), ['card-mismatch', 'card-mismatch', 'card-mismatch', 'card-mismatch']);
  });
});
