/**
 * `azure.environments`: which environment each subscription is, for the risk band and the card's
 * "in PRODUCTION" where group names say nothing. Refused at load, at its line: a subscription that
 * is no GUID, one listed in two environments (which would the card say?), a name cards cannot say
 * or one that reads as production under another name.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { unlistedSubscriptionWarnings } from '../../src/config/environments';
import { parseConfig } from '../../src/config/load';
import { fixture, lineIn, POLICY_FILE, problemsOf } from './fixtures';

const BASE = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
const PROD = '00000000-0000-4000-8000-00000000abcd';
const TEST = '11111111-0000-4000-8000-00000000abcd';

/** valid-minimal.yaml with an `azure` block holding these `environments` lines. */
function withEnvironments(lines: string[]): string {
  return BASE.replace('roles:\n', ['azure:', `  subscriptionId: ${PROD}`, '  environments:', ...lines.map((l) => `    ${l}`), 'roles:', ''].join('\n'));
}

describe('config: azure.environments (each subscription\'s environment)', () => {
  it('loads each listed subscription, in lower case (ARM writes ids in either case), with its environment', () => {
    const config = parseConfig(withEnvironments(['production:', `  - ${PROD.toUpperCase()}`, `staging: [${TEST}]`]), POLICY_FILE);
    assert.deepEqual([...config.subscriptionEnvironments], [[PROD, 'production'], [TEST, 'staging']]);
    assert.equal(parseConfig(BASE, POLICY_FILE).subscriptionEnvironments.size, 0, 'no block: no subscription has an environment');
  });

  it('refuses a subscription listed under two environments, naming it and both, at the second', () => {
    const text = withEnvironments([`production: [${PROD}]`, 'staging:', `  - ${TEST}`, `  - ${PROD.toUpperCase()}`]);
    assert.deepEqual(problemsOf(text), [
      {
        key: 'azure.environments.staging[1]',
        line: lineIn(text, `- ${PROD.toUpperCase()}`),
        problem: `subscription ${PROD.toUpperCase()} is listed under both production and staging: a subscription is in one environment; remove it from the one it is not`,
      },
    ]);
  });

  it('refuses a subscription listed twice under one environment', () => {
    const text = withEnvironments(['production:', `  - ${PROD}`, `  - ${PROD}`]);
    assert.deepEqual(problemsOf(text).map((p) => [p.key, p.problem]), [['azure.environments.production[1]', `subscription ${PROD} is listed twice under production`]]);
  });

  it('refuses a subscription that is not a GUID, saying what one looks like', () => {
    const text = withEnvironments(['production:', '  - corebank-prod']);
    assert.deepEqual(problemsOf(text), [
      { key: 'azure.environments.production[0]', line: lineIn(text, '- corebank-prod'), problem: 'must be a subscription id (a GUID) such as 00000000-0000-4000-8000-00000000abcd, listed under the environment it is' },
    ]);
  });

  it('refuses an empty list, and an environment name a card cannot say', () => {
    assert.deepEqual(problemsOf(withEnvironments(['production: []'])).map((p) => [p.key, p.problem]), [['azure.environments.production', 'lists no subscription: list at least one, or leave the environment out']]);
    const none = BASE.replace('roles:\n', 'azure:\n  environments: {}\nroles:\n');
    assert.deepEqual(problemsOf(none).map((p) => [p.key, p.problem]), [['azure.environments', 'names no environment: list subscriptions under production, staging, ..., or leave environments out']]);
    const text = withEnvironments([`Pre Prod: [${TEST}]`]);
    assert.deepEqual(problemsOf(text), [
      { key: 'azure.environments.Pre Prod', line: lineIn(text, `Pre Prod: [${TEST}]`), problem: 'environment "Pre Prod" must be a lower-case name of at most 30 characters (letters, digits, -), such as production or staging: cards say it' },
    ]);
  });

  it('refuses another name for production (prod, live, prod-eu), which would split it or show it at a lower risk', () => {
    for (const name of ['prod', 'live', 'prd', 'prod-eu']) {
      const problems = problemsOf(withEnvironments([`${name}: [${PROD}]`]));
      assert.equal(problems.length, 1, name);
      assert.equal(problems[0].key, `azure.environments.${name}`);
      assert.match(problems[0].problem, new RegExp(`^environment "${name}" reads as production: name it production`));
    }
    // A word that only contains prod is another environment.
    assert.equal(parseConfig(withEnvironments([`preprod: [${TEST}]`]), POLICY_FILE).subscriptionEnvironments.get(TEST), 'preprod');
  });

  it('loads the commented example in the shipped config once uncommented', () => {
    const file = path.resolve(__dirname, '../../config/countersign.example.yaml');
    const example = fs.readFileSync(file, 'utf8');
    const block = /^ {2}# environments:\n(?: {2}# {3}.*\n)+/m.exec(example);
    assert.ok(block, 'config/countersign.example.yaml shows azure.environments, commented');
    const config = parseConfig(example.replace(block[0], block[0].replace(/^ {2}# /gm, '  ')), file);
    assert.deepEqual([...config.subscriptionEnvironments.values()], ['production', 'staging']);
  });

  it('warns of a subscription Countersign acts in that the environments leave out: the configured one, one a command names, an enum parameter\'s', () => {
    const OTHER = '22222222-0000-4000-8000-00000000abcd';
    const EXTRA = '33333333-0000-4000-8000-00000000abcd';
    const scoped = [
      '  - name: tag there',
      '    description: Tag a group in a named subscription',
      '    parameters:',
      '      - name: sub',
      `        allowed: [${TEST}, ${EXTRA}]`,
      '      - name: group',
      '        pattern: "^[a-z0-9-]+$"',
      '    operation:',
      '      kind: setTags',
      '      scope: /subscriptions/{sub}/resourceGroups/{group}',
      '      tags: { owner: platform }',
      '      operation: Merge',
      '    policy:',
      '      approverRoles: [approvers]',
      '  - name: tag fixed',
      '    description: Tag a group in one subscription',
      '    parameters:',
      '      - name: group',
      '        pattern: "^[a-z0-9-]+$"',
      '    operation:',
      '      kind: setTags',
      `      scope: /subscriptions/${OTHER.toUpperCase()}/resourceGroups/{group}`,
      '      tags: { owner: platform }',
      '      operation: Merge',
      '    policy:',
      '      approverRoles: [approvers]',
      '',
    ].join('\n');
    const text = withEnvironments([`staging: [${TEST}]`]).replace('commands:\n', `commands:\n${scoped}`);
    const config = parseConfig(text, POLICY_FILE);
    const warned = unlistedSubscriptionWarnings(config.subscriptionEnvironments, config.azure.subscriptionId, config.catalog.commands);
    assert.deepEqual(warned, [
      { subscription: PROD, problem: `subscription ${PROD} (azure.subscriptionId) is in none of azure.environments (staging): its requests get no environment but what their names say, so were it production they would read as lower risk; list it under its environment in azure.environments` },
      { subscription: EXTRA, problem: `subscription ${EXTRA} (a value of sub in the scope of command "tag there") is in none of azure.environments (staging): its requests get no environment but what their names say, so were it production they would read as lower risk; list it under its environment in azure.environments` },
      { subscription: OTHER.toUpperCase(), problem: `subscription ${OTHER.toUpperCase()} (the scope of command "tag fixed") is in none of azure.environments (staging): its requests get no environment but what their names say, so were it production they would read as lower risk; list it under its environment in azure.environments` },
    ]);
    // Every one listed (in any case): nothing to say; no environments at all: nothing either.
    const all = parseConfig(withEnvironments([`production: [${PROD}, ${OTHER}]`, `staging: [${TEST}, ${EXTRA.toUpperCase()}]`]).replace('commands:\n', `commands:\n${scoped}`), POLICY_FILE);
    assert.deepEqual(unlistedSubscriptionWarnings(all.subscriptionEnvironments, all.azure.subscriptionId, all.catalog.commands), []);
    const none = parseConfig(BASE.replace('commands:\n', `commands:\n${scoped}`), POLICY_FILE);
    assert.deepEqual(unlistedSubscriptionWarnings(none.subscriptionEnvironments, none.azure.subscriptionId, none.catalog.commands), []);
    // The sandbox (no subscription configured) is no subscription to list.
    const sandbox = parseConfig(BASE.replace('roles:\n', ['azure:', '  subscriptionId: ""', '  environments:', `    staging: [${TEST}]`, 'roles:', ''].join('\n')), POLICY_FILE);
    assert.deepEqual(unlistedSubscriptionWarnings(sandbox.subscriptionEnvironments, sandbox.azure.subscriptionId, sandbox.catalog.commands), []);
  });
});
