/**
 * The risk band a request gets when its command states none: destroying is riskier than changing, and
 * production, named by a parameter value or by the resource group the target lives in, raises it.
 */
import assert from 'node:assert/strict';
import type { ChangeOperation } from '../../src/domain/operation';
import { defaultRisk, environmentOf, operationEnvironment } from '../../src/domain/risk';

const SUB = '00000000-0000-4000-8000-00000000abcd';
const idIn = (group: string, type: string, name: string) => `/subscriptions/${SUB}/resourceGroups/${group}/providers/${type}/${name}`;

const restartIn = (group: string): ChangeOperation => ({
  kind: 'resourceAction',
  subscriptionId: SUB,
  resourceId: idIn(group, 'Microsoft.Web/sites', 'api-service'),
  action: 'restart',
  apiVersion: '2023-12-01',
});
const scaleIn = (group: string): ChangeOperation => ({
  kind: 'scaleResource',
  subscriptionId: SUB,
  resourceId: idIn(group, 'Microsoft.Web/serverfarms', 'api-service-plan'),
  capacity: 4,
  apiVersion: '2023-12-01',
});
const deleteIn = (group: string): ChangeOperation => ({
  kind: 'deleteResource',
  subscriptionId: SUB,
  resourceId: idIn(group, 'Microsoft.Compute/virtualMachines', 'vm-web-01'),
  apiVersion: '2024-07-01',
});

describe('the default risk of a change', () => {
  it('raises a restart, a scale and a delete in a production resource group named only in the resource id', () => {
    assert.equal(defaultRisk(restartIn('production-api-service'), { action: 'restart', app: 'api-service' }), 'high');
    assert.equal(defaultRisk(scaleIn('production-api-service'), { capacity: '4' }), 'high');
    assert.equal(defaultRisk(deleteIn('production-vm'), { vm: 'vm-web-01' }), 'critical');
    assert.equal(defaultRisk(deleteIn('rg-prod'), { vm: 'vm-web-01' }), 'critical');
  });

  it('keeps them one band lower outside production', () => {
    assert.equal(defaultRisk(restartIn('staging-api-service'), { action: 'restart', app: 'api-service' }), 'medium');
    assert.equal(defaultRisk(scaleIn('staging-api-service'), { capacity: '4' }), 'medium');
    assert.equal(defaultRisk(deleteIn('staging-vm'), { vm: 'vm-web-01' }), 'high');
    // "prod" must be a word of the group's name, not any substring of it.
    assert.equal(defaultRisk(deleteIn('products-vm'), { vm: 'vm-web-01' }), 'high');
  });

  it('raises them when a parameter value names production, whatever the group', () => {
    assert.equal(defaultRisk(restartIn('apps'), { environment: 'prod', app: 'api-service' }), 'high');
    assert.equal(defaultRisk(deleteIn('apps'), { environment: 'live', vm: 'vm-web-01' }), 'critical');
  });
});

describe('environmentOf: the one word the risk band and the card say of where a request runs', () => {
  it('says production by the same rule as the risk, and the risk agrees', () => {
    assert.equal(environmentOf({ environment: 'LIVE' }), 'production');
    assert.equal(environmentOf({}, 'rg-prod-web'), 'production');
    assert.equal(defaultRisk(restartIn('rg-prod-web'), {}), 'high');
  });

  it('does not read `live` in a group name as production, nor as an environment of its own', () => {
    assert.equal(environmentOf({}, 'rg-live-video'), undefined);
    assert.equal(defaultRisk(restartIn('rg-live-video'), {}), 'medium');
  });

  it('takes another environment from the group only, never from what the requester typed', () => {
    assert.equal(environmentOf({ tag: 'dev' }, 'staging-old'), 'staging');
    // A tag's value, a resource's name: typed, and not where it runs.
    assert.equal(environmentOf({ group: 'corebank', environment: 'staging', owner: 'alice' }, 'corebank'), undefined);
    assert.equal(environmentOf({ group: 'corebanking-data', account: 'test' }, 'corebanking-data'), undefined);
    assert.equal(environmentOf({ environment: 'staging' }, 'rg-live-video'), undefined);
    assert.equal(environmentOf({ environment: 'QA' }), undefined);
    assert.equal(environmentOf({ app: 'api-service' }, 'apps'), undefined);
    // Production is still said from a value: erring that way warns, it does not reassure.
    assert.equal(environmentOf({ tag: 'prod' }, 'corebank'), 'production');
  });
});

describe('the environment a subscription is configured as (azure.environments)', () => {
  const OTHER = '11111111-0000-4000-8000-00000000abcd';
  const environments = new Map([[SUB, 'production'], [OTHER, 'staging']]);
  const inOther = (op: ChangeOperation): ChangeOperation => ({ ...op, resourceId: (op as { resourceId: string }).resourceId.replace(SUB, OTHER.toUpperCase()) }) as ChangeOperation;

  it('says production of a group whose name says nothing, when its subscription is production, and raises the risk', () => {
    assert.equal(operationEnvironment(deleteIn('rg-app'), {}, environments), 'production');
    assert.equal(defaultRisk(deleteIn('rg-app'), {}, environments), 'critical');
    assert.equal(defaultRisk(restartIn('rg-app'), {}, environments), 'high');
    // The same name without the block: nothing known, as before.
    assert.equal(operationEnvironment(deleteIn('rg-app'), {}), undefined);
    assert.equal(defaultRisk(deleteIn('rg-app'), {}), 'high');
  });

  it('takes the subscription a resource id names (in any case), not the configured one', () => {
    assert.equal(operationEnvironment(inOther(deleteIn('rg-app')), {}, environments), 'staging');
    assert.equal(defaultRisk(inOther(deleteIn('rg-app')), {}, environments), 'high');
    const group: ChangeOperation = { kind: 'deleteResourceGroup', subscriptionId: OTHER, resourceGroup: 'rg-app' };
    assert.equal(operationEnvironment(group, {}, environments), 'staging');
  });

  it('says production when either the subscription or a name says it; otherwise the subscription beats a name', () => {
    // A group named production in a subscription listed as staging: the safer word wins.
    assert.equal(operationEnvironment(inOther(deleteIn('rg-prod-app')), {}, environments), 'production');
    assert.equal(defaultRisk(inOther(deleteIn('rg-prod-app')), {}, environments), 'critical');
    // A group named staging in the production subscription: production.
    assert.equal(operationEnvironment(deleteIn('staging-app'), {}, environments), 'production');
    // A group named dev in the staging subscription: what the operator wrote, staging.
    assert.equal(operationEnvironment(inOther(deleteIn('dev-app')), {}, environments), 'staging');
    // A subscription not listed: the names alone, as without the block.
    const unlisted = new Map([['22222222-0000-4000-8000-00000000abcd', 'production']]);
    assert.equal(operationEnvironment(deleteIn('staging-app'), {}, unlisted), 'staging');
    assert.equal(environmentOf({}, 'rg-app', 'uat'), 'uat');
  });
});
