/**
 * The request card leads with the decision: who asks to do what where, how risky it is, what will
 * change in plain words; identifiers wait behind "Details"; times are the reader's; buttons fit the reader.
 */
import assert from 'node:assert/strict';
import { requiredTarget, resourceIdWords, type ChangeOperation } from '../../src/domain/operation';
import { requestCard } from '../../src/cards/request-card';
import { cardActions, cardText } from '../support/connector';
import { buildRequest, minutesIn, requestIn, SUBSCRIPTION } from '../support/requests';

const deployTo = (environment: string): ChangeOperation => ({
  kind: 'deployTemplate',
  subscriptionId: SUBSCRIPTION,
  resourceGroup: `${environment}-api-service`,
  deploymentName: 'countersign-req-0001',
  template: { resources: [] },
  parameters: { environment },
  mode: 'Incremental',
});

function deployRequest(environment: string) {
  return buildRequest({
    command: 'deploy',
    parameters: { environment, service: 'api-service' },
    operation: deployTo(environment),
    reason: 'release 2.4',
    whatIf: {
      status: 'Succeeded',
      changes: [
        { changeType: 'Create', resourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/api` },
        { changeType: 'Create', resourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/components/api` },
        { changeType: 'Modify', resourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st`, changedPaths: ['sku.name'] },
        { changeType: 'NoChange', resourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/serverfarms/plan` },
      ],
    },
  });
}

type Element = Record<string, unknown>;
function body(card: Element): Element[] {
  return card.body as Element[];
}
function textsOf(el: Element): string {
  return cardText({ body: [el] });
}

