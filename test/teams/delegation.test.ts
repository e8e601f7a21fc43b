/**
 * Delegation for absence at the network boundary: the real bot over HTTP, the fake Bot Connector
 * (which answers member lookups as Teams does, 404 included) and a clock the test moves.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { cardOf, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Person } from '../support/teams';

const MINUTE = 60_000;

/** Teams' mention entity for a person, with or without the Entra object id. */
function mentionOf(p: Person, withObjectId: boolean): Record<string, unknown> {
  return { type: 'mention', text: `<at>${p.name}</at>`, mentioned: { id: p.id, name: p.name, ...(withObjectId ? { aadObjectId: p.aadObjectId } : {}) } };
}

const BOT_MENTION = { type: 'mention', text: '<at>Countersign</at>', mentioned: { id: 'bot-countersign', name: 'Countersign' } };

/** A message in the operations channel naming the bot and a person; returns the bot's replies. */
async function sayNaming(h: Harness, who: Person, words: string, named: Person | undefined, options: { withObjectId?: boolean; localTimezone?: string } = {}): Promise<string> {
  const text = `<at>Countersign</at> ${words.replace('@person', named ? `<at>${named.name}</at>` : '')}`;
  const entities = [BOT_MENTION, ...(named ? [mentionOf(named, options.withObjectId ?? false)] : [])];
  const before = h.connector.sent.length;
  const res = await h.teams.post(h.teams.activity(who, opsChannel, { type: 'message', text, entities, ...(options.localTimezone ? { localTimezone: options.localTimezone } : {}) }));
  assert.equal(res.status, 200);
  return h.teams
    .since(before)
    .map((s) => s.activity.text)
    .filter((t): t is string => typeof t === 'string')
    .join('\n');
}

function twoApprovalsConfig(): string {
  return fs.readFileSync(EXAMPLE_CONFIG, 'utf8').replace(/(- name: delete resource group[\s\S]*?)approvals: 1/, '$1approvals: 2');
}

