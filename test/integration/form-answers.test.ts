/**
 * Answers to a request's form and confirmation cards (Teams messages carrying a `value`): one answer
 * makes at most one request, only from the card waiting for that person's answer, and a click never
 * changes a message that is not that person's own open form.
 */
import assert from 'node:assert/strict';
import { cardActions, cardOf, cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people, type Conversation } from '../support/teams';

const alicePersonal: Conversation = { id: 'a:personal-alice', conversationType: 'personal' };

describe('answers to form and confirmation cards (bot over HTTP)', function () {
  this.timeout(60_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  function lastCardId(from: number): string {
    return h.teams.since(from).filter((s) => s.kind !== 'update' && !h.connector.startedChat(s.conversationId) && cardOf(s.activity)).at(-1)!.id;
  }
  const answer = (who: typeof people.alice, where: Conversation, replyToId: string, value: Record<string, unknown>) =>
    h.teams.post(h.teams.activity(who, where, { type: 'message', text: '', replyToId, value }));

  /** Alice's deploy, through its form, up to the confirmation: that card's id. */
  async function deployConfirmation(where: Conversation): Promise<string> {
    await h.teams.say(people.alice, 'deploy production', where);
    const from = await h.teams.say(people.alice, '', where, { countersign: 'form', command: 'deploy', 'param.environment': 'staging', 'param.service': 'api-service', reason: 'canary' });
    return lastCardId(from);
  }

  it('makes one request of one confirmation answered three times at once, and says so to the others', async () => {
    const confirm = await deployConfirmation(alicePersonal);
    const from = h.connector.sent.length;
    await Promise.all([1, 2, 3].map(() => answer(people.alice, alicePersonal, confirm, { countersign: 'confirm', command: 'deploy' })));
    const requests = await h.bot.deps.store.requests.list({});
    assert.equal(requests.length, 1, requests.map((r) => r.id).join(', '));
    const id = requests[0].id;
    const said = h.teams.since(from).map((s) => String(s.activity.text ?? ''));
    assert.equal(said.filter((t) => t.includes(`This confirmation already created request ${id}.`)).length, 2, said.join(' | '));
    assert.match(cardText(h.connector.card(confirm)), new RegExp(`Requested: ${id}`));
  });

  it('does not take an old copy of one confirmation for the form now open: nothing is made, neither card changes', async () => {
    const deploy = await deployConfirmation(alicePersonal);
    await h.teams.say(people.alice, 'delete resource group', alicePersonal);
    let from = await h.teams.say(people.alice, '', alicePersonal, { countersign: 'form', command: 'delete resource group', 'param.name': 'staging-old', reason: 'cleanup' });
    const remove = lastCardId(from);
    const removeCard = JSON.stringify(h.connector.card(remove));
    from = h.connector.sent.length;
    await answer(people.alice, alicePersonal, deploy, { countersign: 'confirm', command: 'deploy' });
    assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'no request was made');
    assert.equal(JSON.stringify(h.connector.card(remove)), removeCard, 'the open confirmation is as it was');
    assert.match(String(h.teams.since(from).at(-1)?.activity.text), /That card is not the form waiting for your answer \(an old copy, or someone else's\): nothing was requested/);
    assert.equal((await formRefusals()).length, 1, 'the old copy answered is recorded');
    // Her open one still works.
    await answer(people.alice, alicePersonal, remove, { countersign: 'confirm', command: 'delete resource group' });
    assert.deepEqual((await h.bot.deps.store.requests.list({})).map((r) => r.command), ['delete resource group']);
  });

  it("does not let a click on someone else's confirmation in a channel make the clicker's request or change that card", async () => {
    await h.teams.say(people.alice, 'create resource group', opsChannel);
    let from = await h.teams.say(people.alice, '', opsChannel, { countersign: 'form', 'param.name': 'rg-alice', 'param.location': 'westeurope', 'param.owner': 'team', reason: 'alice needs it' });
    const alices = lastCardId(from);
    const alicesCard = JSON.stringify(h.connector.card(alices));
    await h.teams.say(people.dave, 'delete resource group', opsChannel);
    from = await h.teams.say(people.dave, '', opsChannel, { countersign: 'form', 'param.name': 'staging-old', reason: 'dave cleanup' });
    await answer(people.dave, opsChannel, alices, { countersign: 'confirm', command: 'create resource group' });
    assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'nothing was made');
    assert.equal(JSON.stringify(h.connector.card(alices)), alicesCard, "Alice's card is as it was");
    // The attempt is in the audit trail: who answered whose card, where, and what it named.
    const refused = await formRefusals();
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.equal(refused[0].actor?.aadObjectId, people.dave.aadObjectId);
    assert.equal(refused[0].source?.conversationId, opsChannel.id);
    assert.match(String(refused[0].outcome.detail), /That card is not the form waiting for your answer \(an old copy, or someone else's\): nothing was requested/);
    assert.deepEqual(refused[0].data, { stage: 'form', answer: 'confirm', command: 'create resource group', answeredMessage: alices, formOpen: true });
  });

  it("records an answer to someone else's form by a person who has none open, and not a typed command that names nothing", async () => {
    await h.teams.say(people.alice, 'create resource group', opsChannel);
    const from = await h.teams.say(people.alice, '', opsChannel, { countersign: 'form', 'param.name': 'rg-alice', 'param.location': 'westeurope', 'param.owner': 'team', reason: 'alice needs it' });
    const alices = lastCardId(from);
    await h.teams.say(people.dave, 'frobnicate the thing', opsChannel);
    const before = h.connector.sent.length;
    await answer(people.dave, opsChannel, alices, { countersign: 'confirm-cancel', command: 'no such command' });
    assert.match(String(h.teams.since(before).at(-1)?.activity.text), /That form is no longer active \(it was finished, cancelled or replaced\), or it is not yours/);
    const refused = [];
    for await (const r of h.bot.deps.store.audit.read({ types: ['request.refused'] })) refused.push(r);
    // Dave's typo is answered and not recorded (no refusal of anything); his answer to Alice's card is.
    assert.deepEqual(refused.map((x) => [x.actor?.aadObjectId, x.outcome.reason, x.data]), [[people.dave.aadObjectId, 'form-mismatch', { stage: 'form', answer: 'confirm-cancel', answeredMessage: alices, formOpen: false }]]);
  });

  async function formRefusals() {
    const out = [];
    for await (const r of h.bot.deps.store.audit.read({ types: ['request.refused'] })) if (r.data?.stage === 'form' && r.outcome.reason === 'form-mismatch') out.push(r);
    return out;
  }

  it('never changes a message a form answer merely names, such as an approval card', async () => {
    let from = await h.teams.say(people.dave, 'delete resource group staging-old reason: cleanup', opsChannel);
    const approval = lastCardId(from);
    const before = JSON.stringify(h.connector.card(approval));
    from = await h.teams.say(people.alice, 'deploy production', opsChannel);
    await answer(people.alice, opsChannel, approval, { countersign: 'form-cancel', command: 'deploy' });
    await answer(people.alice, opsChannel, approval, { countersign: 'bogus' });
    assert.equal(JSON.stringify(h.connector.card(approval)), before, 'the approval card is untouched');
    assert.ok(cardActions(h.connector.card(approval)).some((a) => a.verb === 'approve'), 'its buttons are there');
  });
});
