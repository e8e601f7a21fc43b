/**
 * Long operations as people see them in Teams: the card follows the deployment as it goes, within
 * Teams' rate limits and through its 429s, and a running deployment can be cancelled from its card.
 */
import assert from 'node:assert/strict';
import { cardActions, cardOf, cardText } from '../support/connector';
import { auditOf, requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { eventually, opsChannel, people } from '../support/teams';

/** Moves the test clock on while a slow operation runs, so throttled progress gets recorded. */
function tickClock(h: Harness): () => void {
  const timer = setInterval(() => h.clock.advance(1100), 100);
  return () => clearInterval(timer);
}

/**
 * A deployment step (an operation: two of them) while which a test clicks and reads the card: the
 * clicks and card updates of a bot over HTTP take a few hundred ms on a loaded machine, and the
 * deployment must not have ended meanwhile.
 */
const RUNNING_STEP_MS = 1200;

async function untilExecuting(h: Harness, cardId: string): Promise<void> {
  await eventually('the card shows EXECUTING', () => /EXECUTING/.test(cardText(h.connector.card(cardId))));
}

describe('live progress and cancelling (bot over HTTP, fake Bot Connector, ARM sandbox)', function () {
  this.timeout(30000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('updates the card as the deployment goes: operations done of total, then the outcome', async () => {
    h.sandbox.faults.slowDeployment({ stepMs: RUNNING_STEP_MS });
    const { cardId, requestId } = await requestVia(h, 'deploy staging api-service');
    const stop = tickClock(h);
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    stop();
    const shown = h.connector.updates(cardId).map((u) => cardText(cardOf(u.activity)));
    assert.ok(shown.some((t) => /EXECUTING[\s\S]*Running: [01] of 2 operations done/.test(t)), shown.join('\n----\n'));
    assert.match(shown.at(-1) ?? '', /SUCCEEDED/);
    const progressed = (await auditOf(h, { requestId })).filter((e) => e.type === 'execution.progressed').map((e) => e.outcome.detail);
    assert.ok(progressed.includes('accepted by Azure Resource Manager'));
    assert.ok(progressed.some((d) => /^Running: [01] of 2 operation\(s\) done$/.test(d ?? '')), progressed.join(', '));
  });

  it('retries Teams\' 429 answers, so every card update and message still arrives', async () => {
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    h.connector.throttleNext = 4;
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    assert.equal(h.connector.throttleNext, 0, 'Teams answered 429 four times');
    assert.match(cardText(h.connector.card(cardId)), /SUCCEEDED/);
    assert.ok(h.connector.texts(opsChannel.id).some((t) => t.includes(`Request ${requestId} (delete resource group) succeeded`)));
  });

  it('sends no more than 7 messages a second into one conversation when many requests finish at once', async () => {
    const cards = [];
    for (const group of ['staging-old', 'staging-api-service', 'staging-web-frontend', 'production-web-frontend', 'production-api-service', 'production-vm']) {
      cards.push(await requestVia(h, `tag ${group} costCenter cc-42`));
    }
    cards.push(await requestVia(h, 'tag vm batch-worker-01 costCenter cc-42'));
    cards.push(await requestVia(h, 'scale plan 3'));
    // When the bot let each send into the channel go, not when the fake Bot Connector got it: on a
    // loaded machine the wire's delay (a few hundred ms, more for one than for the next) brought
    // sends a second apart to the connector 421 ms apart. Every send (card updates, messages,
    // replies) goes through this one limiter.
    const limiter = h.bot.notifier.limiter;
    const acquire = limiter.acquire.bind(limiter);
    const went: number[] = [];
    limiter.acquire = (conversationId, ...rest) => acquire(conversationId, ...rest).then(() => void (conversationId === opsChannel.id && went.push(performance.now())));
    const from = h.connector.sent.length;
    await Promise.all(cards.map((c) => h.teams.click(people.bob, c.cardId, 'approve')));
    await settled(h);
    const proactive = h.connector.sent.slice(from).filter((s) => s.conversationId === opsChannel.id);
    assert.ok(proactive.length >= 16, `card updates and messages: ${proactive.length}`);
    assert.ok(went.length >= proactive.length, `${proactive.length} reached Teams, ${went.length} were let go`);
    // A second apart (less a little: a send is timed when its wait ended, a moment after the limiter
    // let it go). Without the limit all of them go within a few milliseconds.
    for (let i = 7; i < went.length; i++) {
      assert.ok(went[i] - went[i - 7] >= 950, `sends ${i - 7} to ${i} went within ${Math.round(went[i] - went[i - 7])} ms`);
    }
    const span = went.at(-1)! - went[0];
    assert.ok(span >= (Math.ceil(went.length / 7) - 1) * 1000 - 50, `${went.length} sends went within ${Math.round(span)} ms`);
    for (const c of cards) assert.equal((await h.bot.deps.store.requests.get(c.requestId))?.state, 'succeeded');
  });

  it('lets the requester cancel a running deployment from its card; it ends CANCELLED, audited', async () => {
    h.sandbox.faults.slowDeployment({ stepMs: RUNNING_STEP_MS });
    const { cardId, requestId } = await requestVia(h, 'deploy staging api-service');
    await h.teams.click(people.bob, cardId, 'approve');
    await untilExecuting(h, cardId);
    assert.deepEqual(cardActions(h.connector.card(cardId)).map((a) => [a.verb, a.title]), [['cancel', 'Cancel deployment']]);

    const byCarol = await h.teams.click(people.carol, cardId, 'cancel');
    assert.match(cardText(byCarol.body.value as Record<string, unknown>), /Only Alice Requester, who asked for request .*, or someone with the role "platform-approvers" can cancel it/);
    const answer = await h.teams.click(people.alice, cardId, 'cancel');
    assert.match(cardText(answer.body.value as Record<string, unknown>), /Cancellation requested by Alice Requester/);
    await settled(h);

    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'cancelled');
    assert.equal(h.sandbox.state.deployment('staging-api-service', `countersign-${requestId}`)?.provisioningState, 'Canceled');
    const card = cardText(h.connector.card(cardId));
    assert.match(card, /CANCELLED[\s\S]*Cancelled by Alice Requester[\s\S]*Azure stopped the deployment/);
    assert.equal(cardActions(h.connector.card(cardId)).length, 0);
    const events = await auditOf(h, { requestId });
    const refused = events.find((e) => e.type === 'click.refused');
    assert.equal(refused?.outcome.reason, 'not-allowed-to-cancel');
    assert.equal(refused?.actor?.aadObjectId, people.carol.aadObjectId);
    assert.deepEqual(
      events.filter((e) => e.type.startsWith('execution.cancel')).map((e) => [e.type, e.actor?.name]),
      [
        ['execution.cancel_requested', 'Alice Requester'],
        ['execution.cancelled', 'Alice Requester'],
      ],
    );
    assert.ok(h.connector.texts().some((t) => t.includes(`Request ${requestId} (deploy) was cancelled.`)));
  });

  it('lets an approver cancel a running deployment too', async () => {
    h.sandbox.faults.slowDeployment({ stepMs: RUNNING_STEP_MS });
    const { cardId, requestId } = await requestVia(h, 'deploy staging web-frontend');
    await h.teams.click(people.bob, cardId, 'approve');
    await untilExecuting(h, cardId);
    await h.teams.click(people.dave, cardId, 'cancel');
    await settled(h);
    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'cancelled');
    assert.equal(r?.cancellation?.by.name, 'Dave Lead');
  });

  it('follows a deployment whose PUT Azure answered 201 with a body cut short: running, cancellable, then as Azure ended it', async () => {
    h.sandbox.faults.slowDeployment({ stepMs: RUNNING_STEP_MS });
    const { cardId, requestId } = await requestVia(h, 'deploy staging web-frontend');
    const name = `countersign-${requestId}`;
    h.sandbox.faults.truncatedBody({ method: 'PUT', pathContains: `/deployments/${name}` });
    await h.teams.click(people.bob, cardId, 'approve');
    await eventually('the deployment found and followed', async () => (await h.bot.deps.store.requests.get(requestId))?.execution?.ref.pollUrl);
    await untilExecuting(h, cardId);
    assert.equal(h.sandbox.state.deployment('staging-web-frontend', name)?.provisioningState, 'Running');
    assert.deepEqual(cardActions(h.connector.card(cardId)).map((a) => [a.verb, a.title]), [['cancel', 'Cancel deployment']]);
    await settled(h);

    const r = await h.bot.deps.store.requests.get(requestId);
    assert.equal(r?.state, 'succeeded', JSON.stringify(r?.execution));
    assert.match(r?.outcomeDetail ?? '', /Azure's answer to the request could not be read, so this was read back from Azure/);
    assert.match(cardText(h.connector.card(cardId)), /SUCCEEDED/);
    const puts = h.sandbox.requests.filter((q) => q.method === 'PUT' && q.path.endsWith(`/${name}`)).map((q) => q.status);
    assert.deepEqual(puts, [201], 'the deployment was sent once');
    const types = (await auditOf(h, { requestId })).map((e) => e.type);
    assert.ok(!types.includes('execution.failed'), types.join(', '));
  });

  it('offers no cancel on a running operation Azure cannot cancel, and refuses a forged one', async () => {
    h.sandbox.timing.operationMs = 2 * RUNNING_STEP_MS;
    const { cardId, requestId } = await requestVia(h, 'vm restart batch-worker-01');
    await h.teams.click(people.bob, cardId, 'approve');
    await untilExecuting(h, cardId);
    assert.deepEqual(cardActions(h.connector.card(cardId)), []);
    const forged = await h.teams.click(people.alice, cardId, 'cancel', { data: { requestId } });
    assert.match(cardText(forged.body.value as Record<string, unknown>), /runs a resourceAction operation, which Azure cannot cancel once started/);
    await settled(h);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
  });
});
