/**
 * The bot process is killed (SIGKILL) while Azure operations run, and started again on the same data
 * directory: it resumes the same ARM operations, sends none of them twice, and says "unknown" where
 * nobody can know.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyChain } from '../../src/audit/verify/verify';
import { openSqliteStore } from '../../src/store/sqlite';
import { databaseFile } from '../../src/settings';
import { cardText } from '../support/connector';
import { ids } from '../support/sandbox';
import { eventually } from '../support/teams';
import { CrashRig } from './support';

describe('SIGKILL during execution, then a restart (Countersign in its own process)', function () {
  this.timeout(120000);
  let rig: CrashRig;
  beforeEach(async () => {
    rig = await CrashRig.create();
  });
  afterEach(async () => {
    await rig.close();
  });

  async function chainVerifies(): Promise<void> {
    await rig.stop();
    const store = await openSqliteStore({ file: databaseFile(rig.dataDir) });
    try {
      const chain = await verifyChain(store.audit.read());
      assert.equal(chain.ok, true, JSON.stringify(chain));
    } finally {
      await store.close();
    }
  }

  it('resumes every kind of long-running operation it was following, and each is sent to ARM once', async () => {
    const id = ids(rig.sandbox);
    for (const name of ['batch-worker-02', 'batch-worker-03']) {
      rig.sandbox.state.putResource('production-vm', { type: 'Microsoft.Compute/virtualMachines', name, location: 'northeurope' });
    }
    await rig.start();
    const deploy = await rig.ask('deploy staging api-service');
    const others = {
      deleteGroup: await rig.ask('delete resource group staging-old'),
      deleteVm: await rig.ask('delete vm batch-worker-03'),
      restartVm: await rig.ask('vm restart batch-worker-02'),
      scalePool: await rig.ask('scale pool 7'),
    };

    // The deployment first (its what-if is checked again before it starts), slowly.
    rig.sandbox.faults.slowDeployment({ stepMs: 4000 });
    await rig.approve(deploy.cardId);
    await eventually('the deployment accepted and recorded', () => rig.request(deploy.requestId)?.execution?.ref.resumeState, 20000);
    // Then the others, each taking seconds in ARM.
    rig.sandbox.timing.operationMs = 7000;
    for (const o of Object.values(others)) await rig.approve(o.cardId);
    for (const o of Object.values(others)) {
      await eventually(`request ${o.requestId} accepted and recorded`, () => rig.request(o.requestId)?.execution?.ref.pollUrl, 20000);
    }

    await rig.kill();
    assert.equal(rig.sandbox.state.deployment('staging-api-service', `countersign-${deploy.requestId}`)?.provisioningState, 'Running', 'killed mid-deployment');
    assert.ok(rig.sandbox.state.resourceGroup('staging-old'), 'killed mid-delete');
    for (const o of [deploy, ...Object.values(others)]) assert.equal(rig.request(o.requestId)?.state, 'executing');

    await rig.start();
    const all = [deploy, ...Object.values(others)];
    for (const o of all) {
      const done = await rig.until(o.requestId, ['succeeded', 'failed', 'unknown']);
      assert.equal(done.state, 'succeeded', `${done.command}: ${done.outcomeDetail}`);
      assert.equal(done.execution?.resumedAt?.length, 1, 'taken over once');
      const types = rig.audit(o.requestId).map((e) => e.type);
      assert.ok(types.includes('execution.resumed') && types.at(-1) === 'execution.succeeded', types.join(', '));
      await eventually(`the card of ${done.command} shows SUCCEEDED`, () => /SUCCEEDED/.test(cardText(rig.card(o.cardId))));
    }

    assert.deepEqual(rig.writes(`/deployments/countersign-${deploy.requestId}`), ['PUT 201']);
    assert.deepEqual(rig.writes('/resourcegroups/staging-old'), ['DELETE 202']);
    assert.deepEqual(rig.writes('/virtualmachines/batch-worker-03'), ['DELETE 202']);
    assert.deepEqual(rig.writes('/virtualmachines/batch-worker-02/restart'), ['POST 202']);
    assert.deepEqual(rig.writes('/virtualmachinescalesets/batch-pool'), ['PATCH 202']);
    assert.ok(rig.sandbox.state.resources('staging-api-service').some((r) => r.name === 'api-service'), 'deployed');
    assert.equal(rig.sandbox.state.resourceGroup('staging-old'), undefined);
    assert.equal(rig.sandbox.state.resource(id.vm.replace('batch-worker-01', 'batch-worker-03')), undefined);
    assert.equal(rig.sandbox.state.resource(id.scaleSet)?.sku?.capacity, 7);
    await chainVerifies();
  });

  it('killed before ARM\'s answer was saved: finds its deployment by correlation id, and leaves an action unknown rather than send it again', async () => {
    await rig.start();
    const deploy = await rig.ask('deploy staging web-frontend');
    const restart = await rig.ask('vm restart batch-worker-01');
    // ARM carries both out, but its answers are held back until after the bot died: the kill comes
    // after the second approval's round trip and its execution's start, which a loaded machine can
    // stretch to seconds, so the answers are held far longer than that.
    const HELD_MS = 10_000;
    rig.sandbox.faults.stall({ method: 'PUT', pathContains: '/deployments/countersign-', ms: HELD_MS });
    rig.sandbox.faults.stall({ method: 'POST', pathContains: '/batch-worker-01/restart', ms: HELD_MS });
    await rig.approve(deploy.cardId);
    await rig.approve(restart.cardId);
    await eventually('ARM received the deployment', () => rig.sandbox.state.deployment('staging-web-frontend', `countersign-${deploy.requestId}`), 20000);
    await eventually('ARM received the restart', () => [...rig.sandbox.state.operations.values()].length > 0, 20000);
    await sleep(200);
    assert.equal(rig.request(deploy.requestId)?.execution?.ref.pollUrl, undefined, 'no answer was saved');
    assert.equal(rig.request(restart.requestId)?.execution?.ref.pollUrl, undefined, 'no answer was saved');
    await rig.kill();

    await rig.start();
    const deployed = await rig.until(deploy.requestId, ['succeeded', 'failed', 'unknown']);
    assert.equal(deployed.state, 'succeeded', deployed.outcomeDetail);
    const restarted = await rig.until(restart.requestId, ['succeeded', 'failed', 'unknown']);
    assert.equal(restarted.state, 'unknown');
    assert.match(restarted.outcomeDetail ?? '', /ActionOutcomeUnknown: .*it was not sent again: check the resource's activity log for correlation id [0-9a-f-]{36}/);
    const unknown = rig.audit(restart.requestId).at(-1);
    assert.equal(unknown?.type, 'execution.unknown');
    assert.equal(unknown?.outcome.result, 'unknown');
    await eventually('the card says the outcome is unknown', () => /OUTCOME UNKNOWN[\s\S]*Outcome unknown: check the target in Azure/.test(cardText(rig.card(restart.cardId))));
    assert.ok(rig.texts().some((t) => t.includes(`Request ${restart.requestId} (vm) ended in an unknown state`)));

    // The held-back answers arrive (to nobody); ARM saw each write once.
    await eventually('the stalled answers went out', () => rig.writes('/batch-worker-01/restart').length === 1 && rig.writes(`/deployments/countersign-${deploy.requestId}`).length === 1, 2 * HELD_MS);
    await sleep(1500);
    assert.deepEqual(rig.writes('/batch-worker-01/restart'), ['POST 202']);
    assert.deepEqual(rig.writes(`/deployments/countersign-${deploy.requestId}`), ['PUT 201']);
    await chainVerifies();
  });
});
