import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load';
import { fixture } from './fixtures';

const QUORUM = fixture('quorum.yaml');
const text = fs.readFileSync(QUORUM, 'utf8');

/** The quorum fixture with one edit, and the one problem it must cause (file, line, key, problem). */
function problemsOf(edit: (yaml: string) => string): ConfigError['problems'] {
  try {
    parseConfig(edit(text), QUORUM);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return assert.fail('the edited config loaded');
}

const lineOfText = (yaml: string, needle: string) => yaml.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('config: quorum requirements and required reasons', () => {
  it('loads requirements as a quorum, with the approvals and approver roles they add up to', () => {
    const policy = loadConfig(QUORUM).catalog.commands[0].policy!;
    assert.deepEqual(policy.requirements, [
      { roles: ['platform-approvers'], count: 1 },
      { roles: ['security'], count: 1 },
    ]);
    assert.equal(policy.approvals, 2);
    assert.deepEqual(policy.approverRoles, ['platform-approvers', 'security']);
    assert.deepEqual(policy.reason, { required: true, minLength: 20 });
  });

  it('keeps the older approvals + approverRoles form as one requirement', () => {
    const policy = loadConfig(QUORUM).catalog.commands[1].policy!;
    assert.equal(policy.requirements, undefined);
    assert.equal(policy.reason, undefined);
  });

  it('refuses a requirement naming an undeclared role, at its line', () => {
    const edited = (y: string) => y.replace('        - role: security', '        - role: securty');
    const [p] = problemsOf(edited);
    assert.equal(p.key, 'commands[0].policy.requirements[1].role');
    assert.equal(p.line, lineOfText(edited(text), 'role: securty'));
    assert.match(p.problem, /^role "securty" is not declared under roles \(did you mean security\?\)/);
  });

  it('refuses the same role named in two requirements', () => {
    const [p] = problemsOf((y) => y.replace('        - role: security', '        - role: platform-approvers'));
    assert.equal(p.key, 'commands[0].policy.requirements[1].role');
    assert.match(p.problem, /named twice; give one requirement with a larger count/);
  });

  it('refuses requirements together with approverRoles', () => {
    const [p] = problemsOf((y) => y.replace('      requesterRoles: [requesters]', '      requesterRoles: [requesters]\n      approverRoles: [security]'));
    assert.equal(p.key, 'commands[0].policy.requirements');
    assert.match(p.problem, /either requirements or approvals with approverRoles, not both/);
  });

  it('refuses a count below 1', () => {
    const [p] = problemsOf((y) => y.replace('          count: 1', '          count: 0'));
    assert.equal(p.key, 'commands[0].policy.requirements[0].count');
    assert.equal(p.problem, 'must be from 1 to 10 (got 0)');
  });

  it('refuses a quorum the people in its roles cannot meet, counting a person in both roles once', () => {
    // Two people in platform-approvers, two in security, one of them in both: three people for four approvals.
    const [p] = problemsOf((y) => y.replace('          count: 1', '          count: 2').replace('        - role: security', '        - role: security\n          count: 2'));
    assert.equal(p.key, 'commands[0].policy.requirements');
    assert.match(p.problem, /^needs 4 approval\(s\) from distinct people, but the people in platform-approvers, security can give at most 3/);
  });

  it('takes a quorum from a role that lists an Entra group, whose members are not known at load, and still counts the people named', () => {
    // security is one Entra group: two approvals from it can be given (its members are many, known only to Graph).
    const group = '    - group:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\n';
    const grouped = (y: string) => y.replace('  security:\n    - 44444444-4444-4444-8444-444444444444\n    - 55555555-5555-4555-8555-555555555555\n', `  security:\n${group}`);
    assert.notEqual(grouped(text), text);
    const policy = parseConfig(grouped(text).replace('        - role: security', '        - role: security\n          count: 2'), QUORUM).catalog.commands[0].policy!;
    assert.deepEqual(policy.requirements, [
      { roles: ['platform-approvers'], count: 1 },
      { roles: ['security'], count: 2 },
    ]);
    // The people named are still counted: three from platform-approvers (two people, no group) is refused.
    const [p] = problemsOf((y) => grouped(y).replace('          count: 1', '          count: 3'));
    assert.equal(p.key, 'commands[0].policy.requirements');
    assert.match(p.problem, /^needs 4 approval\(s\) from distinct people, but the people in platform-approvers, security can give at most 3/);
  });

  it('counts the escalation role\'s people, who may fill any requirement once a request is escalated', () => {
    // Three from platform-approvers (two people) and one from security: four needed, three people; Erin in leads makes four.
    const short = (y: string) => y.replace('          count: 1', '          count: 3').replace('        - role: security', '        - role: security\n          count: 1');
    const leads = (y: string) => short(y).replace('roles:\n', 'roles:\n  leads:\n    - 66666666-6666-4666-8666-666666666666\n').replace('      ttl: 2h', '      ttl: 2h\n      escalation: { role: leads, after: 1h }');
    assert.notEqual(leads(text), short(text));
    const policy = parseConfig(leads(text), QUORUM).catalog.commands[0].policy!;
    assert.equal(policy.escalation?.role, 'leads');
    const [p] = problemsOf(short);
    assert.match(p.problem, /can give at most 3/);
  });

  it('refuses a reason minLength without required: true', () => {
    const [p] = problemsOf((y) => y.replace('        required: true\n', ''));
    assert.equal(p.key, 'commands[0].policy.reason.minLength');
    assert.match(p.problem, /only when the reason is required/);
  });
});
