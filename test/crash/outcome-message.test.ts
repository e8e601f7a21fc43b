/**
 * A bot killed after it stored an execution's outcome and before Teams took "Request … succeeded."
 * (before, the card caught up at the next start and the message never came): the next start sends
 * it, once, and a further restart does not send it again. The same for a rejection's "Request … was
 * rejected by …", which no execution follows, for a drift's "… needs approving again", which
 * ends nothing, and for Azure refusing a cancel ("… Azure did not cancel the deployment: …").
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { cardActions } from '../support/connector';
import { opsChannel, people } from '../support/teams';
import { eventually } from '../support/teams';
import { CrashRig } from './support';

describe('the outcome message of a bot killed before it reached Teams (Countersign in its own process)', function () {
  this.timeout(120000);
  let rig: CrashRig;
  beforeEach(async () => {
    rig = await CrashRig.create();
  });
  afterEach(async () => {
    await rig.close();
  });

  /**
   * Holds the first post that `message` matches at the connector (after `act`), kills the bot while
   * Teams holds it (the post dropped, its sender gone), and checks that the next start sends it once
   * and the start after it not again.
   */
  async function killedAtItsMessage(requestId: string, message: RegExp, act: () => Promise<void>): Promise<void> {
    const told = () => rig.texts().filter((t) => message.test(t));
    let held = false;
    rig.connector.dropPostsOfGoneSenders = true;
    rig.connector.postDelayMs = (activity) => (typeof activity.text === 'string' && message.test(activity.text) && !held ? ((held = true), 5000) : 0);
    await act();
    await eventually('the message at the connector', () => held);
    await rig.kill();
    await sleep(5500); // the held post's time: dropped, its sender gone
    assert.deepEqual(told(), [], 'the killed bot\'s message never reached Teams');

    await rig.start();
    await eventually('the owed message sent', () => told().length === 1);
    await eventually('recorded as sent', () => rig.request(requestId)?.outcomeMessage === undefined);
    await rig.stop();
    await rig.start();
    await sleep(3000);
    assert.equal(told().length, 1, 'sent once');
  }

  it('is sent by the next start, once, and not again by the one after', async () => {
    rig.sandbox.state.putResource('production-vm', { type: 'Microsoft.Compute/virtualMachines', name: 'batch-worker-02', location: 'northeurope' });
    await rig.start();
    const asked = await rig.ask('vm restart batch-worker-02');
    const outcome = new RegExp(`^(\\[SANDBOX\\] )?Request ${asked.requestId} \\([^)]*\\) succeeded\\.`);
    // The message reaches the connector and is held there; the bot is killed before it is answered.
    await killedAtItsMessage(asked.requestId, outcome, async () => {
      await rig.approve(asked.cardId);
      await rig.until(asked.requestId, ['succeeded']);
    });
    assert.ok(rig.connector.sent.every((s) => s.conversationId === opsChannel.id || !outcome.test(String(s.activity.text))), 'where she asked');
  });

  it('a rejection killed at its message: the next start sends "rejected by …", once', async () => {
    await rig.start();
    const asked = await rig.ask('delete resource group staging-old');
    const rejected = new RegExp(`^(\\[SANDBOX\\] )?Request ${asked.requestId} was rejected by Bob Approver: not before the audit closes\\. Nothing was run\\.$`);
    await killedAtItsMessage(asked.requestId, rejected, async () => {
      const answer = await rig.teams!.click(people.bob, asked.cardId, 'reject', { comment: 'not before the audit closes' });
      assert.equal(answer.status, 200);
      await rig.until(asked.requestId, ['rejected']);
    });
  });

  it('a drift killed at its message: the next start sends "needs approving again", once', async () => {
    const { resource } = rig.sandbox.state.putResource('production-vm', { type: 'Microsoft.Compute/virtualMachines', name: 'batch-worker-02', location: 'northeurope' });
    await rig.start();
    const asked = await rig.ask('vm restart batch-worker-02');
    // Someone stops the machine after the restart was asked for: the start moves it to needs_reapproval.
    rig.sandbox.faults.drift(resource.id, { properties: { extended: { instanceView: { powerState: { code: 'PowerState/stopped' } } } } });
    const again = new RegExp(`^(\\[SANDBOX\\] )?Request ${asked.requestId} \\([^)]*\\) was not executed: what it would do changed since it was approved \\(powerState: .*\\)\\. It needs approving again on its card\\.$`);
    await killedAtItsMessage(asked.requestId, again, async () => {
      await rig.approve(asked.cardId);
      await rig.until(asked.requestId, ['needs_reapproval']);
    });
  });

  it('Azure refusing a cancel, killed at its message: the next start sends "did not cancel", once', async () => {
    await rig.start();
    const asked = await rig.ask('deploy staging api-service');
    // A deployment that runs on past the test, and a cancel Azure refuses (403: the right is missing).
    rig.sandbox.faults.slowDeployment({ stepMs: 120_000 });
    await rig.approve(asked.cardId);
    await eventually('the deployment accepted and recorded', () => rig.request(asked.requestId)?.execution?.ref.resumeState, 20000);
    await eventually('the card offers to cancel the running deployment', () => cardActions(rig.card(asked.cardId)).some((a) => a.verb === 'cancel'), 20000);
    rig.sandbox.faults.denyAction('Microsoft.Resources/deployments/cancel/action');
    const refused = new RegExp(`^(\\[SANDBOX\\] )?Request ${asked.requestId}: Azure did not cancel the deployment: `);
    await killedAtItsMessage(asked.requestId, refused, async () => {
      const answer = await rig.teams!.click(people.alice, asked.cardId, 'cancel');
      assert.equal(answer.status, 200);
    });
    assert.equal(rig.request(asked.requestId)?.state, 'executing', 'the deployment runs on, as Azure said');
    assert.deepEqual(
      rig.audit(asked.requestId).filter((r) => r.type === 'execution.cancel_requested').map((r) => [r.outcome.result, r.outcome.reason ?? '']),
      [
        ['ok', ''],
        ['error', 'CancelRefused'],
      ],
      'the cancel asked for, and its refusal, each recorded once',
    );
  });
});
