/**
 * An approver in an Entra group, at the Teams boundary: the bot over HTTP with the fake Bot Connector,
 * group membership from a fake Microsoft Graph on loopback, the ARM sandbox.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GraphDirectory } from '../../src/azure';
import { parseConfig } from '../../src/config/load';
import { cardText } from '../support/connector';
import { fakeGraphCredential, startFakeGraph, type FakeGraph } from '../support/fake-graph';
import { auditOf, requestVia, settled } from '../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { people } from '../support/teams';

const PLATFORM_GROUP = '91a70000-0000-4000-8000-000000000002';
const NESTED_GROUP = '4e570000-0000-4000-8000-000000000003';

describe('an approver in an Entra group (bot over HTTP, fake Bot Connector, fake Microsoft Graph)', function () {
  this.timeout(30000);
  let h: Harness;
  let graph: FakeGraph;
  beforeEach(async () => {
    graph = await startFakeGraph();
    const text = readFileSync(EXAMPLE_CONFIG, 'utf8').replace('    - 22222222-2222-4222-8222-222222222222 # Bob Approver', `    - group:${PLATFORM_GROUP}`);
    const config = parseConfig(text, EXAMPLE_CONFIG);
    const directory = new GraphDirectory({ credential: fakeGraphCredential(), endpoint: graph.url, cacheLifetimeMs: 300_000 });
    h = await startHarness({ config, directory });
  });
  afterEach(async () => {
    await h.stop();
    await graph.close();
  });

  it('runs the request after Bob, a member of a group nested in the approver group, approves on the card', async () => {
    graph.addMember(NESTED_GROUP, people.bob.aadObjectId);
    graph.addMember(PLATFORM_GROUP, NESTED_GROUP);
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'approve');
    assert.equal(answer.status, 200);
    await settled(h);
    assert.match(cardText(h.connector.card(cardId)), /Approved by Bob Approver/);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'succeeded');
    assert.ok(graph.calls.some((c) => c.user === people.bob.aadObjectId && c.groupIds.includes(PLATFORM_GROUP)));
  });

  it('shows Bob why his click was refused when Graph refuses the bot, and records it', async () => {
    graph.addMember(PLATFORM_GROUP, people.bob.aadObjectId);
    graph.fail({ status: 403, code: 'Authorization_RequestDenied' });
    const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old');
    const answer = await h.teams.click(people.bob, cardId, 'approve');
    const shown = cardText(answer.body.value as Record<string, unknown>);
    assert.match(shown, /could not check your membership of group 91a70000-0000-4000-8000-000000000002 in Microsoft Entra: Microsoft Graph refused \(403 Authorization\\?_RequestDenied\).*User\.Read\.All and GroupMember\.Read\.All/);
    assert.match(shown, /PENDING APPROVAL/);
    const refused = (await auditOf(h, { requestId })).filter((r) => r.type === 'click.refused');
    assert.deepEqual(refused.map((r) => r.outcome.reason), ['membership-unknown']);
    assert.equal((await h.bot.deps.store.requests.get(requestId))?.state, 'pending');
  });
});