describe('the request card leads with the decision', () => {
  it('says first who asks to do what where, and why', () => {
    const card = requestCard(deployRequest('production'));
    const first = body(card).find((el) => el.id === 'summary')!;
    assert.equal(textsOf(first), 'Alice Requester asks to **deploy api-service to PRODUCTION**: release 2.4');
    const staging = requestCard(deployRequest('staging'));
    assert.match(cardText(staging), /asks to \*\*deploy api-service to staging\*\*/);
  });

  it('quotes the start of a long reason in the sentence, so the risk band stays on a phone\'s first screen, and the whole of it under Details', () => {
    const reason = `${'the release adds the payment retry queue and '.repeat(10)}end`;
    const card = requestCard(buildRequest({ reason }));
    const sentence = textsOf(body(card).find((el) => el.id === 'summary')!);
    const quoted = sentence.slice(sentence.indexOf('**: ') + 4, sentence.indexOf(' (the whole reason'));
    assert.equal(quoted.length, 200, `${quoted.length} characters of reason before the risk band`);
    assert.ok(sentence.startsWith(`Alice Requester asks to **delete resource group staging-old and everything in it**: ${reason.slice(0, 150)}`), sentence);
    assert.ok(sentence.endsWith('… (the whole reason is under Details)'), sentence);
    assert.ok(textsOf(body(card).find((el) => el.id === 'details')!).includes(`Reason\n${reason}`), 'the whole reason under Details');
    // A reason that fits is quoted whole, and not repeated under Details.
    const short = requestCard(buildRequest({ reason: 'cleanup after the migration' }));
    assert.equal(textsOf(body(short).find((el) => el.id === 'summary')!), 'Alice Requester asks to **delete resource group staging-old and everything in it**: cleanup after the migration');
    assert.ok(!textsOf(body(short).find((el) => el.id === 'details')!).includes('Reason'));
  });

  it('quotes a typed value that holds spaces, so it cannot read as the target: the target is the last words', () => {
    const tagging = (value: string) =>
      buildRequest({
        command: 'tag',
        parameters: { group: 'staging-old', key: 'owner', value },
        operation: { kind: 'setTags', subscriptionId: SUBSCRIPTION, scope: `/subscriptions/${SUBSCRIPTION}/resourceGroups/staging-old`, operation: 'Merge', tags: { owner: value } },
        reason: 'the owner changed last week',
      });
    const sentence = (value: string) => textsOf(body(requestCard(tagging(value))).find((el) => el.id === 'summary')!);
    assert.equal(sentence('x on resource group production-api-service'), 'Alice Requester asks to **set owner="x on resource group production-api-service" on resource group staging-old**: the owner changed last week');
    assert.equal(sentence('a" on resource group prod "b'), 'Alice Requester asks to **set owner="a\\\\" on resource group prod \\\\"b" on resource group staging-old**: the owner changed last week');
    assert.equal(sentence('platform'), 'Alice Requester asks to **set owner=platform on resource group staging-old**: the owner changed last week', 'a one-word value is not quoted');
  });

  it('names the resource group of a resource whose group says no environment: "delete test" of a storage account reads where it is', () => {
    const sentence = (r: ReturnType<typeof buildRequest>) => textsOf(body(requestCard(r)).find((el) => el.id === 'summary')!);
    const account = `/subscriptions/${SUBSCRIPTION}/resourceGroups/corebanking-data/providers/Microsoft.Storage/storageAccounts/test`;
    const deleted = buildRequest({ command: 'delete storage account', parameters: { group: 'corebanking-data', account: 'test' }, operation: { kind: 'deleteResource', subscriptionId: SUBSCRIPTION, resourceId: account, apiVersion: '2023-05-01' } });
    assert.equal(sentence(deleted), 'Alice Requester asks to **delete test (Microsoft.Storage/storageAccounts) in resource group corebanking-data**: cleanup after the migration');
    const vm = `/subscriptions/${SUBSCRIPTION}/resourceGroups/payments-core/providers/Microsoft.Compute/virtualMachines/vm-web-01`;
    const restart = buildRequest({ command: 'vm', parameters: { action: 'restart', vm: 'vm-web-01' }, operation: { kind: 'resourceAction', subscriptionId: SUBSCRIPTION, resourceId: vm, action: 'restart', apiVersion: '2024-07-01' } });
    assert.match(sentence(restart), /\*\*restart vm-web-01 \(Microsoft\.Compute\/virtualMachines\) in resource group payments-core\*\*/);
    const scale = buildRequest({ command: 'scale vm', parameters: { capacity: '3' }, operation: { kind: 'scaleResource', subscriptionId: SUBSCRIPTION, resourceId: vm, apiVersion: '2024-07-01', capacity: 3 } });
    assert.match(sentence(scale), /\*\*scale vm-web-01 \(Microsoft\.Compute\/virtualMachines\) to 3 in resource group payments-core\*\*/);
    const tag = buildRequest({ command: 'tag vm', parameters: { owner: 'ops' }, operation: { kind: 'setTags', subscriptionId: SUBSCRIPTION, scope: vm, operation: 'Merge', tags: { owner: 'ops' } } });
    assert.match(sentence(tag), /\*\*set owner=ops on vm-web-01 \(Microsoft\.Compute\/virtualMachines\) in resource group payments-core\*\*/);
    // A group that names its environment is said by it, as before.
    const inProduction = buildRequest({ command: 'vm', parameters: { action: 'restart', vm: 'vm-web-01' }, operation: { kind: 'resourceAction', subscriptionId: SUBSCRIPTION, resourceId: vm.replace('payments-core', 'production-vm'), action: 'restart', apiVersion: '2024-07-01' } });
    assert.match(sentence(inProduction), /\*\*restart vm-web-01 \(Microsoft\.Compute\/virtualMachines\) in PRODUCTION\*\*/);
  });

  it('quotes the start of many long parameter values in the sentence, so where it deploys and the risk band stay on the first screen', () => {
    const parameters: Record<string, string> = { environment: 'production' };
    for (let i = 0; i < 12; i++) parameters[`setting${i}`] = `${'v'.repeat(150)}${i}`;
    const r = buildRequest({ command: 'deploy', parameters, operation: { ...(deployTo('production') as Extract<ChangeOperation, { kind: 'deployTemplate' }>), parameters } });
    const card = requestCard(r);
    const sentence = textsOf(body(card).find((el) => el.id === 'summary')!);
    assert.ok(sentence.length < 300, `${sentence.length} characters before the risk band: ${sentence}`);
    assert.match(sentence, /^Alice Requester asks to \*\*deploy v+… \(every value is under Details\) to PRODUCTION\*\*: cleanup after the migration$/);
    const details = textsOf(body(card).find((el) => el.id === 'details')!);
    for (const value of Object.values(parameters)) assert.ok(details.includes(value), 'every value whole under Details');
    // Values that fit are quoted whole, without the pointer.
    assert.match(textsOf(body(requestCard(deployRequest('production'))).find((el) => el.id === 'summary')!), /deploy api-service to PRODUCTION\*\*/);
  });

  it('says from what to what a scale or a tag change goes, as the target was when approval was asked for', () => {
    const plan = `/subscriptions/${SUBSCRIPTION}/resourceGroups/production-api-service/providers/Microsoft.Web/serverfarms/plan`;
    const scaling = (capacity: number) =>
      cardText(requestCard(buildRequest({ command: 'scale plan', parameters: { capacity: String(capacity) }, operation: { kind: 'scaleResource', subscriptionId: SUBSCRIPTION, resourceId: plan, apiVersion: '2023-01-01', capacity }, baseline: { exists: true, facts: { 'sku.capacity': '4' } } })));
    assert.match(scaling(6), /What will change\nCapacity 4 → 6 \(more instances\)\./);
    assert.match(scaling(1), /Capacity 4 → 1 \(FEWER instances\)\./);
    const group = `/subscriptions/${SUBSCRIPTION}/resourceGroups/staging-old`;
    const tagging = (operation: 'Merge' | 'Delete' | 'Replace', tags: Record<string, string>) =>
      cardText(requestCard(buildRequest({ command: 'tag', parameters: { group: 'staging-old', ...tags }, operation: { kind: 'setTags', subscriptionId: SUBSCRIPTION, scope: group, operation, tags }, baseline: { exists: true, facts: { 'tags.owner': 'platform-team', 'tags.cost center': 'ops 42' } } })));
    assert.match(tagging('Merge', { owner: 'data-team', env: 'staging' }), /Each tag as it is now, and as it will be:\nowner: platform-team → data-team\nenv: not set → staging\n/);
    assert.match(tagging('Delete', { owner: '' }), /owner: platform-team → removed\n/);
    assert.match(tagging('Replace', { owner: 'platform-team' }), /owner: platform-team, unchanged\n"cost center": "ops 42" → removed\n/);
    // A tag Azure holds under a name every object has is shown removed by a replace like any other.
    const replacing = cardText(requestCard(buildRequest({ command: 'tag', parameters: { group: 'staging-old', owner: 'x' }, operation: { kind: 'setTags', subscriptionId: SUBSCRIPTION, scope: group, operation: 'Replace', tags: { owner: 'x' } }, baseline: { exists: true, facts: { 'tags.toString': 'a', 'tags.constructor': 'b' } } })));
    assert.match(replacing, /owner: not set → x\ntoString: a → removed\nconstructor: b → removed\n/);
  });

  it('says the power state a VM is in now, so a start of one that runs is seen at once', () => {
    const vm = `/subscriptions/${SUBSCRIPTION}/resourceGroups/production-vm/providers/Microsoft.Compute/virtualMachines/vm-1`;
    const card = requestCard(buildRequest({ command: 'vm', parameters: { action: 'start', vm: 'vm-1' }, operation: { kind: 'resourceAction', subscriptionId: SUBSCRIPTION, resourceId: vm, action: 'start', apiVersion: '2024-03-01' }, baseline: { exists: true, facts: { powerState: 'PowerState/running' } } }));
    assert.match(cardText(card), /As it is now\nPower state: running\./);
  });

  it('puts where it stands in a line of its own above the sentence, wrapped, so a narrow screen squeezes neither', () => {
    const card = requestCard(requestIn('approved', { approvals: [], breakGlass: { reason: 'INC-4711', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() } }));
    const ids = body(card).map((el) => el.id ?? el.type);
    assert.ok(ids.indexOf('state') < ids.indexOf('summary') && ids.indexOf('summary') < ids.indexOf('risk'), ids.join(', '));
    const header = body(card).find((el) => el.id === 'state') as unknown as { columns: { width: string; items: Element[] }[] };
    assert.equal(textsOf(header as unknown as Element), 'BREAK-GLASS · RUNS WITHOUT APPROVAL\nRequest req-0001');
    const label = header.columns[0].items[0];
    assert.equal(header.columns[0].width, 'stretch', 'the label has the room; only the short request id sits beside it');
    assert.equal(label.wrap, true, 'a long label wraps instead of being cut');
    assert.equal(label.color, 'Warning', 'a break-glass use is never in the colour of an approval');
    assert.ok(!JSON.stringify(header).includes('summary'), 'the sentence is not in a column beside the label');
  });

  it('shows a risk band: production stands out, staging does not look like production, a delete not like a deploy', () => {
    const band = (card: Element) => body(card).find((el) => el.id === 'risk')!;
    const production = band(requestCard(deployRequest('production')));
    const staging = band(requestCard(deployRequest('staging')));
    const del = band(requestCard(buildRequest()));
    assert.match(textsOf(production), /^HIGH RISK: a deployment in PRODUCTION$/);
    assert.equal(production.style, 'attention');
    assert.match(textsOf(staging), /^MEDIUM RISK: a deployment in staging$/);
    assert.equal(staging.style, 'warning');
    assert.equal(textsOf(del), '⚠ CRITICAL RISK: DELETES a resource group and everything in it, in staging; this cannot be undone', 'where, then the warning');
    assert.notEqual(textsOf(del), textsOf(production));
    // The command's own risk wins.
    assert.match(textsOf(band(requestCard({ ...deployRequest('staging'), risk: 'low' }))), /^LOW RISK/);
  });

  it('bands a restart of a resource in a production resource group HIGH, as it does a production deployment', () => {
    const band = (card: Element) => body(card).find((el) => el.id === 'risk')!;
    const restartIn = (group: string): ChangeOperation => ({
      kind: 'resourceAction',
      subscriptionId: SUBSCRIPTION,
      resourceId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/vm-web-01`,
      action: 'restart',
      apiVersion: '2024-07-01',
    });
    const restart = (group: string) => buildRequest({ command: 'vm', parameters: { action: 'restart', vm: 'vm-web-01' }, operation: restartIn(group) });
    assert.match(textsOf(band(requestCard(restart('production-vm')))), /^HIGH RISK: restart of a resource in PRODUCTION$/);
    assert.match(textsOf(band(requestCard(restart('staging-vm')))), /^MEDIUM RISK: restart of a resource in staging$/);
  });

  it('says where a request runs as decided when it was made (its subscription\'s environment), where the group\'s name says nothing', () => {
    const band = (card: Element) => body(card).find((el) => el.id === 'risk')!;
    const summary = (card: Element) => body(card).find((el) => el.id === 'summary')!;
    const account = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp01`;
    const operation: ChangeOperation = { kind: 'deleteResource', subscriptionId: SUBSCRIPTION, resourceId: account, apiVersion: '2023-05-01' };
    const del = (more: Partial<Parameters<typeof buildRequest>[0]>) => buildRequest({ command: 'delete storage account', parameters: { group: 'rg-app', account: 'stapp01' }, operation, reason: 'decommission', ...more });
    const production = requestCard(del({ environment: 'production', risk: 'critical' }));
    assert.equal(textsOf(summary(production)), 'Alice Requester asks to **delete stapp01 (Microsoft.Storage/storageAccounts) in PRODUCTION**: decommission');
    assert.equal(textsOf(band(production)), '⚠ CRITICAL RISK: DELETES a resource in PRODUCTION; this cannot be undone');
    assert.equal(textsOf(band(requestCard(del({ environment: 'uat', risk: 'high' })))), 'HIGH RISK: DELETES a resource in uat; this cannot be undone');
    // Made before the environment was recorded: the names alone, as then (rg-app says nothing).
    assert.equal(textsOf(summary(requestCard(del({})))), 'Alice Requester asks to **delete stapp01 (Microsoft.Storage/storageAccounts) in resource group rg-app**: decommission');
  });

  it('names a nested resource as itself, with its parent: a delete of a slot does not read as a delete of its site', () => {
    const slot = `/subscriptions/${SUBSCRIPTION}/resourceGroups/production-web/providers/Microsoft.Web/sites/shop/slots/staging`;
    const del = buildRequest({ command: 'delete slot', parameters: { slot: 'staging' }, operation: { kind: 'deleteResource', subscriptionId: SUBSCRIPTION, resourceId: slot, apiVersion: '2023-12-01' } });
    const text = cardText(requestCard(del));
    assert.match(text, /delete staging \(Microsoft\.Web\/sites\/slots\) of shop/);
    assert.doesNotMatch(text, /delete shop \(Microsoft\.Web\/sites\)/);
    assert.equal(resourceIdWords(`/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/shop`), 'shop (Microsoft.Web/sites)');
    assert.equal(requiredTarget({ kind: 'deleteResource', subscriptionId: SUBSCRIPTION, resourceId: slot, apiVersion: '2023-12-01' }), 'staging (Microsoft.Web/sites/slots) of shop in resource group production-web');
  });

  it("names the environment of the target's group, never a parameter's value: a tag value of dev on a staging group is staging", () => {
    const band = (card: Element) => body(card).find((el) => el.id === 'risk')!;
    const tagged = buildRequest({ command: 'tag', parameters: { group: 'staging-old', key: 'env', value: 'dev' }, target: { subscriptionId: SUBSCRIPTION, resourceGroup: 'staging-old' }, risk: 'low' });
    assert.match(textsOf(band(requestCard(tagged))), /^LOW RISK: .*\bin staging\b/);
    // The requester's own value is not where it runs: a group whose name says nothing is not said to be dev.
    const ungrouped = buildRequest({ command: 'tag', parameters: { group: 'shared-tools', key: 'env', value: 'dev' }, target: { subscriptionId: SUBSCRIPTION, resourceGroup: 'shared-tools' }, risk: 'low' });
    assert.doesNotMatch(textsOf(band(requestCard(ungrouped))), /\bin dev\b/, 'a group that says nothing is not named by a tag value');
    const account = `/subscriptions/${SUBSCRIPTION}/resourceGroups/corebanking-data/providers/Microsoft.Storage/storageAccounts/test`;
    const deleted = buildRequest({ command: 'delete storage account', parameters: { group: 'corebanking-data', account: 'test' }, operation: { kind: 'deleteResource', subscriptionId: SUBSCRIPTION, resourceId: account, apiVersion: '2023-05-01' }, target: { subscriptionId: SUBSCRIPTION, resourceGroup: 'corebanking-data', resourceId: account } });
    assert.equal(textsOf(band(requestCard(deleted))), 'HIGH RISK: DELETES a resource; this cannot be undone', 'not "in test": that is the account\'s name');
    assert.doesNotMatch(cardText(requestCard(deleted)), /\bin test\b/);
  });

  it('says what will change in plain words, not ARM change types', () => {
    const text = cardText(requestCard(deployRequest('production')));
    assert.match(text, /What will change\n4 resources: 2 to create, 1 to modify, 1 unchanged\.\nCreate api \(Microsoft\.Web\/sites\)/);
    assert.match(text, /Modify st \(Microsoft\.Storage\/storageAccounts\): sku\.name/);
    assert.doesNotMatch(text, /NoChange/);
  });

  it('lists what a resource group delete destroys, counted, up to a limit', () => {
    const facts: Record<string, string> = { location: 'westeurope', 'resources.count': '14' };
    for (let i = 1; i <= 14; i++) facts[`resource Microsoft.Web/sites/app-${i}`] = 'present';
    const text = cardText(requestCard(buildRequest({ baseline: { exists: true, facts } })));
    assert.match(text, /What will be destroyed\nResource group staging-old and the 14 resources in it:\napp-1 \(Microsoft\.Web\/sites\)/);
    assert.match(text, /app-10 \(Microsoft\.Web\/sites\)\nand 4 more/);
    assert.doesNotMatch(text, /app-11/);
    const empty = cardText(requestCard(buildRequest({ baseline: { exists: true, facts: { location: 'westeurope', 'resources.count': '0' } } })));
    assert.match(empty, /Resource group staging-old, which is empty\./);
  });

  it('keeps subscription, operation hash and policy version in a collapsed Details section', () => {
    const r = buildRequest();
    const card = requestCard(r);
    const details = body(card).find((el) => el.id === 'details')!;
    assert.equal(details.isVisible, false);
    const toggle = body(card).find((el) => el.type === 'ActionSet')!;
    assert.deepEqual(toggle.actions, [{ type: 'Action.ToggleVisibility', title: 'Details', targetElements: ['details'] }]);
    const hidden = textsOf(details);
    for (const shown of [SUBSCRIPTION, r.operationHash.slice(0, 16), r.policy.version.slice(0, 12)]) {
      assert.ok(hidden.includes(shown));
      assert.ok(!cardText({ body: body(card).filter((el) => el.id !== 'details') }).includes(shown), `${shown} only in details`);
    }
  });

  it('shows times in the reader\'s own time zone, says [SANDBOX] once and counts in words', () => {
    const text = cardText(requestCard(requestIn('pending', { sandbox: true })));
    assert.match(text, /Expires \{\{DATE\(2026-03-02T10:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T10:00:00Z\)\}\}/);
    assert.doesNotMatch(text, /UTC/);
    assert.equal(text.split('SANDBOX').length - 1, 1);
    assert.match(text, /Needs 1 approval from platform-approvers, not the requester: none yet\./);
    assert.equal(cardText(requestCard(requestIn('pending', { sandbox: false }))).split('SANDBOX').length - 1, 0);
  });

  it('styles Reject as destructive', () => {
    const actions = requestCard(buildRequest()).actions as Element[];
    const reject = actions.find((a) => a.title === 'Reject')!;
    assert.equal(reject.style, 'destructive');
    assert.equal(((reject.card as Element).actions as Element[])[0].style, 'destructive');
  });

  it('asks Teams for each person\'s own view, and that view offers only the buttons they can use', () => {
    const r = buildRequest();
    const shared = requestCard(r, { viewerIds: ['29:alice', '29:bob'] });
    assert.deepEqual(shared.refresh, { action: { type: 'Action.Execute', verb: 'refresh', data: { requestId: r.id, hash: r.operationHash } }, userIds: ['29:alice', '29:bob'] });
    assert.deepEqual(cardActions(shared).map((a) => a.verb), ['approve', 'reject', 'cancel']);
    assert.deepEqual(cardActions(requestCard(r, { viewer: { canApprove: true, canReject: true, canCancel: false, canReview: true } })).map((a) => a.verb), ['approve', 'reject']);
    assert.deepEqual(cardActions(requestCard(r, { viewer: { canApprove: false, canReject: false, canCancel: true, canReview: false } })).map((a) => [a.verb, a.title]), [['cancel', 'Cancel my request']]);
    assert.deepEqual(cardActions(requestCard(r, { viewer: { canApprove: false, canReject: false, canCancel: false, canReview: false } })), []);
  });

  it('says Azure\'s cause of a failure in one line and links Microsoft\'s documentation', () => {
    const r = requestIn('failed', {
      execution: {
        startedAt: '2026-03-02T09:06:00.000Z',
        ref: { resourceIds: [] },
        error: {
          code: 'DeploymentFailed',
          message: 'At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.',
          details: ['SkuNotAvailable: The requested size for resource api is currently not available in location westeurope. See https://aka.ms/azureskunotavailable for details.'],
        },
      },
    });
    const text = cardText(requestCard(r));
    assert.match(text, /^Failed: SkuNotAvailable: The requested size for resource api is currently not available in location westeurope$/m);
    assert.match(text, /^\[Microsoft's documentation: aka\.ms\/arm-deployment-operations\]\(https:\/\/aka\.ms\/arm-deployment-operations\)$/m);
    assert.match(text, /^\[Microsoft's documentation: aka\.ms\/azureskunotavailable\]\(https:\/\/aka\.ms\/azureskunotavailable\)$/m);
    // The same kind of link typed by a person stays inert.
    assert.doesNotMatch(cardText(requestCard(buildRequest({ reason: '[docs](https://aka.ms/x)' }))), /\]\(https:/);
  });
});