describe('Teams: delegation for absence (fake Bot Connector, controlled clock)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    // Teams' member records of the people the tests mention (TeamsChannelAccount).
    for (const p of [people.carol, people.alice, people.erin]) h.connector.members.set(p.id, { id: p.id, name: p.name, aadObjectId: p.aadObjectId, tenantId: p.tenantId, userRole: 'user' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('delegates to a person named by @mention (looked up in the conversation), who approves on behalf: the card says so', async () => {
    const said = await sayNaming(h, people.bob, 'delegate @person for 3d', people.carol);
    assert.match(said, /Carol NoRole can now approve and reject requests on your behalf, with your own approver roles, until .* UTC/);
    assert.deepEqual(h.connector.memberLookups, [{ conversationId: opsChannel.id, memberId: people.carol.id }]);
    const { cardId, requestId } = await requestVia(h, 'deploy production api-service reason: release 2.4');
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /Approved by Carol NoRole on behalf of Bob Approver/);
    await settled(h);
    assert.match(cardText(h.connector.card(cardId)), /SUCCEEDED[\s\S]*Approved by Carol NoRole on behalf of Bob Approver/);
    const granted = (await auditOf(h, { requestId, types: ['approval.granted'] }))[0];
    assert.equal((granted.data as { onBehalfOf: { aadObjectId: string } }).onBehalfOf.aadObjectId, people.bob.aadObjectId);
  });

  it("checks the mention's Entra object id against Teams' member record, and echoes the end in the sender's time zone", async () => {
    const said = await sayNaming(h, people.bob, 'delegate @person until 2099-01-01', people.carol, { withObjectId: true, localTimezone: 'Europe/Berlin' });
    // Past delegation.maxDuration: refused, after reading the time in Berlin.
    assert.match(said, /A delegation may last at most 14 days \(delegation.maxDuration\); 2099-01-01 00:00 Europe\/Berlin \(2098-12-31T23:00:00\.000Z\) is later than that: it may end by \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? Europe\/Berlin \(\S+Z\) at the latest\./);
    const ok = await sayNaming(h, people.bob, 'delegate @person for 2h', people.carol, { withObjectId: true, localTimezone: 'Europe/Berlin' });
    assert.match(ok, /until \d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? Europe\/Berlin \(/);
    assert.deepEqual(h.connector.memberLookups.map((l) => l.memberId), [people.carol.id, people.carol.id], 'looked up each time');
  });

  it('never takes the name or object id a mention claims: a member Teams does not know is refused, one whose id differs too', async () => {
    // What a doctored client could send: a made-up person with a reassuring name and a GUID.
    const ghost = { ...people.carol, id: '29:nonexistent', name: 'CISO Security Officer (approved by CAB)', aadObjectId: 'abcdefab-0000-4000-8000-000000000001' };
    const refused = await sayNaming(h, people.bob, 'delegate @person for 3d', ghost, { withObjectId: true });
    assert.match(refused, /Countersign could not look up CISO Security Officer \(approved by CAB\) \(they are not a member of this conversation\); nothing was changed\./);
    // Carol's member record, with another object id in the mention.
    const swapped = await sayNaming(h, people.bob, 'delegate @person for 3d', { ...people.carol, aadObjectId: people.alice.aadObjectId, name: 'Someone Else' }, { withObjectId: true });
    assert.match(swapped, new RegExp(`The mention of Someone Else names the Entra object id ${people.alice.aadObjectId}, but Teams says that member is ${people.carol.aadObjectId}; nothing was changed\\.`));
    assert.deepEqual(await h.bot.deps.store.delegations.inForce(h.clock.now().toISOString()), []);
    assert.deepEqual(await auditOf(h, { types: ['delegation.created'] }), []);
  });

  it('ends the delegation by time: after it, the delegate is refused like anyone without the role', async () => {
    await sayNaming(h, people.bob, 'delegate @person for 30m', people.carol);
    const { cardId } = await requestVia(h, 'deploy production api-service');
    h.clock.advance(31 * MINUTE);
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /You cannot approve request .* it needs the role "platform-approvers"/);
  });

  it('revokes, lists and refuses after revoking', async () => {
    await sayNaming(h, people.bob, 'delegate @person for 1d', people.carol);
    assert.match(await sayNaming(h, people.carol, 'delegations', undefined), /Delegated to you:\n- Carol NoRole on behalf of Bob Approver/);
    assert.match(await sayNaming(h, people.bob, 'revoke delegation', undefined), /Revoked: Carol NoRole can no longer decide on your behalf/);
    const { cardId } = await requestVia(h, 'deploy production api-service');
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /You cannot approve request/);
    assert.deepEqual((await auditOf(h, { types: ['delegation.created', 'delegation.revoked'] })).map((r) => r.type), ['delegation.created', 'delegation.revoked']);
  });

  it('refuses a chain: a delegate cannot pass the delegation on', async () => {
    await sayNaming(h, people.bob, 'delegate @person for 1d', people.carol);
    assert.match(await sayNaming(h, people.carol, 'delegate @person for 1d', people.erin), /You hold no approver role of your own: rights you received by delegation cannot be passed on/);
    const [refused] = await auditOf(h, { types: ['delegation.refused'] });
    assert.equal(refused.outcome.reason, 'delegation-chain');
  });

  it("refuses the delegator's request to their delegate, and the requester's own delegate deciding for them", async () => {
    await sayNaming(h, people.dave, 'delegate @person for 1d', people.carol);
    const { cardId } = await requestVia(h, 'deploy production api-service', people.dave);
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /Dave Lead asked for request .* so you cannot decide it on their behalf/);
  });

  it("counts the delegator's authority once: the delegate cannot add a second approval for them", async () => {
    await h.stop();
    h = await startHarness({ configText: twoApprovalsConfig() });
    h.connector.members.set(people.carol.id, { id: people.carol.id, name: people.carol.name, aadObjectId: people.carol.aadObjectId });
    await sayNaming(h, people.bob, 'delegate @person for 1d', people.carol);
    const { cardId } = await requestVia(h, 'delete resource group staging-old');
    await h.teams.click(people.bob, cardId, 'approve');
    const answer = await h.teams.click(people.carol, cardId, 'approve');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /Bob Approver already approved request .* each person's authority counts once/);
  });

  it('refuses a mention whose ids are past their limits before anything else, and records only a bounded prefix', async () => {
    const text = '<at>Countersign</at> delegate <at>Carol</at> for 1d';
    const huge = { type: 'mention', text: '<at>Carol</at>', mentioned: { id: people.carol.id, name: people.carol.name, aadObjectId: 'c'.repeat(900_000) } };
    const before = h.connector.sent.length;
    const res = await h.teams.post(h.teams.activity(people.bob, opsChannel, { type: 'message', text, entities: [BOT_MENTION, huge] }));
    assert.equal(res.status, 200);
    const said = h.teams.since(before).map((x) => x.activity.text).join('\n');
    assert.match(said, /mention aadObjectId is 900000 characters long \(at most 64 are accepted\)\. Nothing was changed\./);
    assert.deepEqual(await auditOf(h, { types: ['delegation.created'] }), []);
    const [refused] = await auditOf(h, { types: ['request.refused'] });
    assert.equal(refused.outcome.reason, 'input-too-long');
    assert.ok(JSON.stringify(refused).length < 5_000, 'the record does not grow with what was sent');
  });

  it('does not take an Entra object id that is not one from a mention: the member record is asked instead', async () => {
    const text = '<at>Countersign</at> delegate <at>Carol</at> for 1d';
    const forged = { type: 'mention', text: '<at>Carol</at>', mentioned: { id: people.carol.id, name: people.carol.name, aadObjectId: 'admin\u202ex' } };
    const res = await h.teams.post(h.teams.activity(people.bob, opsChannel, { type: 'message', text, entities: [BOT_MENTION, forged] }));
    assert.equal(res.status, 200);
    assert.deepEqual(h.connector.memberLookups, [{ conversationId: opsChannel.id, memberId: people.carol.id }]);
    const [created] = await auditOf(h, { types: ['delegation.created'] });
    assert.equal((created.data as { delegate: { aadObjectId: string } }).delegate.aadObjectId, people.carol.aadObjectId);
  });

  it('says clearly when Teams does not know the person mentioned (member lookup 404), and changes nothing', async () => {
    const said = await sayNaming(h, people.bob, 'delegate @person for 1d', people.mallory);
    assert.match(said, /Countersign could not look up Mallory Outsider \(they are not a member of this conversation\); nothing was changed/);
    const [refused] = await auditOf(h, { types: ['delegation.refused'] });
    assert.equal(refused.outcome.reason, 'delegate-unknown');
    assert.match(await sayNaming(h, people.bob, 'delegations', undefined), /You delegated:\n- none/);
  });

  it('lists the three commands in help', async () => {
    const from = await h.teams.say(people.bob, 'help');
    // Markdown escapes as the card carries them: \< and \[ show as < and [.
    const help = h.teams.since(from).map((s) => cardText(cardOf(s.activity)).replace(/\\([<>[\]])/g, '$1')).join('\n');
    for (const usage of ['delegate @person until <time>', 'delegations: the delegations you gave and received', 'revoke delegation [@person]']) assert.ok(help.includes(usage), `help lacks "${usage}"`);
  });

  it('asks for a person when the message mentions no one', async () => {
    assert.match(await sayNaming(h, people.bob, 'delegate for 1d', undefined), /Name the person who decides for you with @mention: "delegate @person until/);
  });

  it('in a personal chat, where nobody can be mentioned, says to do it in a channel or group chat', async () => {
    const from = await h.teams.say(people.bob, 'delegate for 1d', { id: 'a:personal-bob', conversationType: 'personal' });
    const said = h.teams.since(from).map((s) => s.activity.text).filter((t): t is string => typeof t === 'string').join('\n');
    assert.match(said, /in a channel or group chat they are in \(a personal chat with Countersign has nobody else to mention\)/);
  });
});
