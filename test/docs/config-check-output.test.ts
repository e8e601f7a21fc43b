/**
 * What the docs show `countersign config check` printing, and the config they show, are what it
 * prints and what it takes: an operator copies them. Each test runs the real command on the example
 * config with the docs' own text put in, so a change of wording, or of the catalog's rules, that the
 * docs do not follow fails here, naming the doc to change.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = readFileSync(path.join(ROOT, 'config', 'countersign.example.yaml'), 'utf8');
const doc = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');

/** The text of the first fenced block (of `lang`, or any) after `heading`. */
function blockAfter(markdown: string, heading: string, lang = ''): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `no heading "${heading}"`);
  const match = new RegExp('\\n```' + lang + '\\n([\\s\\S]*?)\\n```').exec(markdown.slice(at));
  assert.ok(match, `no \`\`\`${lang} block after "${heading}"`);
  return match[1];
}

/** `config check` of `configText`, as a file `countersign.yaml` beside the example's templates. */
function configCheck(configText: string): { status: number | null; stdout: string; stderr: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-doc-check-'));
  try {
    cpSync(path.join(ROOT, 'config', 'templates'), path.join(dir, 'templates'), { recursive: true });
    const file = path.join(dir, 'countersign.yaml');
    writeFileSync(file, configText);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'countersign.js'), 'config', 'check', file], { encoding: 'utf8', cwd: ROOT });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, file };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `config check` of the example as `countersign.yaml`, and the result of `shell` run in that folder. */
function checkAndRun(shell: string): { check: ReturnType<typeof spawnSync>; shell: ReturnType<typeof spawnSync> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-doc-recipe-'));
  try {
    cpSync(path.join(ROOT, 'config', 'templates'), path.join(dir, 'templates'), { recursive: true });
    writeFileSync(path.join(dir, 'countersign.yaml'), EXAMPLE);
    return {
      check: spawnSync(process.execPath, [path.join(ROOT, 'bin', 'countersign.js'), 'config', 'check', path.join(dir, 'countersign.yaml')], { encoding: 'utf8', cwd: ROOT }),
      shell: spawnSync('bash', ['-c', shell], { encoding: 'utf8', cwd: dir }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One command's block of `config check`'s policy in words: its name line to the blank line after. */
function policyBlock(stdout: string, command: string): string {
  const match = new RegExp(`\\n(  ${command}\\n(?: {4}.*\\n)*)`).exec(stdout);
  assert.ok(match, `config check printed no policy for "${command}":\n${stdout}`);
  return match[1].trimEnd();
}

describe('config check as the docs show it', function () {
  this.timeout(60_000);

  it("policy.md: the policy in words is what config check prints for the quorum example", () => {
    const policyDoc = doc('policy.md');
    const example = YAML.parse(blockAfter(policyDoc, '## Quorum: approvals from several roles at once', 'yaml')) as { commands: { name: string; policy: unknown }[] };
    const [shown] = example.commands;
    const config = YAML.parse(EXAMPLE) as { roles: Record<string, string[]>; commands: { name: string; policy: unknown }[] };
    // The example's roles and `security`, which the quorum names: one person who is no requester.
    config.roles.security = ['44444444-4444-4444-8444-444444444444'];
    const command = config.commands.find((c) => c.name === shown.name);
    assert.ok(command, `the example config has no "${shown.name}"`);
    command.policy = shown.policy;
    const r = configCheck(YAML.stringify(config));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(policyBlock(r.stdout, shown.name), blockAfter(policyDoc, '## The policy in words'), 'docs/policy.md, "The policy in words", shows other lines than config check prints');
  });

  it("configuration.md: the mistakes shown are said in the docs' words", () => {
    const shown = blockAfter(doc('configuration.md'), '## Validation and errors');
    // The example's deploy with the three mistakes the docs describe under the block.
    const deploy = /  - name: deploy\n[\s\S]*?(?=\n  - name: )/.exec(EXAMPLE)![0];
    const broken = deploy.replace('    sensitive: true\n', '    sensitiv: true\n').replace(/      ttl: \w+\n/, '      ttl: 30\n').replace('approverRoles: [platform-approvers]', 'approverRoles: [platform-approver]');
    assert.equal((broken.match(/sensitiv: true|ttl: 30\n|\[platform-approver\]/g) ?? []).length, 3, 'the example config\'s deploy changed');
    const r = configCheck(EXAMPLE.replace(deploy, broken));
    assert.equal(r.status, 1, r.stdout);
    // Where the file is and at which lines is the example's business; the words are the docs'.
    const words = (text: string, file: string) => text.trimEnd().split(file).join('FILE').replace(/FILE:\d+:/g, 'FILE:<line>:');
    assert.equal(words(r.stderr, r.file), words(shown, 'config/countersign.yaml'), 'docs/configuration.md, "Validation and errors", shows other words than config check prints');
  });

  it('configuration.md: the policy version recomputed by hand, as shown, is the one config check prints', () => {
    const recipe = blockAfter(doc('configuration.md'), '## The policy version', 'bash');
    const { check, shell } = checkAndRun(recipe.replace('cd <config folder>\n', ''));
    assert.equal(check.status, 0, String(check.stderr));
    assert.equal(shell.status, 0, String(shell.stderr));
    const printed = /policy version ([0-9a-f]{64})/.exec(String(check.stdout))?.[1];
    assert.ok(printed, String(check.stdout));
    assert.equal(String(shell.stdout).trim(), `${printed}  -`);
  });

  it('configuration.md: the command of "Adding a command" and the delegation block load as written', () => {
    const configurationDoc = doc('configuration.md');
    const command = blockAfter(configurationDoc, '## Adding a command', 'yaml');
    const delegation = blockAfter(configurationDoc, '## Delegation', 'yaml');
    assert.match(command, /^ {2}- name: /, 'the example is written as an entry of commands:');
    const configText = `${EXAMPLE.replace(/\ndelegation:\n(?: .*\n)+/, '\n')}${command}\n${delegation}\n`;
    assert.ok(!/\ndelegation:[\s\S]*\ndelegation:/.test(configText), 'the example config holds delegation twice');
    const r = configCheck(configText);
    assert.equal(r.status, 0, r.stderr);
    const name = /^ {2}- name: (.*)$/m.exec(command)![1];
    assert.match(policyBlock(r.stdout, name), /who may ask: members of requesters, in a channel\n {4}who must approve: 2 from platform-approvers, by different people, never the requester\n/);
  });
});
