/**
 * docs/cli.md against the `countersign` command itself (the commander program its entry point runs):
 * every command and option the program takes is in the reference, and every option the reference's
 * table gives a command is one the program takes. A command or option added, renamed or removed on one
 * side only fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { readCliSettings } from '../../src/settings';

const cliDoc = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

/** Each command that runs something ("audit verify"), with the long options it takes. */
function commandsOf(program: Command, prefix = ''): { name: string; options: string[] }[] {
  return program.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    if (sub.commands.length > 0) return commandsOf(sub, `${name} `);
    return [{ name, options: sub.options.map((o) => o.long).filter((o): o is string => !!o && o !== '--help') }];
  });
}

/** The first cell of each row of cli.md's command table: `countersign <command> <usage>`. */
const tableUsages = cliDoc
  .split('\n')
  .filter((line) => line.startsWith('| `countersign '))
  .map((line) => line.split(' | ')[0]);

describe('docs/cli.md against the countersign command', () => {
  const commands = commandsOf(buildProgram({ start: async () => undefined }, readCliSettings({})));

  it('finds the program\'s commands and the reference\'s table', () => {
    assert.ok(commands.some((c) => c.name === 'audit verify') && commands.length > 10, commands.map((c) => c.name).join(', '));
    assert.ok(tableUsages.length > 10, tableUsages.join('\n'));
  });

  it('names every command and every option of the program', () => {
    for (const { name, options } of commands) {
      assert.ok(cliDoc.includes(`\`countersign ${name}`) || cliDoc.includes(`\`${name} `), `cli.md does not name "countersign ${name}"`);
      for (const option of options) assert.ok(new RegExp(`\`[^\`\\n]*${option}\\b`).test(cliDoc), `cli.md does not name ${option} of "countersign ${name}"`);
    }
  });

  it("says in each command's --help which of its options are required, as the reference does", () => {
    const mandatory = (program: Command, prefix = ''): string[] =>
      program.commands.flatMap((sub) => [
        ...sub.options.filter((o) => o.mandatory && !/^required\b/.test(o.description)).map((o) => `countersign ${prefix}${sub.name()} ${o.long}: "${o.description}"`),
        ...mandatory(sub, `${prefix}${sub.name()} `),
      ]);
    assert.deepEqual(mandatory(buildProgram({ start: async () => undefined }, readCliSettings({}))), [], 'a required option whose help does not begin with "required"');
  });

  it("points each command's --help only to documents that exist, and never to the README for what the reference holds", () => {
    const helps = (program: Command): string[] => program.commands.flatMap((sub) => [sub.description(), ...sub.options.map((o) => o.description), ...helps(sub)]);
    const texts = helps(buildProgram({ start: async () => undefined }, readCliSettings({})));
    for (const text of texts) {
      assert.doesNotMatch(text, /\bREADME\b/, `a --help sends the reader to the README, which lists no settings or options: "${text}"`);
      for (const [doc] of text.matchAll(/docs\/[\w-]+\.md/g)) assert.ok(existsSync(path.resolve(__dirname, '..', '..', doc)), `a --help names ${doc}, which does not exist: "${text}"`);
    }
    assert.ok(texts.some((t) => t.includes('docs/operations.md')), 'countersign start --help names where its settings are documented');
  });

  it('says in audit verify --help, as the reference does, that an export without its manifest is refused unless --no-manifest', () => {
    const verify = buildProgram({ start: async () => undefined }, readCliSettings({})).commands.find((c) => c.name() === 'audit')?.commands.find((c) => c.name() === 'verify');
    const manifest = verify?.options.find((o) => o.long === '--manifest')?.description ?? '';
    assert.match(manifest, /refused, unless --no-manifest/);
    assert.doesNotMatch(manifest, /when it exists/);
    assert.match(cliDoc, /A manifest missing beside the file is refused \(exit 1\)/);
    assert.doesNotMatch(cliDoc, /`<export>\.manifest\.json` when it exists/);
  });

  it('says in store backup --help, as the reference does, that the copy\'s chain is verified but not its checkpoints', () => {
    const backup = buildProgram({ start: async () => undefined }, readCliSettings({})).commands.find((c) => c.name() === 'store')?.commands.find((c) => c.name() === 'backup');
    assert.match(backup?.description() ?? '', /hash chain is verified as audit verify does, its checkpoints not/);
    assert.match(cliDoc, /verifies the copy's hash chain as `audit verify` does\. Its signed checkpoints are not checked there/);
  });

  it('gives each command in its table only options the command takes', () => {
    for (const usage of tableUsages) {
      const command = [...commands].sort((a, b) => b.name.length - a.name.length).find((c) => usage.startsWith(`| \`countersign ${c.name}`));
      assert.ok(command, `cli.md's table names a command the program does not have: ${usage}`);
      for (const [option] of usage.matchAll(/--[a-z][a-z-]*/g)) {
        assert.ok(command.options.includes(option), `cli.md gives "countersign ${command.name}" ${option}, which it does not take`);
      }
    }
  });
});
