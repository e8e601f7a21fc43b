import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { declarationBody, readParams, withoutComments } from './bicep-text';

const deployDir = path.resolve(__dirname, '../../deploy');
const read = (file: string): string => fs.readFileSync(path.join(deployDir, file), 'utf8');
const main = read('main.bicep');
const roleModule = read('modules/operator-role.bicep');
const assignmentModule = read('modules/operator-role-assignment.bicep');
const roleFile = JSON.parse(read('role-actions.json')) as Record<string, unknown>;

describe('deploy/role-actions.json and the operator role', () => {
  const actions = roleFile.actions as string[];

  it('is exactly {"actions": [...]} with sorted, unique operation names', () => {
    assert.deepEqual(Object.keys(roleFile), ['actions']);
    assert.ok(Array.isArray(actions) && actions.length > 0);
    assert.ok(actions.every((a) => typeof a === 'string'));
    assert.deepEqual(actions, [...actions].sort());
    assert.equal(new Set(actions.map((a) => a.toLowerCase())).size, actions.length);
  });

  it('has no wildcard and grants nothing that changes access control', () => {
    for (const action of actions) {
      assert.ok(!action.includes('*'), `${action} has a wildcard`);
      assert.match(action, /^Microsoft\.\w+(\/\w+)+\/(read|write|delete|action)$/, `${action} is one operation`);
      assert.ok(!/^Microsoft\.Authorization\//i.test(action) || action.endsWith('/read'), `${action} changes access`);
    }
  });

  it('stays within the providers the example catalog operates on', () => {
    const providers = new Set(actions.map((a) => a.split('/')[0]));
    assert.deepEqual([...providers].sort(), ['Microsoft.Compute', 'Microsoft.Resources', 'Microsoft.Storage', 'Microsoft.Web']);
  });

  it('is the role definition\'s only source of actions', () => {
    assert.match(withoutComments(main), /^var roleActions = loadJsonContent\('role-actions\.json'\)\.actions$/m);
    assert.match(declarationBody(main, 'module', 'operatorRole'), /actions: roleActions/);
    const role = declarationBody(roleModule, 'resource', 'operatorRole');
    assert.match(role, /'Microsoft\.Authorization\/roleDefinitions@/);
    assert.match(role, /type: 'CustomRole'/);
    assert.match(role, /actions: actions\n/);
    assert.match(role, /notActions: \[\]/);
    assert.match(role, /dataActions: \[\]/);
    assert.match(role, /assignableScopes: \[\s*assignableScope\s*\]/);
  });

  it('assigns the custom role, and only it, to the managed identity at the chosen scope', () => {
    const operatorRole = declarationBody(main, 'module', 'operatorRole');
    assert.match(operatorRole, /scope: subscription\(\)/);
    assert.match(operatorRole, /principalId: identity\.properties\.principalId/);
    assert.match(operatorRole, /assignableScope: roleScopeId/);
    assert.match(operatorRole, /assignAtSubscription: manageWholeSubscription/);
    const groupAssignment = declarationBody(main, 'module', 'operatorRoleAssignment');
    assert.match(groupAssignment, /= if \(!manageWholeSubscription\)/);
    assert.match(groupAssignment, /roleDefinitionId: operatorRole\.outputs\.roleDefinitionId/);
    assert.match(groupAssignment, /principalId: identity\.properties\.principalId/);
    assert.match(withoutComments(main), /^param roleAssignmentScope string = 'resourceGroup'$/m);
    for (const [source, symbol] of [
      [roleModule, 'subscriptionAssignment'],
      [assignmentModule, 'groupAssignment'],
    ] as const) {
      const body = declarationBody(source, 'resource', symbol);
      assert.match(body, /'Microsoft\.Authorization\/roleAssignments@/);
      assert.match(body, /principalType: 'ServicePrincipal'/);
    }
    // No built-in role (Owner, Contributor, User Access Administrator...) is referenced anywhere.
    for (const source of [main, roleModule, assignmentModule]) {
      assert.doesNotMatch(source, /roleDefinitions'\s*,\s*'[0-9a-f-]{36}'/);
    }
  });
});

describe('deploy/main.parameters.json', () => {
  const file = JSON.parse(read('main.parameters.json')) as { parameters: Record<string, { value: unknown }> };
  const params = readParams(main);

  it('sets every parameter of main.bicep except the secrets, and nothing else', () => {
    const expected = params.filter((p) => !p.decorators.includes('@secure()')).map((p) => p.name);
    assert.deepEqual(Object.keys(file.parameters).sort(), [...expected].sort());
    assert.ok(params.length >= 10, `read ${params.length} params`);
  });

  it('never holds a secure parameter', () => {
    const secure = params.filter((p) => p.decorators.includes('@secure()')).map((p) => p.name);
    assert.deepEqual(secure.sort(), ['postgresAdminPassword', 'singleTenantAppPassword']);
    for (const name of secure) assert.ok(!(name in file.parameters), `${name} must be passed on the command line`);
  });

  it('gives each parameter a value of its declared type and allowed set', () => {
    const jsonType: Record<string, string> = { string: 'string', bool: 'boolean', int: 'number', object: 'object', array: 'object' };
    for (const param of params.filter((p) => p.name in file.parameters)) {
      const { value } = file.parameters[param.name];
      assert.equal(typeof value, jsonType[param.type], `${param.name} is a ${param.type}`);
      const allowed = param.decorators.find((d) => d.startsWith('@allowed('));
      if (allowed) {
        const choices = [...allowed.matchAll(/'([^']*)'/g)].map((m) => m[1]);
        assert.ok(choices.includes(value as string), `${param.name}=${String(value)} is one of ${choices.join(', ')}`);
      }
    }
  });

  it('names a target resource group when the role is scoped to one', () => {
    if (file.parameters.roleAssignmentScope.value === 'resourceGroup') {
      assert.match(String(file.parameters.targetResourceGroupName.value), /^[\w.()-]{1,90}$/);
    }
  });
});
