/** What people may ask about: help, their pending list, a request's status, read-only queries, and the tenant gate. */
import assert from 'node:assert/strict';
import { PENDING_SHOWN } from '../../src/app/queries';
import { RefusalReason } from '../../src/domain/refusal';
import { appOnFakes, type AppOnFakes } from '../support/app-on-fakes';
import { alice, bob, carol, dave, erin, mallory, sourceIn } from '../support/people';
import { asked, click, settle } from './steps';

describe('app: queries', () => {
  let f: AppOnFakes;
  beforeEach(() => {
    f = appOnFakes();
  });
  afterEach(async () => {
    await settle(f);
  });

  it('shows in help every command with its approval rule, and which ones this person may ask for', async () => {
    const forAlice = await f.app.help(alice);
    const forCarol = await f.app.help(carol);
    const line = (entries: typeof forAlice, usage: string) => entries.find((e) => e.usage === usage);
    assert.deepEqual(line(forAlice, 'delete resource group <name>'), {
      usage: 'delete resource group <name>',
      description: 'Delete a resource group and everything in it',
      approval: 'needs 1 approval from platform-approvers within 1 hour',
      allowed: true,
    });
    assert.equal(line(forCarol, 'delete resource group <name>')?.allowed, false);
    assert.equal(line(forCarol, 'resources <group>')?.approval, 'read-only, no approval');
    assert.equal(line(forCarol, 'resources <group>')?.allowed, true);
    assert.equal(forAlice.length, f.config.catalog.commands.length);
  });

  it("lists what an approver can decide apart from their own requests, and leaves out what they approved or what is past its time", async () => {
    const mine = await asked(f, alice, 'delete resource group staging-old');
    const davesOwn = await asked(f, dave, 'delete resource group staging-older');
    const forBob = await f.app.pending(bob);
    assert.deepEqual(forBob.toDecide.map((r) => r.id), [mine.id, davesOwn.id]);
    assert.deepEqual(forBob.mine, []);
    const forDave = await f.app.pending(dave);
    assert.deepEqual(forDave.toDecide.map((r) => r.id), [mine.id]);
    assert.deepEqual(forDave.mine.map((r) => r.id), [davesOwn.id]);
    const forAlice = await f.app.pending(alice);
    assert.deepEqual(forAlice.toDecide, []);
    assert.deepEqual(forAlice.mine.map((r) => r.id), [mine.id]);
    assert.deepEqual((await f.app.pending(carol)).toDecide, []);
    f.clock.advance(3600_000);
    assert.deepEqual((await f.app.pending(bob)).toDecide, []);
  });

  it('pages through a long queue: the oldest it can show, and how many there are in all', async () => {
    const first = await asked(f, alice, 'delete resource group staging-old');
    const davesOwn = await asked(f, dave, 'delete resource group staging-older');
    // 1,200 more of Alice's, each a second younger: more than two of the pages pending reads at a time.
    for (let i = 0; i < 1200; i++) {
      const createdAt = new Date(Date.parse(first.createdAt) + (i + 1) * 1000).toISOString();
      await f.store.requests.insert({ ...first, id: `${first.id}-${i}`, createdAt }, []);
    }
    const forBob = await f.app.pending(bob);
    assert.equal(forBob.toDecideCount, 1202);
    assert.equal(forBob.toDecide.length, PENDING_SHOWN);
    assert.deepEqual(forBob.toDecide.slice(0, 3).map((r) => r.id), [first.id, davesOwn.id, `${first.id}-0`]);
    const forAlice = await f.app.pending(alice);
    assert.equal(forAlice.mineCount, 1201);
    assert.equal(forAlice.mine.length, PENDING_SHOWN);
    const forDave = await f.app.pending(dave);
    assert.equal(forDave.toDecideCount, 1201, "Alice's, not his own");
    assert.deepEqual([forDave.mineCount, forDave.mine.map((r) => r.id)], [1, [davesOwn.id]]);
  });

  it('shows a request to its requester, its approvers and auditors, and to nobody else', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old');
    for (const who of [alice, bob, dave, erin]) assert.equal((await f.app.status(who, r.id))?.id, r.id, who.name);
    assert.equal(await f.app.status(carol, r.id), undefined);
    assert.equal(await f.app.status(mallory, r.id), undefined);
    assert.equal(await f.app.status(alice, 'CS-NOSUCH'), undefined);
    await click(f, bob, r, 'reject');
    assert.equal((await f.app.status(alice, ` ${r.id} `))?.state, 'rejected');
  });

  it('runs a read-only command at once, without a request', async () => {
    const meant = f.app.interpret('resources rg-web');
    assert.equal(meant.kind, 'ready');
    if (meant.kind !== 'ready') return;
    const answer = await f.app.runQuery(meant.command, meant.values, carol);
    assert.equal(answer.ok, true);
    assert.equal(f.azure.queries.length, 1);
    assert.deepEqual(await f.store.requests.list({}), []);
    const refused = await f.app.runQuery(meant.command, meant.values, mallory);
    assert.equal(refused.ok, false);
    assert.equal(f.azure.queries.length, 1);
  });
});

describe('app: the tenant gate', () => {
  it('refuses an activity from a tenant Countersign does not serve, in words, and audits it', async () => {
    const f = appOnFakes();
    const answer = await f.app.admit(mallory, sourceIn(), 'message');
    assert.deepEqual(answer, { ok: false, message: `Tenant ${mallory.tenantId} is not allowed to use Countersign.` });
    const records = await f.audit();
    assert.deepEqual(
      records.map((x) => [x.type, x.actor?.aadObjectId, x.outcome.result, x.outcome.reason, x.outcome.detail]),
      [['tenant.refused', mallory.aadObjectId, 'refused', RefusalReason.TenantNotAllowed, 'activity type message']],
    );
  });

  it('admits people of the configured tenant and records nothing for them', async () => {
    const f = appOnFakes();
    assert.deepEqual(await f.app.admit(alice, sourceIn(), 'invoke'), { ok: true });
    assert.deepEqual(await f.audit(), []);
  });
});
