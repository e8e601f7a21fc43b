/**
 * Values Azure takes only a few of, checked when the config loads: a wrong one would otherwise be
 * asked for and approved, then refused by Azure. And parameter bounds no value can meet.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load';
import { resolveOperation } from '../../src/domain/catalog';
import { configWith, lineIn, problemsOf, POLICY_FILE as FILE } from './fixtures';

/** valid-minimal.yaml with the "deploy app" command's operation given `extra` lines, and its parameter list replaced when `parameters` is given. */
function deployWith(extra: string[], parameters?: string[]): string {
  let text = configWith([]).replace('      template: templates/app.json\n', ['      template: templates/app.json', ...extra.map((l) => `      ${l}`), ''].join('\n'));
  if (parameters) text = text.replace('      - name: environment\n        allowed: [production, staging]\n', ['      - name: environment', '        allowed: [production, staging]', ...parameters.map((l) => `      ${l}`), ''].join('\n'));
  return text;
}

/** A config with a third command: `kind` with the given operation lines and parameters. */
function commandWith(kind: string, operation: string[], parameters: string[] = []): string {
  return configWith([]).replace(
    '  - name: groups\n',
    [
      '  - name: extra',
      '    description: extra',
      ...(parameters.length ? ['    parameters:', ...parameters.map((l) => `      ${l}`)] : []),
      '    operation:',
      `      kind: ${kind}`,
      ...operation.map((l) => `      ${l}`),
      '    policy:',
      '      approverRoles: [approvers]',
      '  - name: groups',
      '',
    ].join('\n'),
  );
}

const SITE = '/subscriptions/{subscriptionId}/resourceGroups/rg/providers/Microsoft.Web/serverfarms/plan';

