/**
 * Junk cannot grow the process or flood requests: a person without a requester role is told so
 * before a form starts (and no form is kept for them), forms in progress are bounded, and one
 * person's rate of new requests has a limit with a clear answer past it.
 */
import assert from 'node:assert/strict';
import { cardOf, cardText } from '../support/connector';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { people, TENANT, type Person } from '../support/teams';

const stranger = (i: number): Person => ({ id: `user-junk-${i}`, aadObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `Junk ${i}`, tenantId: TENANT });

describe('requesting under junk (bot over HTTP)', function () {
  this.timeout(60000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { COUNTERSIGN_DIALOG_STATE_MAX: '20', COUNTERSIGN_REQUESTS_PER_HOUR: '2' } });
  });
  after(async () => {
    await h.stop();
  });

  const texts = (from: number) => h.teams.since(from).map((s) => String(s.activity.text ?? cardText(cardOf(s.activity))));

  it('tells a person without a requester role so before any form starts', async () => {
    const from = await h.teams.say(people.carol, 'delete resource group');
    const said = texts(from);
    assert.equal(said.length, 1);
    assert.match(said[0], /You cannot request "delete resource group": it needs the role "requesters"/);
    const last = (await auditOf(h)).at(-1)!;
    assert.equal(last.type, 'request.refused');
    assert.equal(last.data?.stage, 'before the form');
  });

  it('keeps at most the configured number of forms in memory while 60 people start forms', async () => {
    for (let i = 0; i < 60; i++) await h.teams.say(stranger(i), 'delete resource group');
    for (let i = 0; i < 5; i++) await h.teams.say(people.alice, 'delete resource group');
    assert.ok(h.bot.dialogStorage.size <= 20, `storage holds ${h.bot.dialogStorage.size}`);
    // Alice's form, started last, still works.
    const from = await h.teams.say(people.alice, 'delete resource group');
    assert.ok(texts(from).some((t) => /Complete your request: delete resource group/.test(t)), texts(from).join(' | '));
  });

  it('refuses a person past their rate of new requests with a clear answer, and accepts them again an hour later', async () => {
    await requestVia(h, 'delete resource group staging-api-service');
    await requestVia(h, 'delete resource group staging-web-frontend');
    const from = await h.teams.say(people.alice, 'delete resource group production-vm');
    assert.match(texts(from).join(' | '), /You have reached the limit of at most 2 new request\(s\) per hour; try again in \d+ minute\(s\)/);
    const refused = (await auditOf(h)).at(-1)!;
    assert.equal(refused.outcome.reason, 'rate-limited');
    // Someone else is not held back by Alice's rate.
    await requestVia(h, 'delete resource group production-web-frontend', people.dave);
    h.clock.advance(61 * 60_000);
    await requestVia(h, 'delete resource group production-vm');
  });
});
