/**
 * A reason the command's policy refuses is audited when it is typed, in the message or in the form,
 * even though the form then asks for a better one (an acceptance test found the form caught it
 * first, and nothing was recorded): attempts to get past the reason rule show in the trail.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { RefusalReason } from '../../src/domain/refusal';
import { auditOf } from '../support/flows';
import { EXAMPLE_CONFIG, startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

describe('a refused reason, typed or submitted in the form', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const anchor = '      approverRoles: [platform-approvers]\n      requesterRoles: [requesters]\n      ttl: 1h\n';
    assert.ok(text.includes(anchor), 'the example has the delete policy to extend');
    h = await startHarness({ configText: text.replace(anchor, `${anchor}      reason: { required: true, minLength: 20 }\n      breakGlass: { allowed: true, roles: [requesters], reviewWithin: 24h }\n`) });
  });
  after(() => h.stop());

  const refusedReasons = async () =>
    (await auditOf(h)).filter((e) => e.type === 'request.refused' && e.outcome?.reason === RefusalReason.ReasonInsufficient).map((e) => [e.data?.stage, e.outcome?.detail]);

  it('audits the refused reason of a message and of a form submission, and nothing for a reason left out', async () => {
    await h.teams.say(people.alice, 'delete resource group staging-old reason: asdfasdfasdf', opsChannel);
    await h.teams.say(people.alice, '', opsChannel, { countersign: 'form', command: 'delete resource group', 'param.name': 'staging-old', reason: 'n/a' });
    await h.teams.say(people.alice, 'delete resource group staging-old', opsChannel);
    assert.deepEqual(await refusedReasons(), [
      ['before the form', '"asdfasdfasdf" is a placeholder, not a reason. Say why the change is needed and what it is for, e.g. "Scale out checkout-web for the 10:00 sale, ticket CHG-1234". Nothing was requested.'],
      ['form', '"n/a" is a placeholder, not a reason. Say why the change is needed and what it is for, e.g. "Scale out checkout-web for the 10:00 sale, ticket CHG-1234". Nothing was requested.'],
    ]);
    assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'nothing was requested');
  });

  it('audits the refused reason of a break-glass use too, and answers it in one sentence per problem', async () => {
    const from = await h.teams.say(people.alice, 'break-glass delete resource group staging-old reason: asdfasdfasdf', opsChannel);
    const said = h.teams.since(from).map((s) => String(s.activity.text ?? '')).join('\n');
    assert.match(said, /"asdfasdfasdf" is a placeholder, not a reason\. .*\. Usage: break-glass/);
    assert.doesNotMatch(said, /\.\. Usage/);
    const audited = (await auditOf(h)).filter((e) => e.type === 'request.refused' && e.data?.breakGlass === true);
    assert.deepEqual(audited.map((e) => e.outcome?.reason), [RefusalReason.ReasonInsufficient]);
    assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'nothing ran');
  });
});
