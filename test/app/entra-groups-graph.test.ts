/** The use cases with GraphDirectory against a fake Graph on loopback, on the test's clock: the cache lifetime as people see it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GraphDirectory } from '../../src/azure';
import { RefusalReason } from '../../src/domain/refusal';
import type { AppOnFakes } from '../support/app-on-fakes';
import { fakeGraphCredential, startFakeGraph, type FakeGraph } from '../support/fake-graph';
import { alice, bob, EXAMPLE_CONFIG } from '../support/people';
import { asked, click, freshFakesEachTest, refusedWith, settle } from './steps';

const PLATFORM_GROUP = '91a70000-0000-4000-8000-000000000002';
const LIFETIME_MS = 5 * 60_000;

describe('app: Entra group membership through a fake Graph, on the test clock', () => {
  let f: AppOnFakes;
  let graph: FakeGraph;
  beforeEach(async () => {
    graph = await startFakeGraph();
    graph.addMember(PLATFORM_GROUP, bob.aadObjectId);
  });
  freshFakesEachTest({ set: (made) => (f = made), get: () => f }, () => {
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP}`);
    const directory = new GraphDirectory({ credential: fakeGraphCredential(), endpoint: graph.url, cacheLifetimeMs: LIFETIME_MS, now: () => f.clock.now().getTime() });
    return { configText: text, directory };
  });
  afterEach(async () => {
    await graph.close();
  });

  it('lets a member removed from the group approve within the cache lifetime (re-check at execution included), and refuses them after it', async () => {
    await click(f, bob, await asked(f, alice, 'delete resource group staging-one'), 'approve');
    await settle(f);
    graph.removeMember(PLATFORM_GROUP, bob.aadObjectId);

    f.clock.advance(LIFETIME_MS - 1000);
    const within = await asked(f, alice, 'delete resource group staging-two');
    assert.equal((await click(f, bob, within, 'approve')).ok, true);
    await settle(f);
    assert.equal((await f.request(within.id)).state, 'succeeded', 'the cached answer still counts at execution');
    assert.equal(graph.calls.length, 1, 'Graph was asked once');

    f.clock.advance(2000);
    const after = await asked(f, alice, 'delete resource group staging-three');
    assert.equal(refusedWith(await click(f, bob, after, 'approve')), RefusalReason.NotAnApprover);
    assert.equal(graph.calls.length, 2);
  });

  it('does not execute when Graph stops answering between the approval and the re-check, once the cached answer expired', async () => {
    const r = await asked(f, alice, 'delete resource group staging-one');
    // Approved with a fresh answer; the executor's re-check runs after the lifetime, with Graph failing.
    const original = f.app.executor.schedule.bind(f.app.executor);
    f.app.executor.schedule = (request) => {
      f.clock.advance(LIFETIME_MS + 1000);
      graph.fail({ status: 503, code: 'serviceNotAvailable' });
      original(request);
    };
    assert.equal((await click(f, bob, r, 'approve')).ok, true);
    await settle(f);
    const stored = await f.request(r.id);
    assert.equal(stored.state, 'failed');
    assert.equal(stored.execution?.error?.code, 'MembershipCheckFailed');
    assert.match(stored.execution?.error?.message ?? '', /Microsoft Graph answered 503 serviceNotAvailable\. Nothing was sent to Azure; ask again\.$/);
    assert.equal(f.azure.executions.length, 0);
  });
});
