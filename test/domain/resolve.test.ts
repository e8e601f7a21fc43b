import assert from 'node:assert/strict';
import { asChange, asQuery, placeholdersIn, resolveOperation, type CommandSpec, type ResolveContext } from '../../src/domain/catalog';
import { targetOf, type OperationSpec } from '../../src/domain/operation';
import { deepFreeze } from './deep-freeze';
import { deleteGroup, deploy, restart, scale, tag } from './catalog-fixtures';

const SUB = '00000000-0000-4000-8000-00000000abcd';
const apiTemplate = { $schema: 'x', resources: [{ type: 'Microsoft.Web/sites', name: 'api-service' }] };

/** A context whose template loader remembers what it was asked for. */
function context(templates: Record<string, Record<string, unknown>> = { 'templates/api-service.json': apiTemplate }) {
  const asked: string[] = [];
  const ctx: ResolveContext = {
    subscriptionId: SUB,
    requestId: 'req-0042',
    loadTemplate(relativePath) {
      asked.push(relativePath);
      const t = templates[relativePath];
      if (!t) throw new Error(`template file ${relativePath} not found`);
      return t;
    },
  };
  return { ctx, asked };
}

describe('resolving a command to the Azure operation it runs', () => {
  it('refuses a value that would make a resource id name another resource, however it got here', () => {
    const { ctx } = context();
    assert.throws(() => resolveOperation(restart, { app: '../../other-rg/providers/Microsoft.Sql/servers/ledger', slot: 'production' }, ctx), /^Error: app ".*" cannot be part of an Azure resource id: "\/" would make it name another resource$/);
    assert.throws(() => resolveOperation(deleteGroup, { name: '..' }, ctx), /name cannot be "\.\."/);
  });

  it('refuses an action name that would make the action\'s path name the resource itself or its parent', () => {
    const { ctx } = context();
    // POST {resourceId}/{action}: ".." posts to the resource's collection, "." to the resource, and a
    // "/" (sent as %2F) is left for Azure's front door to read.
    const anyAction = { ...restart, parameters: [...restart.parameters, { name: 'verb', type: 'string' as const }], operation: { ...restart.operation, action: '{verb}' } };
    for (const verb of ['..', '.', 'restart/../../stop', 'restart%2F..']) {
      assert.throws(() => resolveOperation(anyAction, { app: 'api', slot: 'production', verb }, ctx), /^Error: verb .*(cannot be part of an Azure resource id|cannot be "\.\.?")/, verb);
    }
    assert.equal((resolveOperation(anyAction, { app: 'api', slot: 'production', verb: 'restart' }, ctx) as { action: string }).action, 'restart');
  });


  it('fills a deployment from its parameters and loads the template the parameters name', () => {
    const { ctx, asked } = context();
    const op = resolveOperation(deploy, { environment: 'production', service: 'api-service' }, ctx);
    assert.deepEqual(asked, ['templates/api-service.json']);
    assert.deepEqual(op, {
      kind: 'deployTemplate',
      subscriptionId: SUB,
      resourceGroup: 'production-api-service',
      template: apiTemplate,
      parameters: { environment: 'production' },
      mode: 'Incremental',
      deploymentName: 'countersign-req-0042',
    });
  });

  it('keeps a deployment mode and name the command sets, and an empty parameter set when it sets none', () => {
    const { ctx } = context();
    const custom: CommandSpec = {
      ...deploy,
      operation: { kind: 'deployTemplate', resourceGroup: 'rg', template: 'templates/api-service.json', mode: 'Complete', deploymentName: 'nightly-{requestId}' },
    };
    const op = resolveOperation(custom, {}, ctx);
    assert.equal(op.kind === 'deployTemplate' && op.mode, 'Complete');
    assert.equal(op.kind === 'deployTemplate' && op.deploymentName, 'nightly-req-0042');
    assert.deepEqual(op.kind === 'deployTemplate' && op.parameters, {});
  });

  it('refuses a deployment name Azure does not take once filled, before anyone is asked to approve it', () => {
    const { ctx } = context();
    const labelled: CommandSpec = {
      ...deploy,
      parameters: [...deploy.parameters, { name: 'label', type: 'string' }],
      operation: { kind: 'deployTemplate', resourceGroup: 'rg', template: 'templates/api-service.json', deploymentName: 'release-{label}-{requestId}' },
    };
    assert.throws(() => resolveOperation(labelled, { label: '2.6 hotfix' }, ctx), /^Error: deploymentName "release-2\.6 hotfix-req-0042" holds " ", which Azure does not take in a deployment's name \(A-Z, a-z, 0-9, _, \(, \), - and \. only\)$/);
    // A letter beyond ASCII, which Azure may take, is Countersign's refusal, naming its code point: "аpi" (Cyrillic а) reads as "api".
    assert.throws(() => resolveOperation(labelled, { label: 'аpi' }, ctx), /^Error: deploymentName "release-аpi-req-0042" holds "а" \(U\+0430\), which Countersign does not take in a deployment's name \(A-Z, a-z, 0-9, _, \(, \), - and \. only: Azure may take other letters and digits, but a name of them can look like another, Cyrillic "а" like Latin "a"\)$/);
    assert.throws(() => resolveOperation(labelled, { label: 'x'.repeat(50) }, ctx), /^Error: deploymentName "release-x{50}-req-0042" is 67 characters long: Azure takes at most 64$/);
    assert.equal((resolveOperation(labelled, { label: '2.6_(hotfix)' }, ctx) as { deploymentName: string }).deploymentName, 'release-2.6_(hotfix)-req-0042');
    // A query of a deployment's operations names it the same way.
    const operations: CommandSpec = { ...labelled, sensitive: false, operation: { kind: 'deploymentOperations', resourceGroup: 'rg', deploymentName: '{label}' } };
    assert.throws(() => resolveOperation(operations, { label: 'my deployment' }, ctx), /^Error: deploymentName "my deployment" holds " "/);
  });

  it('loads the template for a what-if without naming a deployment', () => {
    const { ctx } = context();
    const whatIf: CommandSpec = { ...deploy, sensitive: false, operation: { kind: 'whatIfDeployment', resourceGroup: 'rg', template: 'templates/{service}.json' } };
    const op = resolveOperation(whatIf, { service: 'api-service' }, ctx);
    assert.deepEqual(op, { kind: 'whatIfDeployment', resourceGroup: 'rg', template: apiTemplate, parameters: {}, mode: 'Incremental', subscriptionId: SUB });
  });

  it('lets a missing template stop the resolution with the loader\'s message', () => {
    const { ctx } = context({});
    assert.throws(() => resolveOperation(deploy, { environment: 'staging', service: 'web-frontend' }, ctx), /template file templates\/web-frontend.json not found/);
  });

  it('fills placeholders in keys as well as values, including the subscription and request id', () => {
    const { ctx } = context();
    const op = resolveOperation(tag, { group: 'rg-ops', key: 'owner', value: 'Jane Doe' }, ctx);
    assert.deepEqual(op, {
      kind: 'setTags',
      scope: `/subscriptions/${SUB}/resourceGroups/rg-ops`,
      tags: { owner: 'Jane Doe', requestedBy: 'countersign-req-0042' },
      operation: 'Merge',
      subscriptionId: SUB,
    });
  });

  it('does not expand placeholders that arrive inside a parameter value', () => {
    const { ctx } = context();
    const op = resolveOperation(tag, { group: 'rg-ops', key: 'note', value: '{subscriptionId} {requestId}' }, ctx);
    assert.deepEqual(op.kind === 'setTags' && op.tags, { note: '{subscriptionId} {requestId}', requestedBy: 'countersign-req-0042' });
  });

  it('turns a scale capacity into a number', () => {
    const op = resolveOperation(scale, { app: 'api', instances: '4' }, context().ctx);
    assert.equal(op.kind === 'scaleResource' && op.capacity, 4);
    assert.equal(op.kind === 'scaleResource' && op.resourceId, `/subscriptions/${SUB}/resourceGroups/apps/providers/Microsoft.Web/serverfarms/api`);
  });

  it('gives a new resource group no tags when the command sets none', () => {
    const create: CommandSpec = { ...deleteGroup, operation: { kind: 'createResourceGroup', resourceGroup: '{name}', location: 'westeurope' } };
    assert.deepEqual(resolveOperation(create, { name: 'rg-new' }, context().ctx), {
      kind: 'createResourceGroup',
      resourceGroup: 'rg-new',
      location: 'westeurope',
      tags: {},
      subscriptionId: SUB,
    });
  });

  it('always targets the context subscription, whatever the command says', () => {
    const sneaky: CommandSpec = { ...deleteGroup, operation: { kind: 'deleteResourceGroup', resourceGroup: '{name}', subscriptionId: 'other-sub' } };
    assert.equal(resolveOperation(sneaky, { name: 'rg' }, context().ctx).subscriptionId, SUB);
  });

  it('leaves the command\'s operation template as it was, ready for the next request', () => {
    const frozen = deepFreeze(structuredClone(tag));
    resolveOperation(frozen, { group: 'a', key: 'b', value: 'c' }, context().ctx);
    assert.deepEqual(frozen, tag);
  });

  it('tells change operations from queries', () => {
    const change = resolveOperation(restart, { app: 'web', slot: 'staging' }, context().ctx);
    assert.equal(asChange(change), change);
    assert.equal(asQuery(change), undefined);
    const query: OperationSpec = { kind: 'listResourceGroups', subscriptionId: SUB };
    assert.equal(asQuery(query), query);
    assert.equal(asChange(query), undefined);
  });
});

describe('placeholders in an operation template', () => {
  it('finds every placeholder once, in keys, values and nested lists', () => {
    assert.deepEqual(placeholdersIn({ kind: 'setTags', scope: '/s/{subscriptionId}/rg/{group}', tags: { '{key}': '{value}' }, list: ['{group}', 7, null] }).sort(), [
      'group',
      'key',
      'subscriptionId',
      'value',
    ]);
  });

  it('ignores braces that do not hold a parameter name', () => {
    assert.deepEqual(placeholdersIn({ x: '{} {1abc} {a-b} [concat(\'{\')]' }), []);
  });
});

describe('the target of an operation', () => {
  it('is the resource group for resource group operations', () => {
    assert.deepEqual(targetOf({ kind: 'deleteResourceGroup', subscriptionId: SUB, resourceGroup: 'staging-old' }), { subscriptionId: SUB, resourceGroup: 'staging-old' });
  });

  it('is the resource and its resource group, found in the resource id in any letter case', () => {
    const resourceId = `/subscriptions/${SUB}/resourcegroups/apps/providers/Microsoft.Web/sites/api`;
    assert.deepEqual(targetOf({ kind: 'resourceAction', subscriptionId: SUB, resourceId, action: 'restart', apiVersion: 'v' }), {
      subscriptionId: SUB,
      resourceGroup: 'apps',
      resourceId,
    });
  });

  it('is the resource group for tags set on a resource group scope, and the subscription for a subscription scope', () => {
    const scope = `/subscriptions/${SUB}/resourceGroups/rg-ops`;
    assert.deepEqual(targetOf({ kind: 'setTags', subscriptionId: SUB, scope, tags: {}, operation: 'Merge' }), { subscriptionId: SUB, resourceGroup: 'rg-ops' });
    assert.deepEqual(targetOf({ kind: 'setTags', subscriptionId: SUB, scope: `/subscriptions/${SUB}`, tags: {}, operation: 'Merge' }), { subscriptionId: SUB });
  });

  it('is the subscription the resource id or scope names, when it names another than the configured one (where Azure is sent it)', () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const resourceId = `/subscriptions/${other}/resourceGroups/apps/providers/Microsoft.Web/sites/api`;
    assert.equal(targetOf({ kind: 'resourceAction', subscriptionId: SUB, resourceId, action: 'restart', apiVersion: 'v' }).subscriptionId, other);
    assert.equal(targetOf({ kind: 'setTags', subscriptionId: SUB, scope: `/SUBSCRIPTIONS/${other}/resourceGroups/rg-ops`, tags: {}, operation: 'Merge' }).subscriptionId, other);
    // A command resolving one from the requester's words: the card names the subscription acted on.
    const command: CommandSpec = {
      name: 'restart app',
      description: '',
      sensitive: true,
      parameters: [{ name: 'sub', type: 'string' }],
      operation: { kind: 'resourceAction', resourceId: '/subscriptions/{sub}/resourceGroups/apps/providers/Microsoft.Web/sites/api', action: 'restart', apiVersion: 'v' },
    };
    const op = resolveOperation(command, { sub: other }, { subscriptionId: SUB, requestId: 'CS-1', loadTemplate: () => ({}) });
    assert.equal(targetOf(op).subscriptionId, other);
  });

  it('is the subscription for subscription-wide queries', () => {
    assert.deepEqual(targetOf({ kind: 'listResourceGroups', subscriptionId: SUB }), { subscriptionId: SUB });
  });
});
