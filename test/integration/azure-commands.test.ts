/**
 * Every command of the example catalog, typed in Teams: the sensitive ones approved by a second person
 * and run by the real SDK against the ARM sandbox, the read-only ones answered at once.
 */
import assert from 'node:assert/strict';
import { cardOf, cardText } from '../support/connector';
import { requestVia, settled } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { ids } from '../support/sandbox';
import { people } from '../support/teams';

interface ChangeCase {
  text: string;
  /** What the operation did in Azure, as the sandbox shows it. */
  effect(h: Harness, id: ReturnType<typeof ids>): void;
}

const changes: ChangeCase[] = [
  {
    text: 'create resource group feature-x northeurope platform-team',
    effect: (h) => {
      const g = h.sandbox.state.resourceGroup('feature-x');
      assert.equal(g?.location, 'northeurope');
      assert.deepEqual(Object.keys(g?.tags ?? {}).sort(), ['createdBy', 'owner', 'request']);
      assert.equal(g?.tags.owner, 'platform-team');
      assert.match(g?.tags.request ?? '', /^CS-/);
    },
  },
  {
    text: 'untag staging-old expires',
    effect: (h) => assert.deepEqual(h.sandbox.state.resourceGroup('staging-old')?.tags, { environment: 'staging' }),
  },
  {
    text: 'set group tags staging-api-service staging web-team',
    effect: (h) => assert.deepEqual(h.sandbox.state.resourceGroup('staging-api-service')?.tags, { environment: 'staging', owner: 'web-team' }),
  },
  {
    text: 'tag vm batch-worker-01 costCenter cc-42',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.vm)?.tags.costCenter, 'cc-42'),
  },
  {
    text: 'vm powerOff batch-worker-01',
    effect: (h, id) => assert.match(JSON.stringify(h.sandbox.state.resource(id.vm)?.properties.extended), /PowerState\/stopped/),
  },
  {
    text: 'app stop api-service',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.site)?.properties.state, 'Stopped'),
  },
  {
    text: 'app start api-service',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.site)?.properties.state, 'Running'),
  },
  {
    text: 'scale plan 4',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.plan)?.sku?.capacity, 4),
  },
  {
    text: 'scale pool 6',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.scaleSet)?.sku?.capacity, 6),
  },
  {
    text: 'delete storage account staging-old stagingoldlogs',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.storage), undefined),
  },
  {
    text: 'delete vm batch-worker-01',
    effect: (h, id) => assert.equal(h.sandbox.state.resource(id.vm), undefined),
  },
];

describe('the example catalog, command by command (bot over HTTP, ARM sandbox)', function () {
  this.timeout(60000);
  let h: Harness;
  let id: ReturnType<typeof ids>;
  before(async () => {
    h = await startHarness();
    id = ids(h.sandbox);
  });
  after(async () => {
    await h.stop();
  });

  for (const c of changes) {
    it(`"${c.text}" runs once a second person approves it, and the card says so`, async () => {
      const { cardId, requestId } = await requestVia(h, c.text);
      const stored = await h.bot.deps.store.requests.get(requestId);
      assert.ok(stored?.baseline, 'the target was read when approval was asked for');
      await h.teams.click(people.bob, cardId, 'approve');
      await settled(h);
      const done = await h.bot.deps.store.requests.get(requestId);
      assert.equal(done?.state, 'succeeded', done?.outcomeDetail);
      c.effect(h, id);
      assert.match(cardText(h.connector.card(cardId)), /SUCCEEDED/);
    });
  }

  async function ask(text: string): Promise<string> {
    const from = await h.teams.say(people.carol, text);
    const reply = h.teams.since(from).at(-1)?.activity ?? {};
    const card = cardOf(reply);
    // A table is read as a person reads it: each row's cells under their column's header.
    const table = (card?.body as { type?: string; rows?: { cells: { items: { text: string }[] }[] }[] }[] | undefined)?.find((el) => el.type === 'Table');
    const lines = table?.rows?.map((r) => r.cells.map((c) => c.items[0].text)) ?? [];
    const read = lines.slice(1).map((cells) => cells.map((cell, i) => `${lines[0][i]}: ${cell}`).join(' | '));
    const before = card ? cardText({ body: (card.body as { type?: string }[]).filter((el) => el.type !== 'Table') }) : '';
    // Markdown escapes are left out, to read it as a person would.
    return (card ? [before, ...read].join('\n') : String(reply.text)).replace(/\\/g, '');
  }

  it('answers the read-only commands at once, with no approval', async () => {
    assert.match(await ask('list groups'), /Resource groups in subscription[\s\S]*production-api-service[\s\S]*staging-web-frontend/);
    const sites = await ask('find type Microsoft.Web/sites');
    assert.match(sites, /Name: api-service/);
    assert.match(sites, /Name: web-frontend/);
    assert.match(await ask('find tag role batch-pool'), /1 result\nName: batch-pool \| Type: Microsoft\.Compute\/virtualMachineScaleSets/);
    assert.match(await ask('show app web-frontend'), /Microsoft\.Web\/sites\/web-frontend[\s\S]*properties\.defaultHostName/);
    assert.match(await ask('what if staging web-frontend'), /What-if of an incremental deployment to staging-web-frontend[\s\S]*Change: Create/);
  });

  it('lists a group\'s deployments and one deployment\'s operations', async () => {
    const { cardId, requestId } = await requestVia(h, 'deploy staging api-service');
    await h.teams.click(people.bob, cardId, 'approve');
    await settled(h);
    assert.match(await ask('list deployments staging-api-service'), new RegExp(`Name: countersign-${requestId} \\| State: Succeeded`));
    assert.match(await ask(`list operations staging-api-service countersign-${requestId}`), /Resource: api-service \| Type: Microsoft\.Web\/sites \| Operation: Create \| State: Succeeded/);
  });
});
