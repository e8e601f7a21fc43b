import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load';
import { EXAMPLE_CONFIG } from '../support/harness';
import { assertRefused, configErrorFrom, configWith, fixture, lineIn, lineOf, POLICY_FILE, problemsOf } from './fixtures';

/** The ConfigError a config's text is refused with. */
function configErrorOf(text: string): ConfigError {
  try {
    parseConfig(text, POLICY_FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('the config loaded');
}

describe('refusing a malformed config with its file, line, key and problem', () => {
  it('reports a YAML syntax error at the line where the parser found it', () => {
    const err = configErrorFrom('yaml-syntax-error.yaml');
    const first = err.problems[0];
    assert.equal(err.file, fixture('yaml-syntax-error.yaml'));
    assert.equal(first.key, '');
    assert.equal(first.line, lineOf('yaml-syntax-error.yaml', '- name: deploy app'));
    assert.match(first.problem, /^YAML syntax: Flow sequence .* end with a \]/);
    // The line and what YAML said place it: not "(top level)", which it is not.
    assert.ok(err.message.includes(`${fixture('yaml-syntax-error.yaml')}:${first.line}: YAML syntax:`), err.message);
    assert.doesNotMatch(err.message, /top level/);
  });

  it('refuses a tag no YAML resolver knows (read as plain text, it would say otherwise than written), at its line and key', () => {
    const text = configWith(['ttl: !custom 30m']);
    const [problem] = problemsOf(text);
    assert.equal(problem.line, text.split('\n').findIndex((l) => l.includes('!custom')) + 1);
    assert.match(problem.problem, /^YAML: Unresolved tag: !custom/);
    assert.match(problem.key, /^commands\[\d+\]\.policy\.ttl$/);
    // In a list, the item it stands on.
    const [inList] = problemsOf(configWith([]).replace('approverRoles: [approvers]', 'approverRoles: [approvers, !role leads]'));
    assert.match(inList.key, /^commands\[\d+\]\.policy\.approverRoles\[1\]$/);
  });

  it('says a YAML merge key (<<) is not read, rather than to check its spelling, and that a second document is one too many', () => {
    const text = configWith(['<<: *shared']).replace('  leads:\n', '  leads: &shared\n');
    const merge = problemsOf(text).find((p) => p.key.endsWith('.<<'));
    assert.deepEqual(merge, {
      key: 'commands[0].policy.<<',
      line: lineIn(text, '<<: *shared'),
      problem: 'YAML merge keys (<<: *anchor) are not read: the config is YAML 1.2, which has none. Write the keys out, or give a whole value by its anchor (approverRoles: *approvers)',
    });
    const two = `${configWith([])}---\nversion: 1\n`;
    assert.deepEqual(problemsOf(two), [
      { key: '', line: two.split('\n').indexOf('---') + 1, problem: 'YAML syntax: the file holds more than one YAML document (this line starts another): a config is one document; merge them, or remove the --- line' },
    ]);
  });

  it('lists the first 100 problems and counts the rest, rather than looking up the line of each of 60,000 (157 s) and printing megabytes', () => {
    const text = configWith([]).replace('roles:\n', `${Array.from({ length: 3000 }, (_, i) => `extra${i}: ${i}`).join('\n')}\nroles:\n`);
    const err = configErrorOf(text);
    assert.equal(err.problems.length, 101);
    assert.deepEqual(err.problems[0], { key: 'extra0', line: lineIn(text, 'extra0: 0'), problem: 'unknown key (check the spelling against docs/configuration.md)' });
    assert.deepEqual(err.problems[100], { key: '', problem: '2,900 more problem(s), not listed: fix these and check again' });
    assert.equal(err.message.split('\n').length, 102);
    assert.match(err.message, /\(top level\): 2,900 more problem\(s\), not listed: fix these and check again$/);
  });

  it("quotes YAML's .inf and .nan as written, not as JSON's null", () => {
    const problem = (value: string) => problemsOf(configWith([`approvals: ${value}`])).find((p) => p.key.endsWith('approvals'))?.problem;
    assert.equal(problem('.inf'), 'must be a whole number from 1 to 10 (got .inf)');
    assert.equal(problem('-.inf'), 'must be a whole number from 1 to 10 (got -.inf)');
    assert.equal(problem('.nan'), 'must be a whole number from 1 to 10 (got .nan)');
  });

  it('refuses a %YAML 1.1 directive, which read 010 as 8, no as false and merged <<: keys, rather than reading the file as YAML 1.1', () => {
    const text = `# policy\n%YAML 1.1\n---\n${configWith(['approvals: 010'])}`;
    assert.deepEqual(problemsOf(text), [
      { key: '', line: 2, problem: 'YAML: the file asks for YAML 1.1 (%YAML 1.1), which reads some values otherwise (010 as 8, no as false, <<: as a merge): a config is read as YAML 1.2; remove the %YAML line and check those values' },
    ]);
    // YAML 1.2 said so is the config's own.
    assert.doesNotThrow(() => parseConfig(`%YAML 1.2\n---\n${configWith([])}`, POLICY_FILE));
  });

  it('says values nested deeper than the YAML reader goes are nested too deeply, not that a call stack overflowed', () => {
    const [problem] = problemsOf(`version: 1\nx: ${'['.repeat(3000)}${']'.repeat(3000)}\n`);
    assert.equal(problem.problem, 'YAML syntax: values nested too deeply to read (a config is a few levels deep)');
  });

  describe('anchors and aliases', () => {
    /** A config of `n` commands, the first marking its policy &policy and each other one using it. */
    const sharing = (n: number) =>
      [
        'version: 1',
        'tenants: [6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d]',
        'roles:',
        '  requesters: [11111111-1111-4111-8111-111111111111]',
        '  approvers: [22222222-2222-4222-8222-222222222222]',
        'commands:',
        ...Array.from({ length: n }, (_, i) => [
          `  - name: delete group ${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${'abcdefghijklmnopqrstuvwxyz'[Math.floor(i / 26) % 26]}`,
          '    description: Delete a resource group',
          '    parameters: [{ name: group }]',
          '    operation: { kind: deleteResourceGroup, resourceGroup: "{group}" }',
          i === 0 ? '    policy: &policy { approverRoles: [approvers], requesterRoles: [requesters] }' : '    policy: *policy',
        ]).flat(),
        '',
      ].join('\n');

    it('takes one anchor used by hundreds of commands: a catalog sharing its policy is no attack', () => {
      const config = parseConfig(sharing(300), POLICY_FILE);
      assert.equal(config.catalog.commands.length, 300);
      assert.deepEqual(config.catalog.commands[299].policy?.approverRoles, ['approvers']);
    });

    it('refuses, with the file and the reason, a value that holds itself, aliases that multiply, and too many of them', () => {
      const held = problemsOf(sharing(1).replace('roles:\n', 'roles: &roles\n  me: *roles\n'));
      assert.deepEqual(held, [{ key: '', problem: 'YAML: an alias (*name) stands inside the value its own anchor (&name) marks, so that value would hold itself without end: alias a value from outside it' }]);
      const laughs = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)];
      assert.deepEqual(problemsOf(`version: 1\n${laughs.join('\n')}\n`), [{ key: '', problem: 'YAML: its aliases (*name) expand to more than 2,000,000 values, far more than any config holds (aliases of aliases multiply): write the values out' }]);
      const many = `version: 1\nx: &x 1\ny: [${Array(10_000).fill('*x').join(', ')}]\n`;
      assert.deepEqual(problemsOf(many), [{ key: '', problem: 'YAML: the file has 10,001 anchors (&name) and aliases (*name), more than the 10,000 a config may have (each alias is looked up among all of them): write the values out' }]);
    });
  });

  it('refuses a key written as a list or a map, at its line, at once however many anchors the file has', function () {
    this.timeout(60_000);
    const text = configWith([]) + 'extra: {[a]: 1}\n';
    assert.deepEqual(problemsOf(text), [
      { key: '', line: lineIn(text, 'extra: {[a]: 1}'), problem: 'YAML: a key written as a list or a map ([a]: or {a: b}:, or an alias of one): every key of a config is a word; write it as one' },
    ]);
    const aliased = `version: 1\nk: &k [a]\nm: {*k : 1}\n`;
    assert.equal(problemsOf(aliased)[0].line, 3);
    // Each such key was turned into text going through every anchor of the file: this took seconds
    // (minutes for a whole MiB), for a file refused anyway.
    const anchors = Array.from({ length: 3000 }, (_, i) => `n${i}: &n${i} 1`).join('\n');
    const slow = `version: 1\n${anchors}\nm: {${Array.from({ length: 20_000 }, (_, i) => `[${i}]: 1`).join(', ')}}\n`;
    // No wall-clock bound is asserted (unit tests assert no timings): this case checks the answer on
    // such a file; the benchmarks are where speed is judged.
    assert.match(problemsOf(slow)[0].problem, /^YAML: a key written as a list or a map/);
  });

  it('refuses a key written twice in its map, at the second one, and reads a long map in linear time', function () {
    this.timeout(40_000);
    const text = `${configWith([])}version: 1\nextra: { a: 1, b: 2, a: 3 }\n`;
    const said = problemsOf(text);
    assert.deepEqual(said, [
      { key: 'version', line: text.split('\n').lastIndexOf('version: 1') + 1, problem: `YAML syntax: the key "version" is given twice in the same map (first on line ${text.split('\n').indexOf('version: 1') + 1}): keep one` },
      { key: 'extra.a', line: lineIn(text, 'extra: { a: 1, b: 2, a: 3 }'), problem: `YAML syntax: the key "a" is given twice in the same map (first on line ${lineIn(text, 'extra: { a: 1, b: 2, a: 3 }')}): keep one` },
    ]);
    // Deeper, the key is named by its path (a command's policy, in a list).
    const nested = configWith([]).replace(/^(\s+)approvals: (\d+)$/m, '$1approvals: $2\n$1approvals: 3');
    assert.notEqual(nested, configWith([]));
    const [deep] = problemsOf(nested);
    assert.match(deep.key, /^commands\[\d+\]\.policy\.approvals$/);
    assert.match(deep.problem, /the key "approvals" is given twice in the same map \(first on line \d+\): keep one/);
    // The YAML library compared each key with every one before it: 40,000 keys (470 KB) took 10 s.
    const long = `version: 1\nm:\n${Array.from({ length: 120_000 }, (_, i) => `  k${i}: 1`).join('\n')}\n  k7: 2\n`;
    // No wall-clock bound is asserted: at 120,000 keys the library's check (quadratic) would run for
    // minutes, past this test's timeout, where the linear one takes seconds even on a loaded machine.
    assert.deepEqual(problemsOf(long), [{ key: 'm.k7', line: 120_003, problem: 'YAML syntax: the key "k7" is given twice in the same map (first on line 10): keep one' }]);
  });

  it('refuses a key written twice as different scalars the config reads as one name (1 and "1", true and "true")', () => {
    // Both are the property "1" once read: the second would replace the first without a word (a role's people, a tag's value).
    const text = configWith([]).replace('roles:\n', 'roles:\n  1:\n    - 44444444-4444-4444-8444-444444444444\n  "1":\n    - 55555555-5555-4555-8555-555555555555\n');
    assert.notEqual(text, configWith([]));
    const [twice] = problemsOf(text);
    assert.deepEqual(twice, { key: 'roles.1', line: lineIn(text, '"1":'), problem: `YAML syntax: the key "1" is given twice in the same map (first on line ${lineIn(text, '1:')}): keep one` });
    assert.equal(problemsOf(`${configWith([])}extra: { true: 1, "true": 2 }\n`)[0].key, 'extra.true');
  });

  it('refuses an unknown top-level key', () => {
    assertRefused('unknown-top-level-key.yaml', { key: 'timezone', at: 'timezone: UTC', problem: /^unknown key/ });
  });

  it('refuses a misspelt key inside a policy', () => {
    assertRefused('nested-key-typo.yaml', { key: 'commands[1].policy.aprovals', at: 'aprovals: 2', problem: /^unknown key/ });
  });

  it('points at the misspelt key itself when its value is a block on the lines below', () => {
    assertRefused('nested-block-key-typo.yaml', { key: 'commands[1].policy.conversation', at: 'conversation:', problem: /^unknown key/ });
  });

  it('refuses a policy that names a role roles does not declare, listing the declared ones', () => {
    assertRefused('undeclared-role.yaml', {
      key: 'commands[1].policy.requesterRoles[0]',
      at: 'requesterRoles: [requester]',
      problem: /^role "requester" is not declared under roles \(did you mean requesters\?\) \(declared: requesters, approvers\)$/,
    });
  });

  it('refuses auditor roles that roles does not declare', () => {
    assertRefused('undeclared-auditor-role.yaml', { key: 'audit.auditorRoles[0]', at: 'auditorRoles: [auditors]', problem: /^role "auditors" is not declared under roles/ });
  });

  it('refuses role names that every object inherits (constructor, toString) as undeclared, with file, line and key', () => {
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const text = example.replace('auditorRoles: [auditors]', `auditorRoles: [${name}]`);
      assert.notEqual(text, example);
      const said = problemsOf(text);
      assert.ok(said.some((p) => p.key === 'audit.auditorRoles[0]' && p.problem.startsWith(`role "${name}" is not declared under roles`)), JSON.stringify(said));
      const escalation = example.replace(/(\n {6}approverRoles: \[platform-approvers\]\n)/, `$1      escalation: { role: ${name}, after: 1h }\n`);
      assert.ok(problemsOf(escalation).length > 0, `escalation role ${name}`);
    }
  });

  it('refuses a command that changes Azure but is marked sensitive: false', () => {
    assertRefused('change-not-sensitive.yaml', {
      key: 'commands[0].sensitive',
      at: 'sensitive: false',
      problem: /^operation deleteResourceGroup changes Azure, so the command must be sensitive \(approved by a second person\)$/,
    });
  });

  it('refuses a read-only command marked sensitive, which would also need a policy', () => {
    assertRefused('query-marked-sensitive.yaml', { key: 'commands[2].sensitive', at: 'sensitive: true', problem: /only reads; mark the command sensitive: false/ }, 1);
    assertRefused('query-marked-sensitive.yaml', { key: 'commands[2]', at: '- name: groups', problem: /a sensitive command needs a policy/ }, 1);
  });

  it('refuses a policy without approverRoles, pointing at the policy', () => {
    assertRefused('missing-approver-roles.yaml', { key: 'commands[0].policy.approverRoles', at: ['policy:', 1], problem: /^is required \(or give requirements: approvals from several roles at once\)$/ });
  });

  it('refuses a tenant that is not a GUID', () => {
    assertRefused('bad-tenant.yaml', { key: 'tenants[0]', at: '- contoso.onmicrosoft.com', problem: /^must be a tenant id \(a GUID\) such as 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d$/ });
  });

  it('refuses a tenant id of the right length that is not shaped like a GUID', () => {
    assertRefused('tenant-guid-without-dashes.yaml', { key: 'tenants[0]', at: '- 6f1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d0000', problem: /^must be a tenant id \(a GUID\) such as / });
  });

  it('refuses a ttl that is not a duration like 30m', () => {
    assertRefused('bad-duration.yaml', { key: 'commands[1].policy.ttl', at: 'ttl: 30 minutes', problem: /^`ttl` must be a duration such as 30m, 4h or 2d \(a whole number, then s, m, h or d\)$/ });
  });

  it('says a zero duration must be more than zero, for every duration key, not that it is no duration', () => {
    const text = configWith(
      ['ttl: 0s', 'maxScheduleAhead: 0h', 'escalation: { role: leads, after: 0m }', 'breakGlass: { allowed: true, roles: [approvers], reviewWithin: 0d }'],
      ['ttl: 0m', 'maxScheduleAhead: 0d', 'escalation: { role: leads, after: 00m }'],
    ).replace('commands:\n', 'directory:\n  cacheLifetime: 0s\naudit:\n  checkpointInterval: 0m\ndelegation:\n  maxDuration: 0d\ncommands:\n');
    const said = problemsOf(text).map((p) => [p.key, p.problem]).sort();
    assert.deepEqual(said, [
      ['audit.checkpointInterval', '`checkpointInterval` must be more than zero, such as 5m, 15m or 1h (got 0m)'],
      ['commands[0].policy.breakGlass.reviewWithin', '`reviewWithin` must be more than zero, such as 4h, 24h or 2d (got 0d)'],
      ['commands[0].policy.escalation.after', '`after` must be more than zero, such as 15m, 1h or 4h (got 0m)'],
      ['commands[0].policy.maxScheduleAhead', '`maxScheduleAhead` must be more than zero, such as 7d, 14d or 30d (got 0h)'],
      ['commands[0].policy.ttl', '`ttl` must be more than zero, such as 30m, 4h or 2d (got 0s)'],
      ['defaults.escalation.after', '`after` must be more than zero, such as 15m, 1h or 4h (got 00m)'],
      ['defaults.maxScheduleAhead', '`maxScheduleAhead` must be more than zero, such as 7d, 14d or 30d (got 0d)'],
      ['defaults.ttl', '`ttl` must be more than zero, such as 30m, 4h or 2d (got 0m)'],
      ['delegation.maxDuration', '`maxDuration` must be more than zero, such as 8h, 7d or 14d (got 0d)'],
      ['directory.cacheLifetime', '`cacheLifetime` must be more than zero, such as 30s, 5m or 1h (got 0s)'],
    ].sort());
  });

  it('says a duration written with a leading zero must be written without it', () => {
    const [p] = problemsOf(configWith(['ttl: 030m']));
    assert.deepEqual([p.key, p.problem], ['commands[0].policy.ttl', '`ttl` must be written without a leading zero, such as 30m (got 030m)']);
  });

  it('refuses a delegation.maxDuration that is not a duration, and one longer than 90d', () => {
    assertRefused('delegation-bad-duration.yaml', { key: 'delegation.maxDuration', at: 'maxDuration: two weeks', problem: /^`maxDuration` must be a duration such as 8h, 7d or 14d/ });
    assertRefused('delegation-too-long.yaml', { key: 'delegation.maxDuration', at: 'maxDuration: 120d', problem: /^a delegation may last at most 90d; for a longer absence change the roles instead \(got 120d\)$/ });
  });

  it('refuses a misspelt key in the delegation block', () => {
    assertRefused('delegation-key-typo.yaml', { key: 'delegation.enable', at: 'enable: false', problem: /^unknown key \(did you mean enabled\?\)/ });
  });

  it('refuses a placeholder that no parameter declares, listing the declared parameters', () => {
    assertRefused('undeclared-placeholder.yaml', {
      key: 'commands[0].operation',
      at: ['operation:', 1],
      problem: /^placeholder \{groupName\} is not a declared parameter \(declared: group\)$/,
    });
  });

  it('refuses a deployment whose template file is missing, saying where it looked', () => {
    assertRefused('missing-template.yaml', {
      key: 'commands[1].operation.template',
      at: 'template: templates/missing.json',
      problem: new RegExp(`^template file templates/missing.json not found \\(looked in ${fixture('')}\\)$`.replace(/\//g, '\\/')),
    });
  });

  it('refuses a template path that leaves the config folder', () => {
    assertRefused('template-outside-folder.yaml', { key: 'commands[1].operation.template', at: 'template: ../../../package.json', problem: /outside the config folder/ });
  });

  it('refuses a template file that is not an ARM template', () => {
    assertRefused('template-not-arm.yaml', { key: 'commands[1].operation.template', at: 'template: templates/not-arm.json', problem: /is not a valid ARM template: it has no "resources"/ });
  });

  it('refuses a command declared twice, at the second declaration', () => {
    assertRefused('duplicate-command.yaml', { key: 'commands[2].name', at: ['- name: drop group', 2], problem: /^command "drop group" is declared twice$/ });
  });

  it('refuses a parameter name, an allowed value or a role member given twice, at the second', () => {
    const base = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
    const twice = base
      .replace('      - name: group\n        pattern: "^[a-z0-9-]+$"\n', '      - name: group\n        pattern: "^[a-z0-9-]+$"\n      - name: Group\n')
      .replace('allowed: [production, staging]', 'allowed: [production, staging, production]')
      .replace('  approvers:\n    - 22222222-2222-4222-8222-222222222222\n', '  approvers:\n    - 22222222-2222-4222-8222-222222222222\n    - 22222222-2222-4222-8222-222222222222\n');
    assert.notEqual(twice, base);
    const problems = problemsOf(twice);
    assert.deepEqual(
      problems.map((p) => [p.key, p.problem]),
      [
        ['commands[0].parameters[1].name', 'parameter "Group" is declared twice in "drop group": give each parameter its own name'],
        ['commands[1].parameters[0].allowed[2]', 'value "production" is listed twice'],
        ['roles.approvers[1]', '"22222222-2222-4222-8222-222222222222" is listed twice in role approvers'],
      ],
    );
  });

  it('refuses a role, conversation type, channel or tenant listed twice in one list (in any case), at the second', () => {
    const base = configWith([]);
    const twice = base.replace('      approverRoles: [approvers]\n  - name: deploy app', '      approverRoles: [approvers, approvers]\n      conversations: { types: [channel, channel] }\n  - name: deploy app');
    assert.notEqual(twice, base);
    const tenant = /tenants:\n  - (\S+)\n/.exec(base)![1];
    const problems = problemsOf(twice.replace(`tenants:\n  - ${tenant}\n`, `tenants:\n  - ${tenant}\n  - ${tenant.toUpperCase()}\n`));
    assert.deepEqual(
      problems.map((p) => [p.key, p.problem]),
      [
        ['commands[0].policy.approverRoles[1]', '"approvers" is listed twice'],
        ['commands[0].policy.conversations.types[1]', '"channel" is listed twice'],
        ['tenants[1]', `"${tenant.toUpperCase()}" is listed twice`],
      ],
    );
  });

  it('refuses a list written as one value (a conversation id, a role, a tenant) at its key and line, and still says what building finds elsewhere', () => {
    const id = '"19:ops@thread.tacv2"';
    const tenant = /tenants:\n  - (\S+)\n/.exec(configWith([]))![1];
    // Each: the config's text with one list written as a single value, and the key the refusal names.
    const cases: [string, string][] = [
      [configWith([`conversations: { ids: ${id} }`]), 'commands[0].policy.conversations.ids'],
      [configWith([`notify: { channels: ${id} }`]), 'commands[0].policy.notify.channels'],
      [configWith([`breakGlass: { allowed: true, roles: [leads], reviewWithin: 1h, notify: ${id} }`]), 'commands[0].policy.breakGlass.notify'],
      [configWith(['breakGlass: { allowed: true, roles: leads, reviewWithin: 1h }']), 'commands[0].policy.breakGlass.roles'],
      [configWith([], [`notify: { channels: ${id} }`]), 'defaults.notify.channels'],
      [configWith(['conversations: { types: channel }']), 'commands[0].policy.conversations.types'],
      [configWith(['requesterRoles: leads']), 'commands[0].policy.requesterRoles'],
      [configWith(['requirements: leads']), 'commands[0].policy.requirements'],
      [configWith(['reminders: { at: "50%" }']), 'commands[0].policy.reminders.at'],
      [configWith(['windows: weekdays']), 'commands[0].policy.windows'],
      [configWith([]).replace('allowed: [production, staging]', 'allowed: production'), 'commands[1].parameters[0].allowed'],
      [configWith([]).replace(`tenants:\n  - ${tenant}\n`, `tenants: ${tenant}\n`), 'tenants'],
      [configWith([]).replace('  approvers:\n    - 22222222-2222-4222-8222-222222222222', '  approvers: 22222222-2222-4222-8222-222222222222'), 'roles.approvers'],
      [configWith([]).replace('roles:\n', 'audit:\n  auditorRoles: leads\nroles:\n'), 'audit.auditorRoles'],
    ];
    for (const [text, key] of cases) {
      // A problem only building finds (a role roles does not declare) in the last command's policy.
      const withMore = `${text.trimEnd()}\n    policy:\n      requesterRoles: [nobody]\n`;
      const problems = problemsOf(withMore);
      const single = problems.find((p) => p.key === key);
      assert.ok(single, `${key}: ${JSON.stringify(problems)}`);
      assert.match(single.problem, /^must be a list, such as \[a, b\] \(got /);
      // The line of the key written with its single value (the one line that holds both).
      const value = /\(got "(.*)"\)$/.exec(single.problem)![1];
      const name = key.split('.').at(-1)!;
      assert.equal(single.line, withMore.split('\n').findIndex((l) => l.includes(`${name}: `) && l.includes(value)) + 1, key);
      assert.ok(problems.some((p) => p.key === 'commands[2].policy.requesterRoles[0]' && /role "nobody" is not declared/.test(p.problem)), `${key}: building's problems are said too: ${JSON.stringify(problems)}`);
    }
  });

  it('refuses a map or a list item written as a single value (roles: x, - group) at its key, and in the same run says what building finds elsewhere', () => {
    const base = configWith([]);
    // Each: the config's text with one map or list item written as a single value, the key the refusal names, and that value.
    const cases: [string, string, string][] = [
      [base.replace(/roles:\n(?: {2}.*\n)+/, 'roles: x\n'), 'roles', 'x'],
      [base.replace('      - name: group\n        pattern: "^[a-z0-9-]+$"', '      - group'), 'commands[0].parameters[0]', 'group'],
      [base.replace('commands:\n', 'commands:\n  - groups\n'), 'commands[0]', 'groups'],
      [configWith(['breakGlass: x']), 'commands[0].policy.breakGlass', 'x'],
      [configWith(['reminders: x']), 'commands[0].policy.reminders', 'x'],
      [configWith(['escalation: x']), 'commands[0].policy.escalation', 'x'],
      [configWith(['windows: [x]']), 'commands[0].policy.windows[0]', 'x'],
      [configWith(['requirements: [x]']), 'commands[0].policy.requirements[0]', 'x'],
      [base.replace('roles:\n', 'azure:\n  environments: x\nroles:\n'), 'azure.environments', 'x'],
    ];
    for (const [text, key, value] of cases) {
      // Two problems only building finds: a delegation longer than 90d, and a role roles does not declare in the last command.
      const withMore = `${text.trimEnd()}\n    policy:\n      requesterRoles: [nobody]\ndelegation:\n  maxDuration: 100d\n`;
      const problems = problemsOf(withMore);
      const said = problems.map((p) => `${p.key}: ${p.problem}`);
      assert.ok(said.includes(`${key}: must be a mapping of keys to values (got "${value}")`), `${key}: ${JSON.stringify(said)}`);
      assert.ok(said.includes('delegation.maxDuration: a delegation may last at most 90d; for a longer absence change the roles instead (got 100d)'), `${key}: building's problems are said too: ${JSON.stringify(said)}`);
      // Nothing building says of the value read in its place (an empty map), under the key refused.
      assert.ok(problems.every((p) => !p.key.startsWith(`${key}.`) && !p.key.startsWith(`${key}[`)), `${key}: ${JSON.stringify(said)}`);
      if (key === 'roles') {
        // With no roles to read, no role a list names is said to be undeclared: each would follow from the one problem.
        assert.ok(problems.every((p) => !/is not declared under roles/.test(p.problem)), JSON.stringify(said));
      } else {
        // (The last command is commands[3] where a command is added before the others.)
        assert.ok(said.some((p) => /^commands\[[23]\]\.policy\.requesterRoles\[0\]: role "nobody" is not declared under roles \(declared: leads, requesters, approvers\)$/.test(p)), `${key}: ${JSON.stringify(said)}`);
      }
    }
  });

  it("names a parameter's allowed value or default of neither kind it may be in words, not as the schema's type list", () => {
    const allowed = problemsOf(configWith([]).replace('allowed: [production, staging]', 'allowed: [production, {a: 1}]'));
    assert.deepEqual(allowed.map((p) => [p.key, p.problem]), [['commands[1].parameters[0].allowed[1]', 'must be text or a number (got {"a":1})']]);
    const fallback = problemsOf(configWith([]).replace('        pattern: "^[a-z0-9-]+$"', '        pattern: "^[a-z0-9-]+$"\n        default: [a]'));
    assert.ok(fallback.some((p) => p.key === 'commands[0].parameters[0].default' && p.problem === 'must be text or a number (got ["a"])'), JSON.stringify(fallback));
  });

  it('refuses a role with an empty name, or named as every JavaScript object\'s own members, at its line', () => {
    for (const [written, name] of [['""', ''], ['"  "', '  '], ['__proto__', '__proto__'], ['constructor', 'constructor'], ['toString', 'toString'], ['hasOwnProperty', 'hasOwnProperty']]) {
      const text = configWith([]).replace('roles:\n', `roles:\n  ${written}:\n    - group:66666666-6666-4666-8666-666666666666\n`);
      const problems = problemsOf(text);
      assert.equal(problems.length, 1, `${written}: ${JSON.stringify(problems)}`);
      assert.equal(problems[0].line, lineIn(text, `${written}:`), written);
      assert.match(problems[0].problem, name.trim() === '' ? /^a role needs a name: "\s*" cannot be told apart in a list of roles/ : new RegExp(`^a role cannot be named ${name}: every JavaScript object has a member of that name`), written);
    }
  });

  it('refuses an endpoint with white space, a query or a fragment, an id that is no GUID, and takes any 127.x as loopback for Graph', () => {
    const withAzure = (lines: string[]) => configWith([]).replace('roles:\n', ['azure:', ...lines.map((l) => `  ${l}`), 'roles:', ''].join('\n'));
    assert.match(problemsOf(withAzure(['endpoint: "https://exa mple"']))[0].problem, /^not a URL: https:\/\/exa mple/);
    assert.match(problemsOf(withAzure(['endpoint: "https://management.azure.com?x"']))[0].problem, /^must be the service's address without a query or fragment/);
    const [id] = problemsOf(withAzure(['credential: { type: managedIdentity, clientId: "not a guid" }']));
    assert.deepEqual([id.key, id.problem], ['azure.credential.clientId', 'must be a GUID (the identity\'s client (application) id), got "not a guid"']);
    const graph = (url: string) => configWith([]).replace('roles:\n', `directory:\n  graphEndpoint: "${url}"\nroles:\n`);
    assert.ok(parseConfig(graph('http://127.0.0.2:1234'), fixture('valid-minimal.yaml')));
    assert.match(problemsOf(graph('https://graph.microsoft.com/v1.0?x=1'))[0].problem, /without a query or fragment/);
    // With the API version Graph's documentation writes its calls with, every membership check would go to /v1.0/v1.0/.
    assert.deepEqual(problemsOf(graph('https://graph.microsoft.us/v1.0/')).map((p) => [p.key, p.problem]), [['directory.graphEndpoint', "must be Microsoft Graph's base URL without the API version: Countersign adds /v1.0 itself (got https://graph.microsoft.us/v1.0; write https://graph.microsoft.us)"]]);
    assert.match(problemsOf(graph('https://graph.microsoft.com/beta'))[0].problem, /without the API version/);
  });

  it('refuses a command named with a word Countersign answers itself', () => {
    assertRefused('reserved-command.yaml', { key: 'commands[2].name', at: '- name: status groups', problem: /^"status" is a built-in command word; choose another name$/ });
  });

  it('refuses a client-secret credential without a tenant id, saying where the secret goes', () => {
    assertRefused('client-secret-without-tenant.yaml', {
      key: 'azure.credential',
      at: 'credential:',
      problem: /^clientSecret needs clientId and tenantId \(the secret itself comes from the AZURE_CLIENT_SECRET environment variable\)$/,
    });
  });

  it('refuses an enum parameter whose default is not one of its allowed values', () => {
    assertRefused('enum-default-not-allowed.yaml', { key: 'commands[1].parameters[0].default', at: 'default: prod', problem: /production, staging/ });
  });

  it('refuses an enum parameter that lists no allowed values', () => {
    assertRefused('enum-without-allowed.yaml', { key: 'commands[0].parameters[0]', at: '- name: group', problem: /^parameter group is an enum but lists no allowed values$/ });
  });

  it('refuses a parameter pattern that is not a regular expression', () => {
    assertRefused('invalid-pattern.yaml', { key: 'commands[0].parameters[0].pattern', at: 'pattern: "^[a-z0-9-+$"', problem: /^not a valid regular expression: .*Unterminated character class/ });
  });

  it('refuses a parameter pattern RE2 cannot run in linear time (a look-around, a back-reference), saying how to write it', () => {
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const withPattern = (pattern: string) => example.replace('pattern: "^[a-z][a-z0-9-]{1,40}$"', `pattern: ${JSON.stringify(pattern)}`);
    assert.notEqual(withPattern('x'), example, 'the example has the pattern to replace');
    for (const pattern of ['^(?!-)([a-z0-9]+-?)+$', '^(?<=a)b$', '^([a-z])\\1$', '^caf\\u00e9$']) {
      const found = problemsOf(withPattern(pattern)).filter((p) => p.key.endsWith('.pattern'));
      assert.equal(found.length, 1, pattern);
      assert.match(found[0].problem, /^is not a pattern RE2 can run \(error parsing regexp: .*\): Countersign runs patterns on RE2, in time linear in the value, so that no value a requester types can hold the bot; RE2 has no look-arounds .*, back-references .* or \\u escapes \(write the character itself, é\): write \^\[a-z0-9\]\+\(-\[a-z0-9\]\+\)\*\$, not \^\(\?!-\)\(\[a-z0-9\]\+-\?\)\+\$$/);
    }
    // Nested repetition is taken: RE2 matches it in linear time.
    assert.doesNotThrow(() => parseConfig(withPattern('^([a-z0-9]+-?)+$'), EXAMPLE_CONFIG));
  });

  it('suggests the allowed value a value differs from only in case (an enum: a credential type, an operation kind)', () => {
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const credential = problemsOf(example.replace('    type: default\n', '    type: managedidentity\n')).find((p) => p.key === 'azure.credential.type');
    assert.match(credential?.problem ?? '', /\(did you mean managedIdentity\?\)/);
    const kind = problemsOf(example.replace('kind: deleteResourceGroup', 'kind: deleteresourcegroup')).find((p) => p.key.endsWith('operation.kind'));
    assert.match(kind?.problem ?? '', /\(did you mean deleteResourceGroup\?\)/);
  });

  it('refuses a misspelt operation field and says the field it needs', () => {
    assertRefused('unknown-operation-field.yaml', {
      key: 'commands[0].operation.resourceGroupName',
      at: 'resourceGroupName: "{group}"',
      problem: /^unknown field for operation deleteResourceGroup \(did you mean resourceGroup\?\) \(allowed: resourceGroup\)$/,
    }, 1);
    assertRefused('unknown-operation-field.yaml', { key: 'commands[0].operation', at: ['operation:', 1], problem: /^operation deleteResourceGroup needs "resourceGroup"$/ }, 1);
  });

  it('refuses a file that cannot be read, naming the file and the reason', () => {
    const missing = fixture('no-such-file.yaml');
    assert.throws(
      () => loadConfig(missing),
      (err: unknown) => err instanceof ConfigError && err.file === missing && err.problems[0].problem === 'the file is missing (ENOENT)' && err.message.includes(`${missing}: (top level): the file is missing`),
    );
    // A link to nothing is said to be one, not taken for a file missing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-link-'));
    try {
      fs.symlinkSync('releases/42/countersign.yaml', path.join(dir, 'countersign.yaml'));
      assert.throws(() => loadConfig(path.join(dir, 'countersign.yaml')), (err: unknown) => err instanceof ConfigError && err.problems[0].problem === `the file is missing (ENOENT): it is a link to ${path.join(dir, 'releases/42/countersign.yaml')}, which is not there`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an empty file and a config of an unknown version', () => {
    assert.throws(() => parseConfig('', '/etc/countersign/empty.yaml'), /\/etc\/countersign\/empty.yaml: \(top level\): must be a mapping of keys to values \(got null\)/);
    assert.throws(() => parseConfig('version: 2\n', '/etc/countersign/v2.yaml'), /v2.yaml:1: version: must be 1, got 2 \(the config format this Countersign reads\)/);
  });

  it('reports every problem in the file at once: the schema\'s and the ones found building it, with "did you mean" for a misspelt key', () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8')
      .replace('      ttl: 4h\n', '      ttl: 4 hours\n')
      .replace('approverRoles: [platform-approvers]', 'approverRoles: [platform-approver]')
      .replace('    sensitive: true\n', '    sensitiv: true\n');
    let err: ConfigError | undefined;
    try {
      parseConfig(text, '/tmp/countersign.yaml');
    } catch (e) {
      err = e as ConfigError;
    }
    assert.ok(err instanceof ConfigError);
    const said = err.problems.map((p) => `${p.key}: ${p.problem}`);
    assert.ok(said.some((p) => /^commands\[0\]\.policy\.ttl: `ttl` must be a duration such as 30m, 4h or 2d/.test(p)), said.join('\n'));
    assert.ok(said.some((p) => /^commands\[0\]\.sensitiv: unknown key \(did you mean sensitive\?\)$/.test(p)), said.join('\n'));
    assert.ok(said.some((p) => /^commands\[0\]\.policy\.approverRoles\[0\]: role "platform-approver" is not declared under roles \(did you mean platform-approvers\?\)/.test(p)), said.join('\n'));
  });

  it('goes on checking the rest of the file past a misspelt operation kind, and names the kind meant', () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8')
      .replace('      kind: listResources\n', '      kind: listResourcez\n')
      .replace('approverRoles: [platform-approvers]', 'approverRoles: [platform-approver]')
      .replace('  maxDuration: 14d', '  maxDuration: 91d');
    const err = (() => {
      try {
        parseConfig(text, '/tmp/countersign.yaml');
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    const said = err.problems.map((p) => `${p.key}: ${p.problem}`);
    const kind = said.filter((p) => /^commands\[\d+\]\.operation\.kind: /.test(p));
    assert.equal(kind.length, 1, `the misspelt kind is reported once:\n${said.join('\n')}`);
    assert.match(kind[0], /: is not one of the allowed values: "listResourcez" \(did you mean listResources\?\) \(allowed: deployTemplate, .*listResources, /);
    assert.ok(said.some((p) => /^commands\[0\]\.policy\.approverRoles\[0\]: role "platform-approver" is not declared/.test(p)), said.join('\n'));
    assert.ok(said.some((p) => /^delegation\.maxDuration: /.test(p)), said.join('\n'));
    assert.ok(!said.some((p) => /only reads/.test(p)), 'no claim about what the unknown kind does');
  });
  it('tells a value of the wrong type what it should look like: a number for a duration, a quoted number, a bare range, an https URL by its key', () => {
    const text = configWith(['ttl: 15', 'approvals: two'], ['approvals: "1"'])
      .replace('commands:\n', 'audit:\n  checkpointEveryRecords: 0\nazure:\n  endpoint: http://management.azure.com\ncommands:\n');
    const said = new Map(problemsOf(text).map((p) => [p.key, p.problem]));
    assert.equal(said.get('commands[0].policy.ttl'), '`ttl` must be a duration such as 30m, 4h or 2d (a whole number, then s, m, h or d); got 15');
    assert.equal(said.get('defaults.approvals'), 'must be a whole number from 1 to 10, written without quotes (got "1")');
    assert.equal(said.get('commands[0].policy.approvals'), 'must be a whole number from 1 to 10 (got "two")', 'a word is no quoted number');
    assert.equal(said.get('audit.checkpointEveryRecords'), 'must be from 1 to 1000000 (got 0)');
    assert.match(said.get('azure.endpoint') ?? '', /^must be an https URL such as https:\/\/management\.azure\.com /);
  });
});
