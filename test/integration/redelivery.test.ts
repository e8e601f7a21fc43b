/**
 * Teams sends a message again, with the same activity id, when the bot took more than about 15 s to
 * answer it. The second sending meets what the first did: one message, one request, one delegation,
 * one revocation, one download link.
 */
import assert from 'node:assert/strict';
import { auditOf } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Conversation, type Person } from '../support/teams';

const BOT_MENTION = { type: 'mention', text: '<at>Countersign</at>', mentioned: { id: 'bot-countersign', name: 'Countersign' } };

function mentionOf(p: Person): Record<string, unknown> {
  return { type: 'mention', text: `<at>${p.name}</at>`, mentioned: { id: p.id, name: p.name } };
}

describe('a typed message Teams sends again', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  it('makes one request, and the second sending is told which', async () => {
    const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: '<at>Countersign</at> delete resource group staging-old' });
    const from = h.connector.sent.length;
    // Sent twice at once (the second while the first's turn still runs), then once more after it.
    const answers = await Promise.all([h.teams.post(activity), h.teams.post(activity)]);
    answers.push(await h.teams.post(activity));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    const requests = await h.bot.deps.store.requests.list({});
    assert.equal(requests.length, 1);
    const id = requests[0].id;
    const texts = h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');
    assert.equal(texts.filter((t) => t.includes(`This message already created request ${id}.`)).length, 2, JSON.stringify(texts));
    assert.equal((await auditOf(h)).filter((r) => r.type === 'request.created').length, 1);
  });

  /** Posts one activity twice at once and once more after; the bot's replies to it, in order. */
  async function sentThrice(activity: Record<string, unknown>): Promise<string[]> {
    const from = h.connector.sent.length;
    const answers = await Promise.all([h.teams.post(activity), h.teams.post(activity)]);
    answers.push(await h.teams.post(activity));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    return h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string');
  }

  /** A message in the operations channel naming the bot, and the person at "@person". */
  const naming = (who: Person, words: string, named?: Person) =>
    h.teams.activity(who, opsChannel, { type: 'message', text: `<at>Countersign</at> ${words.replace('@person', named ? `<at>${named.name}</at>` : '')}`, entities: [BOT_MENTION, ...(named ? [mentionOf(named)] : [])] });

  it('delegate and revoke delegation: one delegation, one revocation, and each second sending is told which', async () => {
    h.connector.members.set(people.carol.id, { id: people.carol.id, name: people.carol.name, aadObjectId: people.carol.aadObjectId, tenantId: people.carol.tenantId, userRole: 'user' });
    const delegated = await sentThrice(naming(people.bob, 'delegate @person for 2d', people.carol));
    const [made] = await h.bot.deps.store.delegations.inForce(h.clock.now().toISOString());
    assert.ok(made, 'a delegation in force');
    assert.equal(delegated.filter((t) => t.includes('Carol NoRole can now approve and reject requests on your behalf')).length, 1, JSON.stringify(delegated));
    assert.equal(delegated.filter((t) => t.includes(`This message already delegated to Carol NoRole, until `) && t.includes(`(delegation ${made.id})`)).length, 2, JSON.stringify(delegated));
    const revoked = await sentThrice(naming(people.bob, 'revoke delegation'));
    assert.equal(revoked.filter((t) => t.includes('Revoked: Carol NoRole can no longer decide on your behalf.')).length, 1, JSON.stringify(revoked));
    assert.equal(revoked.filter((t) => t.includes(`This message already revoked your delegation to Carol NoRole (delegation ${made.id})`)).length, 2, JSON.stringify(revoked));
    const types = (await auditOf(h)).map((r) => r.type).filter((t) => t.startsWith('delegation.'));
    assert.deepEqual(types, ['delegation.created', 'delegation.revoked']);
  });

  it('audit export: one link, and each second sending is told it cannot be shown again', async () => {
    const personal: Conversation = { id: `a:personal-${people.erin.id}`, conversationType: 'personal' };
    const replies = await sentThrice(h.teams.activity(people.erin, personal, { type: 'message', text: 'audit export 2026-01-01 2030-01-01 jsonl' }));
    assert.equal(replies.filter((t) => t.includes('[download it](')).length, 1, JSON.stringify(replies));
    assert.equal(replies.filter((t) => t.includes('This message already got a download link for an audit export (JSONL') && t.includes('cannot be shown again')).length, 2, JSON.stringify(replies));
    assert.equal((await auditOf(h)).filter((r) => r.type === 'audit.export_link_issued').length, 1);
  });

  it('a command that opened a form: the form stands, not replaced as if another command were typed', async () => {
    const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: '<at>Countersign</at> deploy production', entities: [BOT_MENTION] });
    const from = h.connector.sent.length;
    await h.teams.post(activity);
    const form = h.teams.since(from).find((s) => s.kind === 'reply' && JSON.stringify(s.activity).includes('Complete your request: deploy'));
    assert.ok(form, 'the form was posted');
    const again = h.connector.sent.length;
    assert.equal((await h.teams.post(activity)).status, 200);
    const after = h.teams.since(again);
    assert.deepEqual(after.filter((s) => s.kind === 'update').map((s) => s.id), [], 'the form was not closed');
    assert.equal(after.filter((s) => JSON.stringify(s.activity).includes('Complete your request')).length, 0, 'no second form');
    assert.deepEqual(after.map((s) => s.activity.text), ['[SANDBOX] This message already opened a form for its request, above: fill it in there, or type a new command.']);
    // A new message with the same words is another command: it replaces the form, as any would.
    const typed = h.connector.sent.length;
    await h.teams.post(h.teams.activity(people.alice, opsChannel, { type: 'message', text: '<at>Countersign</at> deploy production', entities: [BOT_MENTION] }));
    assert.deepEqual(h.teams.since(typed).filter((s) => s.kind === 'update').map((s) => s.id), [form.id]);
  });
});
