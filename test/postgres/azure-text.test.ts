/**
 * Text Azure answers that PostgreSQL's jsonb cannot hold: someone who may tag a resource group puts
 * U+0000 or half of a surrogate pair in a tag. A request on that group is kept with the group as it
 * was read, on PostgreSQL as on SQLite, and the same tags read again before execution are no drift.
 */
import assert from 'node:assert/strict';
import { Countersign } from '../../src/app/countersign';
import type { AppDeps } from '../../src/app/context';
import { loadConfig } from '../../src/config/load';
import type { ArmSandbox } from '../../src/sandbox';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { ask, click } from '../app/steps';
import { RecordingLog, RecordingNotifier, sequentialRequestIds, TestClock } from '../support/app-fakes';
import { alice, bob, EXAMPLE_CONFIG, opsChannel } from '../support/people';
import { schemaPerTest } from '../support/postgres';
import { gatewayFor, startTestSandbox } from '../support/sandbox';
import { eventually } from '../support/teams';

describe('PostgreSQL: a target whose tags hold U+0000 or a lone surrogate', function () {
  this.timeout(30_000);
  const database = schemaPerTest();
  let sandbox: ArmSandbox;
  let store: PostgresStore | undefined;
  before(async () => {
    sandbox = await startTestSandbox();
  });
  after(() => sandbox.close());
  afterEach(async () => {
    await store?.close();
    sandbox.reset();
  });

  it('is asked for, approved and run, its tags shown as text', async () => {
    sandbox.faults.drift(`/subscriptions/${sandbox.subscriptionId}/resourceGroups/staging-old`, { tags: { owner: 'a\u0000b', note: 'half \uD800 a pair', 'x\u0000y': 'key' } });
    store = await openPostgresStore({ connection: { ...database.db().connection, schema: database.schema() } });
    const notifier = new RecordingNotifier();
    const deps: AppDeps = { store, azure: gatewayFor(sandbox), notifier, config: loadConfig(EXAMPLE_CONFIG), clock: new TestClock(), ids: sequentialRequestIds('CS-TAG'), log: new RecordingLog(), subscriptionId: sandbox.subscriptionId };
    const app = new Countersign(deps, { owner: 'a' });
    const asked = await ask({ app }, alice, 'delete resource group staging-old');
    assert.ok(asked.ok, JSON.stringify(asked));
    const r = asked.request;
    assert.equal(r.baseline?.facts['tags.owner'], 'a\\u0000b');
    assert.equal(r.baseline?.facts['tags.note'], 'half \uFFFD a pair');
    assert.equal(r.baseline?.facts['tags.x\\u0000y'], 'key');
    await app.cardPosted(r.id, { conversationId: opsChannel.id, activityId: `card-${r.id}` });
    const approved = await click({ app }, bob, r, 'approve');
    assert.ok(approved.ok, JSON.stringify(approved));
    await eventually('the deletion to end', async () => ['succeeded', 'failed', 'needs_reapproval'].includes((await store!.requests.get(r.id))?.state ?? ''));
    await app.executor.idle();
    assert.equal((await store.requests.get(r.id))?.state, 'succeeded', 'no drift: the tags read again are the ones approved');
  });
});