describe('config: operation values Azure takes few of, and parameter bounds', () => {
  it('refuses a deployment mode Azure does not have, naming the ones it does', () => {
    const [p] = problemsOf(deployWith(['mode: Full']));
    assert.equal(p.key, 'commands[1].operation.mode');
    assert.match(p.problem, /^mode must be one of Incremental, Complete, got "Full"$/);
    assert.match(problemsOf(deployWith(['mode: incremental']))[0].problem, /^mode must be one of Incremental, Complete \(write Incremental: the case counts\), got "incremental"$/);
    assert.equal(parseConfig(deployWith(['mode: Complete']), FILE).catalog.find('deploy app')?.operation.mode, 'Complete');
  });

  it('takes a mode from an enum parameter only when every one of its values is a mode', () => {
    const ok = deployWith(['mode: "{how}"'], ['- name: how', '  allowed: [Incremental, Complete]']);
    assert.ok(parseConfig(ok, FILE));
    const [wrong] = problemsOf(deployWith(['mode: "{how}"'], ['- name: how', '  allowed: [Incremental, Full]']));
    assert.match(wrong.problem, /^mode \{how\} can be Full, which Azure does not take/);
    const [free] = problemsOf(deployWith(['mode: "{how}"'], ['- name: how']));
    assert.match(free.problem, /^mode \{how\} must come from an enum parameter .*; how is string$/);
  });

  it('refuses a tag operation Azure does not have', () => {
    const text = commandWith('setTags', ['scope: /subscriptions/{subscriptionId}/resourceGroups/rg', 'tags: { owner: me }', 'operation: Merj']);
    const [p] = problemsOf(text);
    assert.equal(p.key, 'commands[2].operation.operation');
    assert.match(p.problem, /^operation must be one of Merge, Replace, Delete \(did you mean Merge\?\), got "Merj"$/);
  });

  it('refuses a resource id or tag scope whose subscription a requester could name freely: only {subscriptionId} or an enum parameter', () => {
    const action = (id: string, parameters: string[]) => commandWith('resourceAction', [`resourceId: ${id}`, 'action: restart', 'apiVersion: "2023-12-01"'], parameters);
    const [free] = problemsOf(action('/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Web/sites/app', ['- name: sub', '  pattern: "^[0-9a-f-]{36}$"']));
    assert.equal(free.key, 'commands[2].operation.resourceId');
    assert.match(free.problem, /^the subscription of resourceId comes from parameter \{sub\}, which a requester may give any value \(another subscription the bot can reach\): write \{subscriptionId\}, or make sub an enum of the subscriptions allowed$/);
    const [scope] = problemsOf(commandWith('setTags', ['scope: /Subscriptions/x{sub}/resourceGroups/rg', 'tags: { owner: me }'], ['- name: sub']));
    assert.equal(scope.key, 'commands[2].operation.scope');
    // The subscriptions listed in the config (an enum), or the configured one, are the config author's.
    assert.ok(parseConfig(action('/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Web/sites/app', ['- name: sub', '  allowed: [00000000-0000-4000-8000-00000000abcd, 11111111-2222-4333-8444-555555555555]']), FILE));
    assert.ok(parseConfig(action('/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/Microsoft.Web/sites/app', ['- name: rg']), FILE));
  });

  it('takes a capacity written as a whole number or filled from an integer parameter alone', () => {
    assert.ok(parseConfig(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: 3', 'apiVersion: "2023-12-01"']), FILE));
    assert.ok(parseConfig(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}"', 'apiVersion: "2023-12-01"'], ['- name: c', '  type: integer', '  min: 1', '  max: 10']), FILE));
    const [suffix] = problemsOf(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}x"', 'apiVersion: "2023-12-01"'], ['- name: c', '  type: integer']));
    assert.equal(suffix.key, 'commands[2].operation.capacity');
    assert.match(suffix.problem, /^capacity must be a whole number \(3\) or the placeholder of a parameter alone \(\{count\}\), got "\{c\}x"$/);
    const [sizes] = problemsOf(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}"', 'apiVersion: "2023-12-01"'], ['- name: c', '  allowed: [small, large]']));
    assert.match(sizes.problem, /\(c can be small, large\)$/);
    assert.match(problemsOf(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: 2.5', 'apiVersion: "2023-12-01"']))[0].problem, /got 2\.5$/);
    // As before: the number written as text, and a string parameter (a pattern may allow digits only).
    assert.ok(parseConfig(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "3"', 'apiVersion: "2023-12-01"']), FILE));
    const digits = parseConfig(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}"', 'apiVersion: "2023-12-01"'], ['- name: c', '  pattern: "^[0-9]+$"']), FILE);
    const command = digits.catalog.find('extra')!;
    const ctx = { subscriptionId: '00000000-0000-0000-0000-000000000001', requestId: 'CS-1', loadTemplate: () => ({}) };
    assert.equal((resolveOperation(command, { c: '4' }, ctx) as { capacity: number }).capacity, 4);
    // A value that is not a whole number is refused when the request is prepared, before any approval.
    const loose = parseConfig(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}"', 'apiVersion: "2023-12-01"'], ['- name: c']), FILE).catalog.find('extra')!;
    assert.throws(() => resolveOperation(loose, { c: 'lots' }, ctx), /^Error: capacity must be a whole number, got "lots"$/);
  });

  it('refuses an integer parameter whose min is above its max, and bounds on a parameter that is not an integer', () => {
    const [p] = problemsOf(commandWith('scaleResource', [`resourceId: ${SITE}`, 'capacity: "{c}"', 'apiVersion: "2023-12-01"'], ['- name: c', '  type: integer', '  min: 5', '  max: 1']));
    assert.equal(p.key, 'commands[2].parameters[0].min');
    assert.match(p.problem, /^parameter c must be at least 5 and at most 1: no value is both, so the command could never be asked for$/);
    const [q] = problemsOf(deployWith([], ['- name: size', '  min: 1']));
    assert.match(q.problem, /^min and max apply to an integer parameter; size is string/);
  });

  it('refuses a restriction its type does not apply (allowed on a string, a pattern on an integer or enum), and a parameter named as a built-in placeholder', () => {
    const site = [`resourceId: ${SITE}`, 'capacity: 2', 'apiVersion: "2023-12-01"'];
    const [allowed] = problemsOf(commandWith('scaleResource', site, ['- name: group', '  type: string', '  allowed: [rg-staging]']));
    assert.equal(allowed.key, 'commands[2].parameters[0].allowed');
    assert.match(allowed.problem, /^allowed applies to an enum parameter; group is string, so its values would not be held to the list/);
    const [pattern] = problemsOf(commandWith('scaleResource', site, ['- name: n', '  type: integer', '  pattern: "^[1-3]$"']));
    assert.equal(pattern.key, 'commands[2].parameters[0].pattern');
    assert.match(pattern.problem, /^pattern applies to a string parameter; n is integer, so the pattern would never be run \(use min and max/);
    assert.match(problemsOf(commandWith('scaleResource', site, ['- name: e', '  allowed: [a, b]', '  pattern: "^a$"']))[0].problem, /^pattern applies to a string parameter; e is enum/);
    for (const name of ['requestId', 'subscriptionId']) {
      const [named] = problemsOf(commandWith('scaleResource', site, [`- name: ${name}`]));
      assert.equal(named.key, 'commands[2].parameters[0].name');
      assert.match(named.problem, new RegExp(`^a parameter cannot be named ${name}: \\{${name}\\} in an operation is Countersign's own`));
    }
    // Names every object already has: the value typed for it was never found (a request of the command failed its turn).
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const [named] = problemsOf(commandWith('scaleResource', site, [`- name: ${name}`]));
      assert.equal(named.key, 'commands[2].parameters[0].name', name);
      assert.match(named.problem, new RegExp(`^a parameter cannot be named ${name}: every JavaScript object has a member of that name`));
    }
  });

  it('refuses an operation field that is not a text, or tags that are not a map of texts (shown to approvers as written, refused by Azure after)', () => {
    const rg = (lines: string[]) => commandWith('createResourceGroup', lines);
    const [list] = problemsOf(rg(['resourceGroup: rg-x', 'location: [westeurope]']));
    assert.deepEqual([list.key, list.problem], ['commands[2].operation.location', 'location must be a text that is not empty (a name, an id, or a {parameter}), got ["westeurope"]']);
    assert.match(problemsOf(rg(['resourceGroup: 5', 'location: westeurope']))[0].problem, /^resourceGroup must be a text that is not empty .*got 5$/);
    assert.match(problemsOf(rg(['resourceGroup: rg-x', 'location: ""']))[0].problem, /^location must be a text that is not empty/);
    assert.match(problemsOf(rg(['resourceGroup: rg-x', 'location: westeurope', 'tags: [owner, team]']))[0].problem, /^tags must be a map of names to texts/);
    const [value] = problemsOf(rg(['resourceGroup: rg-x', 'location: westeurope', 'tags: { cost: 5 }']));
    assert.deepEqual([value.key, value.problem], ['commands[2].operation.tags.cost', 'a tag\'s value must be a text (quote it: "5"), got 5']);
  });

  it("refuses a template's parameters that are not a map (a list was sent to ARM as parameters \"0\", \"1\", ... after approval)", () => {
    for (const kind of ['deployTemplate', 'whatIfDeployment']) {
      const deploy = (parameters: string) => commandWith(kind, ['resourceGroup: rg-x', 'template: templates/app.json', parameters]);
      const [list] = problemsOf(deploy('parameters: [environment, production]')).filter((p) => p.key.endsWith('.parameters'));
      assert.deepEqual([list.key, list.problem], ['commands[2].operation.parameters', 'parameters must be a map of the template\'s parameter names to values, e.g. { environment: "{environment}" }, got ["environment","production"]']);
      assert.match(problemsOf(deploy('parameters: "environment=production"')).find((p) => p.key.endsWith('.parameters'))!.problem, /^parameters must be a map .*got "environment=production"$/);
    }
    // A map loads, and so does the key left empty (no parameters).
    const deploy = (parameters: string) => commandWith('deployTemplate', ['resourceGroup: rg-x', 'template: templates/app.json', parameters]);
    assert.doesNotThrow(() => parseConfig(deploy('parameters: { environment: production }'), FILE));
    assert.doesNotThrow(() => parseConfig(deploy('parameters:'), FILE));
  });

  it('bounds the time to live (90d) and the checkpoint interval (24h: a timer set longer fires every millisecond)', () => {
    const [ttl] = problemsOf(configWith(['ttl: 91d']));
    assert.equal(ttl.key, 'commands[0].policy.ttl');
    assert.match(ttl.problem, /^a request may wait at most 90d for its approvals.*\(got 91d\)$/);
    assert.deepEqual(problemsOf(configWith([], ['ttl: 100000000d'])).map((p) => p.key), ['defaults.ttl']);
    assert.ok(parseConfig(configWith(['ttl: 90d']), FILE));
    const [interval] = problemsOf(configWith([]).replace('commands:\n', 'audit:\n  checkpointInterval: 30d\ncommands:\n'));
    assert.equal(interval.key, 'audit.checkpointInterval');
    assert.match(interval.problem, /^at most 24h: /);
  });

  it('refuses an apiVersion Azure does not take ("latest", a date of another shape), and one a requester could choose', () => {
    const show = (apiVersion: string, parameters: string[] = []) => commandWith('deleteResource', [`resourceId: ${SITE}`, `apiVersion: ${apiVersion}`], parameters);
    for (const wrong of ['latest', '"2024-7-1"', '"2024-13-01"', '"2024-07-00"', '"2024-07-01-rc"', '"v2024-07-01"', '"2024-07-01 "']) {
      const text = show(wrong);
      const [p] = problemsOf(text);
      assert.deepEqual([p.key, p.line], ['commands[2].operation.apiVersion', lineIn(text, `apiVersion: ${wrong}`)], wrong);
      assert.match(p.problem, /^apiVersion must be an API version of the resource's provider as Azure writes it, a date YYYY-MM-DD/);
    }
    assert.match(problemsOf(show('latest'))[0].problem, /"latest" and other words are refused by Azure after approval \(got "latest"\)$/);
    assert.match(problemsOf(show('"2023-05-01-Preview"'))[0].problem, /\(write 2023-05-01-preview: API versions are lowercase\)/);
    for (const right of ['"2024-07-01"', '2024-07-01', '"2023-05-01-preview"', '"2021-04-01-alpha"', '"2021-04-01-beta"', '"2022-09-01-privatepreview"']) {
      assert.ok(parseConfig(show(right), FILE), right);
    }
    // A placeholder: only an enum's, whose every value is an API version.
    assert.ok(parseConfig(show('"{version}"', ['- name: version', '  allowed: ["2024-07-01", "2023-05-01-preview"]']), FILE));
    const [notAll] = problemsOf(show('"{version}"', ['- name: version', '  allowed: ["2024-07-01", latest]']));
    assert.match(notAll.problem, /^apiVersion \{version\} can be "latest", which is not an API version Azure takes/);
    const [free] = problemsOf(show('"{version}"', ['- name: version']));
    assert.equal(free.problem, 'apiVersion "{version}" is filled from parameter version (string), which a requester may give any value: the API version is the one the command was written against, so write it out, such as "2024-07-01", or make apiVersion the placeholder alone of an enum parameter whose values are API versions');
    assert.match(problemsOf(show('"{requestId}"'))[0].problem, /^apiVersion "\{requestId\}" is filled from a placeholder: /);
  });

  it('refuses a deploymentName Azure cannot take whatever fills it, and one that can be too long', () => {
    const named = (deploymentName: string, parameters: string[] = []) => commandWith('deployTemplate', ['resourceGroup: rg-x', 'template: templates/app.json', `deploymentName: ${deploymentName}`], parameters);
    const problem = (text: string) => {
      const found = problemsOf(text).filter((p) => p.key === 'commands[2].operation.deploymentName');
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0].line, lineIn(text, text.split('\n').find((l) => l.trim().startsWith('deploymentName:'))!.trim()));
      return found[0].problem;
    };
    assert.equal(problem(named('"nightly release"')), 'deploymentName "nightly release" holds " ", which Azure does not take in a deployment\'s name (A-Z, a-z, 0-9, _, (, ), - and . only)');
    assert.match(problem(named('"release/{requestId}"')), /holds "\/"/);
    // Exactly A-Z, a-z, 0-9, _, (, ), - and .: a letter or digit beyond ASCII (which Azure's \w may take), or an accent alone, is refused by Countersign, by its code point.
    const beyond = (name: string, ch: string, code: string) => `deploymentName "${name}-{requestId}" holds "${ch}" (${code}), which Countersign does not take in a deployment's name (A-Z, a-z, 0-9, _, (, ), - and . only: Azure may take other letters and digits, but a name of them can look like another, Cyrillic "а" like Latin "a")`;
    for (const [name, ch, code] of [['café', 'é', 'U+00E9'], ['cafе', 'е', 'U+0435'], ['caf٣', '٣', 'U+0663'], ['cafe\u0301', '\u0301', 'U+0301']]) {
      assert.equal(problem(named(`"${name}-{requestId}"`)), beyond(name, ch, code), code);
    }
    assert.match(problem(named('"{service}-{requestId}"', ['- name: service', '  allowed: [api, "ａpi"]'])), /^deploymentName \{service\} can be "ａpi", whose "ａ" \(U\+FF41\) Countersign does not take in a deployment's name \(A-Z, a-z, 0-9/);
    assert.match(problem(named(`"${'x'.repeat(65)}"`)), /is at least 65 characters long once filled: Azure takes at most 64$/);
    assert.match(problem(named(`"${'x'.repeat(54)}-{requestId}"`)), /is at least 66 characters long once filled/);
    assert.match(problem(named('"{service}-{requestId}"', ['- name: service', '  allowed: [api, "web frontend"]'])), /^deploymentName \{service\} can be "web frontend", whose " " Azure does not take/);
    assert.match(problem(named(`"${'x'.repeat(40)}-{service}-{requestId}"`, ['- name: service', '  allowed: [api, web-frontend]'])), /can be 65 characters long once filled \(its longest values\): Azure takes at most 64$/);
    assert.match(problem(named('"release-build-{n}-{subscriptionId}"', ['- name: n', '  type: integer', '  min: 1', '  max: 999999999999999'])), /can be 66 characters long once filled/);
    // A free parameter's default is known at load: it fills the name when the requester gives none.
    assert.equal(problem(named('"release-{label}"', ['- name: label', '  default: "nightly build"'])), 'deploymentName {label} defaults to "nightly build", whose " " Azure does not take in a deployment\'s name (A-Z, a-z, 0-9, _, (, ), - and . only)');
    assert.match(problem(named('"release-{label}-{requestId}"', ['- name: label', `  default: ${'x'.repeat(45)}`])), /^deploymentName "release-\{label\}-\{requestId\}" is 65 characters long once filled with \{label\}'s default: Azure takes at most 64$/);
    // What is known fits: loads. A free parameter's value is checked when a request is prepared.
    for (const right of ['"nightly-{requestId}"', '"Release_(2.6)-{requestId}"', `"${'x'.repeat(64)}"`, '"release-{label}"']) {
      assert.ok(parseConfig(named(right, ['- name: label', '  pattern: "^[a-z0-9.]+$"']), FILE), right);
      assert.ok(parseConfig(named(right, ['- name: label', '  default: nightly.2']), FILE), right);
    }
  });

  it('says only the time to live is wrong when it is, not the reminders and escalation measured against it', () => {
    const problems = problemsOf(configWith(['ttl: 2 hours', 'reminders: { at: ["15m"] }', 'escalation: { role: leads, after: 1h }']));
    assert.deepEqual(problems.map((p) => p.key), ['commands[0].policy.ttl']);
  });
});
