/**
 * A message edited or deleted after Countersign read it (Teams' messageUpdate and messageDelete
 * activities, naming the message's id). The request it made keeps what the message said when it
 * arrived; the person is told so, and how to change or withdraw it, instead of hearing nothing.
 */
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/harness';
import { auditOf } from '../support/flows';
import { opsChannel, people, shown } from '../support/teams';

const BOT_MENTION = { type: 'mention', text: '<at>Countersign</at>', mentioned: { id: 'bot-countersign', name: 'Countersign' } };

describe('a message edited or deleted after it was read', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  /** Alice's message in the operations channel, and the same message changed later (same id). */
  function messageAndChange(words: string, change: 'editMessage' | 'softDeleteMessage' | 'undeleteMessage', edited?: string) {
    const message = h.teams.activity(people.alice, opsChannel, { type: 'message', text: `<at>Countersign</at> ${words}`, entities: [BOT_MENTION] });
    const type = change === 'softDeleteMessage' ? 'messageDelete' : 'messageUpdate';
    const changed = {
      ...message,
      type,
      ...(edited === undefined ? { text: undefined } : { text: `<at>Countersign</at> ${edited}` }),
      channelData: { ...(message.channelData as object), eventType: change },
    };
    return { message, changed };
  }

  async function repliesTo(activity: Record<string, unknown>): Promise<string[]> {
    const from = h.connector.sent.length;
    const res = await h.teams.post(activity);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // The replies in the channel (the approvers' personal cards of a new request are sent in the background).
    return h.teams.since(from).filter((s) => s.conversationId === opsChannel.id && s.kind === 'reply').map((s) => shown(String(s.activity.text ?? '')));
  }

  it('says an edit does not change the request the message made, and how to ask for something else', async () => {
    const { message, changed } = messageAndChange('delete resource group staging-old reason: cleanup after the migration', 'editMessage', 'delete resource group staging-new reason: cleanup after the migration');
    await repliesTo(message);
    const [request] = (await h.bot.deps.store.requests.list({})).filter((r) => r.parameters.name === 'staging-old');
    assert.ok(request, 'the request was made');
    const replies = await repliesTo(changed);
    assert.equal(replies.length, 1, JSON.stringify(replies));
    assert.match(replies[0], new RegExp(`You edited the message that asked for request ${request.id} \\(delete resource group staging-old\\)\\. A request does not change with its message: ${request.id} is waiting for approval, as first asked\\.`));
    assert.match(replies[0], new RegExp(`cancel ${request.id} with the Cancel button on its card`));
    const after = await h.bot.deps.store.requests.get(request.id);
    assert.equal(after?.parameters.name, 'staging-old');
    // Compliance reading the trail sees that the requester changed the message after asking.
    const [changed_] = await auditOf(h, { requestId: request.id, types: ['request.message_changed'] });
    assert.ok(changed_, 'the edit is in the audit trail');
    assert.equal(changed_.actor?.aadObjectId, people.alice.aadObjectId);
    assert.equal(changed_.source?.conversationId, opsChannel.id);
    assert.deepEqual(changed_.data, { change: 'edited', state: 'pending' });
    assert.equal(changed_.outcome.detail, `The requester edited the message that asked for ${request.id} after asking; the request keeps what the message first said.`);
    assert.equal((await h.bot.deps.store.requests.list({})).filter((r) => r.parameters.name === 'staging-new').length, 0, 'the edit made no request');
  });

  it('says a deleted message does not withdraw its request, and how to withdraw it', async () => {
    const { message, changed } = messageAndChange('tag staging-old owner platform reason: the owner changed last week', 'softDeleteMessage');
    await repliesTo(message);
    const [request] = (await h.bot.deps.store.requests.list({})).filter((r) => r.command === 'tag');
    assert.ok(request);
    const replies = await repliesTo(changed);
    assert.equal(replies.length, 1, JSON.stringify(replies));
    assert.match(replies[0], new RegExp(`You deleted the message that asked for request ${request.id} \\(tag staging-old owner platform\\)\\. Deleting it does not withdraw the request: ${request.id} is waiting for approval\\. To withdraw it, use the Cancel button on its card`));
    assert.equal((await h.bot.deps.store.requests.get(request.id))?.state, 'pending');
    const recorded = await auditOf(h, { requestId: request.id, types: ['request.message_changed'] });
    assert.deepEqual(recorded.map((x) => [x.actor?.aadObjectId, x.data, x.outcome.detail]), [[people.alice.aadObjectId, { change: 'deleted', state: 'pending' }, `The requester deleted the message that asked for ${request.id} after asking; the request is not withdrawn by it.`]]);
  });

  it('says an edit of a message that made no request was not read, and says nothing of such a message deleted or undeleted', async () => {
    const typo = messageAndChange('deplyo production api-service', 'editMessage', 'deploy production api-service');
    await repliesTo(typo.message);
    const before = (await h.bot.deps.store.requests.list({})).length;
    const recorded = (await auditOf(h, { types: ['request.message_changed'] })).length;
    const replies = await repliesTo(typo.changed);
    assert.equal(replies.length, 1, JSON.stringify(replies));
    assert.match(replies[0], /your edit was not read, and nothing was changed\. Send the corrected command as a new message\./);
    assert.equal((await h.bot.deps.store.requests.list({})).length, before);
    // An edit in the channel that does not name Countersign was not meant for it: no answer.
    const chatter = messageAndChange('help', 'editMessage', 'see you at the standup');
    assert.deepEqual(await repliesTo({ ...chatter.changed, text: 'see you at the standup', entities: [] }), []);
    assert.deepEqual(await repliesTo(messageAndChange('help', 'softDeleteMessage').changed), []);
    assert.deepEqual(await repliesTo(messageAndChange('help', 'undeleteMessage', 'help').changed), []);
    assert.equal((await auditOf(h, { types: ['request.message_changed'] })).length, recorded, 'a change of a message that made no request is no request\'s');
  });
});
