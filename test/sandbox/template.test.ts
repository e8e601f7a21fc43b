import assert from 'node:assert/strict';
import { ArmHttpError } from '../../src/sandbox/http';
import { planDeployment } from '../../src/sandbox/template/plan';

const scope = {
  subscriptionId: 'sub-1',
  tenantId: 'tenant-1',
  resourceGroup: { id: '/subscriptions/sub-1/resourceGroups/rg-app', name: 'rg-app', location: 'westeurope', tags: { env: 'prod' } },
};

function site(name: unknown, extra: Record<string, unknown> = {}) {
  return { type: 'Microsoft.Web/sites', apiVersion: '2023-12-01', name, ...extra };
}

function refusal(fn: () => unknown): ArmHttpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ArmHttpError) return e;
    throw e;
  }
  assert.fail('expected ARM to refuse the template');
}

describe('ARM sandbox: the template language subset', () => {
  it('evaluates parameters, variables, resourceGroup(), concat, format, resourceId inside strings, objects and arrays', () => {
    const plan = planDeployment(
      {
        parameters: { app: { type: 'string' }, instances: { type: 'int', defaultValue: 2 } },
        variables: { planName: "[concat(parameters('app'), '-plan')]", labels: ['a', "[variables('planName')]"] },
        resources: [
          site("[parameters('app')]", {
            location: '[resourceGroup().location]',
            tags: { group: '[resourceGroup().name]', env: "[resourceGroup().tags.env]", literal: '[[not an expression]' },
            properties: {
              serverFarmId: "[resourceId('Microsoft.Web/serverfarms', variables('planName'))]",
              elsewhere: "[resourceId('other-rg', 'Microsoft.Web/serverfarms', 'p')]",
              otherSub: "[resourceId('sub-2', 'rg-2', 'Microsoft.Web/sites/slots', 'a', 'staging')]",
              note: "[format('{0} runs {1} instance(s) {{braces}}', parameters('app'), parameters('instances'))]",
              labels: "[variables('labels')]",
              second: "[variables('labels')[1]]",
              lower: "[toLower('MiXeD')]",
            },
          }),
        ],
        outputs: { host: { type: 'string', value: "[concat(parameters('app'), '.azurewebsites.net')]" } },
      },
      { app: { value: 'shop' } },
      scope,
    );
    const [r] = plan.resources;
    assert.equal(r.id, '/subscriptions/sub-1/resourceGroups/rg-app/providers/Microsoft.Web/sites/shop');
    assert.equal(r.location, 'westeurope');
    assert.deepEqual(r.tags, { group: 'rg-app', env: 'prod', literal: '[not an expression]' });
    assert.deepEqual(r.properties, {
      serverFarmId: '/subscriptions/sub-1/resourceGroups/rg-app/providers/Microsoft.Web/serverfarms/shop-plan',
      elsewhere: '/subscriptions/sub-1/resourceGroups/other-rg/providers/Microsoft.Web/serverfarms/p',
      otherSub: '/subscriptions/sub-2/resourceGroups/rg-2/providers/Microsoft.Web/sites/a/slots/staging',
      note: 'shop runs 2 instance(s) {braces}',
      labels: ['a', 'shop-plan'],
      second: 'shop-plan',
      lower: 'mixed',
    });
    assert.deepEqual(plan.outputs, { host: { type: 'String', value: 'shop.azurewebsites.net' } });
  });

  it('makes uniqueString deterministic: 13 lower-case characters, same inputs same result', () => {
    const name = (rg: string) =>
      planDeployment({ resources: [site("[concat('app', uniqueString(resourceGroup().id))]")] }, {}, { ...scope, resourceGroup: { ...scope.resourceGroup, id: rg } })
        .resources[0].name;
    assert.match(name('/a'), /^app[a-z2-7]{13}$/);
    assert.equal(name('/a'), name('/a'));
    assert.notEqual(name('/a'), name('/b'));
  });

  it('refuses an unknown function with InvalidTemplate naming it', () => {
    const e = refusal(() => planDeployment({ resources: [site("[reference('x').name]")] }, {}, scope));
    assert.equal(e.status, 400);
    assert.equal(e.error.code, 'InvalidTemplate');
    assert.match(e.error.message, /The template function 'reference' is not valid/);
  });

  it('checks parameters as ARM does: missing, undeclared, wrong type, not allowed, out of range', () => {
    const template = {
      parameters: {
        tier: { type: 'string', allowedValues: ['Basic', 'Premium'] },
        count: { type: 'int', defaultValue: 1, minValue: 1, maxValue: 3 },
      },
      resources: [site('a')],
    };
    assert.match(refusal(() => planDeployment(template, {}, scope)).error.message, /template parameter 'tier' .* is not provided/);
    assert.match(refusal(() => planDeployment(template, { tier: { value: 'Basic' }, extra: { value: 1 } }, scope)).error.message, /'extra' in the parameters file are not valid/);
    assert.match(refusal(() => planDeployment(template, { tier: { value: 'Basic' }, count: { value: '2' } }, scope)).error.message, /Expected 'Integer'\. Actual 'String'/);
    assert.match(refusal(() => planDeployment(template, { tier: { value: 'Gold' } }, scope)).error.message, /not part of the allowed value\(s\): 'Basic,Premium'/);
    assert.match(refusal(() => planDeployment(template, { tier: { value: 'Basic' }, count: { value: 4 } }, scope)).error.message, /must be at most 3/);
    assert.equal(planDeployment(template, { tier: { value: 'Basic' } }, scope).resources.length, 1);
  });

  it('orders resources by dependsOn and refuses unknown or circular dependencies', () => {
    const plan = planDeployment(
      {
        resources: [
          site('web', { dependsOn: ["[resourceId('Microsoft.Web/serverfarms', 'plan')]"] }),
          { type: 'Microsoft.Web/serverfarms', apiVersion: '2023-12-01', name: 'plan' },
        ],
      },
      {},
      scope,
    );
    assert.deepEqual(plan.resources.map((r) => r.name), ['plan', 'web']);
    assert.match(refusal(() => planDeployment({ resources: [site('web', { dependsOn: ['nowhere'] })] }, {}, scope)).error.message, /'nowhere' is not defined/);
    const cycle = { resources: [site('a', { dependsOn: ['b'] }), site('b', { dependsOn: ['a'] })] };
    assert.match(refusal(() => planDeployment(cycle, {}, scope)).error.message, /Circular dependency/);
  });

  it('skips a resource whose condition is false', () => {
    const plan = planDeployment({ parameters: { on: { type: 'bool' } }, resources: [site('a', { condition: "[parameters('on')]" })] }, { on: { value: false } }, scope);
    assert.deepEqual(plan.resources, []);
  });

  it('refuses what the sandbox does not emulate instead of ignoring it', () => {
    assert.match(refusal(() => planDeployment({ resources: [site('a', { copy: { name: 'c', count: 2 } })] }, {}, scope)).error.message, /uses 'copy'/);
    assert.match(refusal(() => planDeployment({ resources: { a: site('a') } }, {}, scope)).error.message, /symbolic-name templates/);
    assert.match(refusal(() => planDeployment({ resources: [site('a/b')] }, {}, scope)).error.message, /incorrect segment lengths/);
  });
});
