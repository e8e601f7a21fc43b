/**
 * A conversation of a type Teams does not send (`meeting`, or anything but personal, groupChat and
 * channel) was read as a personal chat: its sender was answered as in one. It is refused at the gate,
 * saying why, and a message or click is recorded; a missing or empty type (the Agents Playground's
 * personal chats) is still a personal chat.
 */
import assert from 'node:assert/strict';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Person } from '../support/teams';

describe('a conversation of a type Countersign does not know', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  /** An activity of a personal chat with `conversationType` as given (deleted when undefined). */
  const inPersonalChat = (conversationType: string | undefined, extra: Record<string, unknown>, person: Person = people.alice) => {
    const activity = h.teams.activity(person, { id: `a:personal-${person.aadObjectId}`, conversationType: 'personal' }, extra);
    const conversation = { ...(activity.conversation as Record<string, unknown>), conversationType, isGroup: false };
    if (conversationType === undefined) delete conversation.conversationType;
    return { ...activity, conversation };
  };
  const refusedAs = (type: string) => new RegExp(`^(?:\\[SANDBOX\\] )?This conversation's type, "${type}", is not one Countersign knows: it answers only in personal chats, group chats and channels \\(personal, groupChat, channel\\)\\. Nothing was done\\.$`);

  it('refuses a message from a "meeting" or an unheard-of type, saying so, and records it', async () => {
    for (const type of ['meeting', 'Channel']) {
      const before = h.connector.sent.length;
      const records = (await auditOf(h)).length;
      const res = await h.teams.post(inPersonalChat(type, { type: 'message', text: 'pending' }));
      assert.equal(res.status, 200);
      const replies = h.teams.since(before);
      assert.equal(replies.length, 1, JSON.stringify(replies));
      assert.match(String(replies[0].activity.text), refusedAs(type));
      const added = (await auditOf(h)).slice(records);
      assert.equal(added.length, 1);
      assert.equal(added[0].type, 'request.refused');
      assert.equal(added[0].outcome?.reason, 'unknown-conversation-type');
      assert.equal(added[0].data?.conversationType, type);
    }
  });

  it('refuses a card click from such a conversation, records it on the request, and decides nothing', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const records = (await auditOf(h)).length;
    const answer = await h.teams.click(people.bob, cardId, 'approve', { conversation: { ...opsChannel, conversationType: 'meeting' as never } });
    assert.equal(answer.status, 200);
    assert.match(String(answer.body.value), refusedAs('meeting'));
    const added = (await auditOf(h)).slice(records);
    assert.deepEqual(added.map((r) => [r.type, r.outcome?.reason, r.request?.id]), [['click.refused', 'unknown-conversation-type', requestId]]);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.approvals.length, 0);
  });

  it('does not welcome itself into such a conversation, nor record the update: it is logged', async () => {
    const before = h.connector.sent.length;
    const records = (await auditOf(h)).length;
    await h.teams.post(inPersonalChat('meeting', { type: 'conversationUpdate', membersAdded: [{ id: 'bot-countersign' }] }));
    assert.deepEqual(h.teams.since(before), []);
    assert.equal((await auditOf(h)).length, records);
    assert.ok(h.logs.some((l) => l.msg === 'activity from a conversation of an unknown type refused' && l.conversationType === 'meeting' && l.activityType === 'conversationUpdate'));
  });

  it('still reads a chat without a type, or with an empty one, as personal (the Agents Playground sends none)', async () => {
    // Dave's open request is listed in his personal chat, not in a channel it was not asked in.
    await requestVia(h, 'delete resource group staging-old', people.dave);
    const answered = async (type: string | undefined) => {
      const before = h.connector.sent.length;
      await h.teams.post(inPersonalChat(type, { type: 'message', text: 'pending' }, people.dave));
      // The list first (then, for an approver, the cards to decide).
      const [list] = h.teams.since(before);
      return JSON.stringify({ text: list?.activity.text, attachments: list?.activity.attachments });
    };
    const inPersonal = await answered('personal');
    assert.match(inPersonal, /delete resource group staging-old by Dave/);
    // (In a channel the same `pending` answers otherwise: this conversation's requests only.)
    const before = h.connector.sent.length;
    await h.teams.say(people.dave, 'pending', { id: '19:elsewhere@thread.tacv2', conversationType: 'channel' });
    assert.notEqual(JSON.stringify({ text: h.teams.since(before)[0].activity.text, attachments: h.teams.since(before)[0].activity.attachments }), inPersonal);
    assert.doesNotMatch(inPersonal, /is not one Countersign knows/);
    for (const type of [undefined, '']) assert.equal(await answered(type), inPersonal, String(type));
    assert.ok(!(await auditOf(h)).some((r) => r.outcome?.reason === 'unknown-conversation-type' && r.data?.conversationType !== 'meeting' && r.data?.conversationType !== 'Channel'));
  });
});
