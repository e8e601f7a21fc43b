/** `countersign config check` as an operator runs it: the real command in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The example's deployment templates beside a config copied to `dir` (they are read relative to it). */
function copyTemplates(dir: string): void {
  cpSync(path.join(ROOT, 'config', 'templates'), path.join(dir, 'templates'), { recursive: true });
}

const ROOT = path.resolve(__dirname, '..', '..');
const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'config', name);

function check(file: string) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'countersign.js'), 'config', 'check', file], { encoding: 'utf8', cwd: ROOT });
}

/** The example's own warning (its "tag" is the start of its "tag vm") left out: the others. */
const OTHER_WARNINGS = /WARNING: (?!"tag" is the start of "tag vm")/g;

describe('countersign config check', function () {
  this.timeout(30000);

  it('accepts the shipped example and summarises it', () => {
    const r = check(path.join(ROOT, 'config', 'countersign.example.yaml'));
    assert.equal(r.status, 0, r.stderr);
    // The policy version, then what it covers: the file and each template it names.
    assert.match(r.stdout, /^OK .*countersign\.example\.yaml\n  policy version [0-9a-f]{64}\n {4}[0-9a-f]{64} {2}\/.*countersign\.example\.yaml\n {4}[0-9a-f]{64} {2}templates\/api-service\.json\n {4}[0-9a-f]{64} {2}templates\/web-frontend\.json\n  \d+ command/);
    assert.match(r.stdout, /azure: SANDBOX/);
    assert.match(r.stdout, /\n  delete resource group\n(?: {4}.*\n)*? {4}when it may run: at once when approved, or later with "at <time>"; an approval stays valid 7 days; right before it runs, .*\n {4}break-glass: not allowed\n/);
  });

  it('warns, still OK, of a command whose name is the start of another\'s, naming both and which one a message is read as', () => {
    // The example's own: "tag" (group, key, value) and "tag vm".
    const shipped = check(path.join(ROOT, 'config', 'countersign.example.yaml'));
    assert.equal(shipped.status, 0, shipped.stderr);
    assert.match(shipped.stdout, /\n  tag\n(?: {4}.*\n)*? {4}WARNING: "tag" is the start of "tag vm": a message beginning "tag vm" is read as "tag vm" \(the longest name a message begins with is the one matched\), never as "tag" with group "vm"; to mean that, give it by name \(tag group=vm …\), or rename one of the two\n/);
    assert.equal((shipped.stdout.match(/WARNING/g) ?? []).length, 1, 'only that one');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      // A command "delete" beside "delete resource group", "delete vm" and "delete storage account": one warning for each.
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      const command = '  - name: delete\n    description: Delete a resource by id\n    sensitive: true\n    parameters:\n      - name: id\n    operation:\n      kind: deleteResource\n      resourceId: "{id}"\n      apiVersion: "2023-07-01"\n    policy:\n      approverRoles: [platform-approvers]\n\n';
      const text = example.replace('  - name: delete resource group\n', `${command}  - name: delete resource group\n`);
      assert.ok(text.includes('  - name: delete\n'), 'the example config changed');
      const file = path.join(dir, 'overlapping.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      const under = /\n  delete\n((?: {4}.*\n)*)/.exec(r.stdout)?.[1] ?? assert.fail(r.stdout);
      assert.deepEqual(under.split('\n').filter((l) => l.includes('WARNING')).map((l) => l.replace(/: a message beginning.*/, '')), [
        '    WARNING: "delete" is the start of "delete resource group"',
        '    WARNING: "delete" is the start of "delete vm"',
        '    WARNING: "delete" is the start of "delete storage account"',
      ]);
      assert.ok(under.includes('never as "delete" with id "resource"; to mean that, give it by name (delete id=resource …), or rename one of the two'), under);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists the members of a role that names Entra groups as "group <id>", and where membership is looked up', () => {
    const r = check(fixture('entra-groups.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\n  role approvers: 22222222-2222-4222-8222-222222222222, group 91a70000-0000-4000-8000-000000000002\n/);
    assert.match(r.stdout, /\n  directory: Microsoft Graph https:\/\/graph\.microsoft\.us, answers kept 2 minutes? \(the identity needs User\.Read\.All and GroupMember\.Read\.All\)\n/);
  });

  it("shows each command's effective policy in words: who may ask, who must approve, who is sent it, the reason, when it may run", () => {
    const r = check(fixture('quorum.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      r.stdout.includes(
        [
          '  drop group',
          '    who may ask: members of requesters, in a personal chat, group chat or channel',
          '    who must approve: 1 from platform-approvers AND 1 from security, by different people, never the requester',
          '    who is sent it: each approver in a personal chat; no approval channel',
          '    reason: required, at least 20 characters, saying something (no placeholders or repeats)',
          '    time to decide: within 2 hours, then it expires',
          '    when it may run: at once when approved, or later with "at <time>"; an approval stays valid 7 days; right before it runs, the approvers\' roles are checked again and a drift check must find the target unchanged',
          '    break-glass: not allowed',
        ].join('\n'),
      ),
      r.stdout,
    );
    assert.match(r.stdout, /  create group\n    who may ask: anyone in an allowed tenant, .*\n    who must approve: 1 from platform-approvers, never the requester\n    who is sent it: each approver in a personal chat; no approval channel\n    reason: optional\n/);
  });

  it('says in the time to decide when those who have not decided are reminded, as help does', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      const text = example.replace(/(  - name: delete resource group\n[\s\S]*?)ttl: 1h\n/, '$1ttl: 1h\n      reminders: { at: ["50%", "15m"], max: 2 }\n      escalation: { role: auditors, after: 40m }\n');
      assert.ok(text.includes('reminders: { at: ["50%", "15m"], max: 2 }'), 'the example config changed');
      const file = path.join(dir, 'reminders.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\n  delete resource group\n(?: {4}.*\n)*? {4}time to decide: within 1 hour, then it expires; those who have not decided are reminded: 2 reminders at most, the last 15 minutes before expiry; after 40 minutes members of auditors may decide too\n/);
      // Commands without reminders say nothing of them.
      assert.match(r.stdout, /\n  deploy\n(?: {4}.*\n)*? {4}time to decide: within 4 hours, then it expires\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, still OK, of a command whose approver roles hold fewer people than its approvals: it could never be approved', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      const text = example.replace('  auditors:\n', '  security: []\n  auditors:\n').replace(/(  - name: delete resource group\n[\s\S]*?)approvals: 1\n(\s*)approverRoles: \[platform-approvers\]/, '$1approvals: 2\n$2approverRoles: [security]');
      assert.ok(text.includes('security: []') && text.includes('approverRoles: [security]'), 'the example config changed');
      const file = path.join(dir, 'empty-role.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\n  delete resource group\n(?: {4}.*\n)*? {4}WARNING: "delete resource group" needs 2 approvals from distinct people, but security holds nobody: no request for it can ever be approved\. Add people \(or an Entra group\) to the role, or lower approvals\n/);
      assert.equal((r.stdout.match(OTHER_WARNINGS) ?? []).length, 1, 'the other commands are fine');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, still OK, of a command someone may ask for whose approver roles hold nobody else: their requests could never be approved', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      // Dave Lead may ask and is the only lead: a request of his needs another lead, and there is none.
      const text = example
        .replace('  auditors:\n', '  leads: [55555555-5555-4555-8555-555555555555]\n  auditors:\n')
        .replace(/(  - name: delete resource group\n[\s\S]*?)approverRoles: \[platform-approvers\]/, '$1approverRoles: [leads]');
      assert.ok(text.includes('approverRoles: [leads]'), 'the example config changed');
      const file = path.join(dir, 'requester-only-approver.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\n  delete resource group\n(?: {4}.*\n)*? {4}WARNING: "delete resource group" can never be approved when 55555555-5555-4555-8555-555555555555 asks for it: it needs 1 from leads, never the requester, and leads holds too few other people\. Add people to leads, or take them out of requesters\n/);
      assert.equal((r.stdout.match(OTHER_WARNINGS) ?? []).length, 1, 'the other commands are fine');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, still OK, of a command approved only by Entra groups that has no approval channel: nobody would be sent its requests', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      const text = example.replace('  auditors:\n', '  platform-team:\n    - group:91a70000-0000-4000-8000-000000000002\n  auditors:\n').replace(/(  - name: delete resource group\n[\s\S]*?)approverRoles: \[platform-approvers\]/, '$1approverRoles: [platform-team]');
      assert.ok(text.includes('approverRoles: [platform-team]'), 'the example config changed');
      const file = path.join(dir, 'groups-only.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /\n  delete resource group\n(?: {4}.*\n)*? {4}WARNING: "delete resource group" is approved only by Entra groups \(platform-team\) and has no approval channel, so nobody is sent its requests: .* Add an approval channel \(policy\.notify\.channels\), or people by name to platform-team\n/);
      assert.equal((r.stdout.match(OTHER_WARNINGS) ?? []).length, 1, 'the other commands are fine');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns, still OK, of the configured subscription when azure.environments lists it under none, under the azure line', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    try {
      const example = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
      const forgotten = '00000000-0000-4000-8000-00000000abcd';
      const text = example.replace('  subscriptionId: ""\n', `  subscriptionId: ${forgotten}\n  environments:\n    staging: [11111111-0000-4000-8000-00000000abcd]\n`);
      assert.notEqual(text, example, 'the example config changed');
      const file = path.join(dir, 'environments.yaml');
      writeFileSync(file, text);
      copyTemplates(dir);
      const r = check(file);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\n  azure: subscription ${forgotten}, credential \\w+\\n {4}WARNING: subscription ${forgotten} \\(azure\\.subscriptionId\\) is in none of azure\\.environments \\(staging\\): .*; list it under its environment in azure\\.environments\\n`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 naming the file, line, key and problem of a wrong key', () => {
    const r = check(fixture('nested-key-typo.yaml'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nested-key-typo\.yaml:\d+: commands\[\d+\]\.policy\.\w+: unknown key/);
  });

  it('exits 1 for a file that does not exist', () => {
    const r = check(fixture('no-such-file.yaml'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no-such-file\.yaml: \(top level\): the file is missing \(ENOENT\)/);
  });
});
