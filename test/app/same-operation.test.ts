/** The same operation asked for twice by one person, in two messages: one request, not two that would both run. */
import assert from 'node:assert/strict';
import { RefusalReason } from '../../src/domain/refusal';
import { SUBSCRIPTION, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, dave } from '../support/people';
import { ask, asked, click, freshFakesEachTest, settle } from './steps';

const RESTART = 'vm restart vm-web-01 reason: stuck after patching';

describe('app: one open request per person and operation', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  /** The refusal of an attempt that must have been refused. */
  function refusalOf(result: Awaited<ReturnType<typeof ask>>): { reason: string; message: string; requestId?: string } {
    assert.ok(!result.ok && 'refusal' in result, `not refused: ${JSON.stringify(result)}`);
    return result.refusal;
  }

  it('refuses a second message asking for what the requester already has waiting for approval, names it, and audits the refusal', async () => {
    const first = await asked(f, alice, RESTART);
    const snapshots = f.azure.snapshotCalls.length;
    const refused = refusalOf(await ask(f, alice, 'vm restart vm-web-01 reason: the first message seems lost'));
    assert.equal(refused.reason, RefusalReason.AlreadyRequested);
    assert.equal(refused.requestId, first.id);
    assert.equal(
      refused.message,
      `You already asked for this: request ${first.id} (vm restart vm-web-01) is waiting for approval, so nothing new was requested and it will not run twice. Type "status ${first.id}" to see it. To change it (its reason, its run time), cancel ${first.id} with the Cancel button on its card, then send the command again.`,
    );
    // Azure was not read for it, only one request exists, and the refusal is in the trail.
    assert.equal(f.azure.snapshotCalls.length, snapshots);
    assert.equal((await f.store.requests.list({})).length, 1);
    assert.equal((await f.audit({ types: ['request.created'] })).length, 1);
    const [audited] = await f.audit({ types: ['request.refused'] });
    assert.deepEqual(audited.actor, alice);
    assert.deepEqual(audited.outcome, { result: 'refused', reason: 'already-requested', detail: refused.message });
    assert.equal(audited.data?.openRequest, first.id);
    assert.equal(audited.data?.openState, 'pending');
    assert.deepEqual(audited.data?.parameters, first.parameters);
  });

  it('makes one request of the same command sent twice at once (a paste sent twice)', async () => {
    const snapshot = f.azure.snapshot.bind(f.azure);
    f.azure.snapshot = async (op) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return snapshot(op);
    };
    const results = await Promise.all([ask(f, alice, RESTART), ask(f, alice, RESTART)]);
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(refusalOf(results.find((r) => !r.ok)!).reason, RefusalReason.AlreadyRequested);
    assert.equal((await f.store.requests.list({})).length, 1);
  });

  it('refuses it in the write when the first was stored after the check (by another instance at the same moment)', async () => {
    const first = await asked(f, alice, RESTART);
    // As if the first had not been committed yet when this one was checked.
    f.store.requests.list = async () => [];
    const refused = refusalOf(await ask(f, alice, RESTART));
    assert.equal(refused.reason, RefusalReason.AlreadyRequested);
    assert.equal(refused.requestId, first.id);
    assert.equal((await f.audit({ types: ['request.created'] })).length, 1);
    const [audited] = await f.audit({ types: ['request.refused'] });
    assert.equal(audited.data?.openRequest, first.id);
  });

  it('lets another person ask for the same operation: theirs is their own request', async () => {
    const first = await asked(f, alice, RESTART);
    const second = await asked(f, dave, RESTART);
    assert.notEqual(second.id, first.id);
    assert.equal((await f.audit({ types: ['request.refused'] })).length, 0);
  });

  it('knows the operation whatever the case of the letters of the names typed: Azure reads VM-Web-01 as vm-web-01', async () => {
    const first = await asked(f, alice, RESTART);
    const refused = refusalOf(await ask(f, alice, 'vm restart VM-Web-01 reason: stuck after patching'));
    assert.equal(refused.reason, RefusalReason.AlreadyRequested);
    assert.equal(refused.requestId, first.id);
    assert.equal((await f.store.requests.list({})).length, 1);
  });

  it('knows the requester whatever the case of the letters of their object id', async () => {
    await asked(f, alice, RESTART);
    const shouted = { ...alice, aadObjectId: alice.aadObjectId.toUpperCase() };
    assert.equal(refusalOf(await ask(f, shouted, RESTART)).reason, RefusalReason.AlreadyRequested);
  });

  it('refuses a deployment asked for again, although each request would name its deployment after itself', async () => {
    const first = await asked(f, alice, 'deploy staging web-frontend reason: release 2.6');
    assert.equal(refusalOf(await ask(f, alice, 'deploy staging web-frontend reason: release 2.6 again')).requestId, first.id);
    assert.equal(f.azure.whatIfCalls.length, 1);
  });

  it('refuses it while the first is approved and scheduled, and says it can still be cancelled', async () => {
    const first = await asked(f, alice, 'vm restart vm-web-01 at 22:00 reason: stuck after patching', 'Europe/Berlin');
    await click(f, bob, first, 'approve');
    assert.equal((await f.request(first.id))?.state, 'scheduled');
    const refused = refusalOf(await ask(f, alice, RESTART));
    assert.match(refused.message, new RegExp(`request ${first.id} \\(vm restart vm-web-01\\) is approved and scheduled to run, .*cancel ${first.id} with the Cancel button`));
  });

  it('refuses it while the first is running, and says to wait for its end', async () => {
    const first = await asked(f, alice, RESTART);
    f.azure.nextExecution({ hold: true });
    await click(f, bob, first, 'approve');
    await f.azure.whenHeld();
    assert.equal((await f.request(first.id))?.state, 'executing');
    const refused = refusalOf(await ask(f, alice, RESTART));
    assert.match(refused.message, /You can ask again once it has ended\.$/);
    f.azure.release();
    await settle(f);
  });

  it('makes a new request once the first has ended (rejected, or past its time to live before the sweep)', async () => {
    const first = await asked(f, alice, RESTART);
    await click(f, bob, first, 'reject', { comment: 'not now' });
    assert.equal((await f.request(first.id))?.state, 'rejected');
    const second = await asked(f, alice, RESTART);
    // Waiting past its time to live: it can no longer be approved, though the sweep has not marked it expired yet.
    f.clock.advance(30 * 60_000 + 1);
    assert.equal((await f.request(second.id))?.state, 'pending');
    const third = await asked(f, alice, RESTART);
    assert.notEqual(third.id, second.id);
  });

  it('asks the store for the requester\'s open requests only', async () => {
    await asked(f, dave, RESTART);
    const list = f.store.requests.list.bind(f.store.requests);
    const queries: unknown[] = [];
    f.store.requests.list = async (query) => {
      queries.push(query);
      return list(query);
    };
    await asked(f, alice, RESTART);
    assert.deepEqual(queries, [{ states: ['pending', 'needs_reapproval', 'approved', 'scheduled', 'executing'], requester: alice.aadObjectId, target: { subscriptionId: SUBSCRIPTION, resourceGroup: 'production-vm', resourceId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/production-vm/providers/Microsoft.Compute/virtualMachines/vm-web-01` } }]);
  });
});
