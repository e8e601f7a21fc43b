import assert from 'node:assert/strict';
import { Catalog, nameOverlapWarnings, tokenize, type ParsedCommand } from '../../src/domain/catalog';
import { loadConfig } from '../../src/config/load';
import { EXAMPLE_CONFIG } from '../support/harness';
import { catalog, cmd, deleteGroup, deleteResource, deploy, tag } from './catalog-fixtures';

function parsed(text: string): ParsedCommand {
  const p = catalog.parse(text);
  if (!p) assert.fail(`"${text}" matched no command`);
  return p;
}

/** What a person sees come back: the command, the words bound to it and the reason. */
function reading(text: string) {
  const p = parsed(text);
  return { command: p.command.name, args: p.args, named: p.named, reason: p.reason };
}

describe('reading a message as a catalog command', () => {
  it('prefers the longest command name, so "delete resource group" beats a command named "delete"', () => {
    assert.deepEqual(reading('delete resource group staging-old'), { command: 'delete resource group', args: ['staging-old'], named: {}, reason: undefined });
    assert.deepEqual(reading('delete /subscriptions/s/resourceGroups/rg/providers/x/y/z').command, 'delete');
  });

  it('prefers the longest name whatever order the commands were declared in', () => {
    const reversed = new Catalog([deleteGroup, deleteResource]);
    const sameOrder = new Catalog([deleteResource, deleteGroup]);
    for (const c of [reversed, sameOrder]) assert.equal(c.parse('delete resource group staging-old')?.command.name, 'delete resource group');
  });

  it('matches command names in any letter case and keeps the parameter words as typed', () => {
    assert.deepEqual(reading('DELETE Resource GROUP Staging-Old'), { command: 'delete resource group', args: ['Staging-Old'], named: {}, reason: undefined });
  });

  it('matches whole words only, so "deployment" is not "deploy"', () => {
    assert.equal(catalog.parse('deployment production api-service'), undefined);
    assert.equal(catalog.parse('please deploy production'), undefined);
    assert.equal(catalog.parse(''), undefined);
  });

  it('finds a command by name ignoring case and repeated spaces', () => {
    assert.equal(catalog.find('  Delete   Resource  group ')?.name, 'delete resource group');
    assert.equal(catalog.find('delete resource'), undefined);
  });

  it('takes declared name=value words in any order and leaves undeclared ones as plain words', () => {
    assert.deepEqual(reading('deploy service=web-frontend environment=staging'), {
      command: 'deploy',
      args: [],
      named: { service: 'web-frontend', environment: 'staging' },
      reason: undefined,
    });
    assert.deepEqual(reading('deploy region=westeurope staging').args, ['region=westeurope', 'staging']);
  });

  it('says when a name=value word names a parameter the command does not have but one close to it (a typo, a short form)', () => {
    for (const [text, meant] of [['deploy env=staging service=api-service', 'environment=staging'], ['deploy enviroment=staging', 'environment=staging'], ['deploy SERVICE=api-service', 'service=api-service']] as const) {
      const p = parsed(text);
      const [problem] = p.problems ?? [];
      assert.equal(problem?.parameter, meant.split('=')[0]);
      assert.equal(problem?.message.startsWith(`"${text.split(' ')[1].split('=')[0]}" is not a parameter of deploy: did you mean ${meant}?`), true, problem?.message);
      assert.ok(!p.args.some((a) => a.includes('=')), 'not taken as a value');
    }
  });

  it('keeps a double-quoted phrase together as one word', () => {
    assert.deepEqual(reading('tag rg-ops owner "Jane Doe"').args, ['rg-ops', 'owner', 'Jane Doe']);
    assert.deepEqual(tokenize('a  "b c"  ""  d'), ['a', 'b c', '', 'd']);
  });

  it('reads the curly double quotes a phone or Mac types for " as double quotes', () => {
    // Teams on iPhone, iPad and Mac types “…” for "…" (smart punctuation); German keyboards „…“.
    assert.deepEqual(reading('tag rg-ops owner \u201cJane Doe\u201d reason: new owner'), { command: 'tag', args: ['rg-ops', 'owner', 'Jane Doe'], named: {}, reason: 'new owner' });
    assert.deepEqual(reading('tag rg-ops owner value=\u201eJane Doe\u201c').named, { value: 'Jane Doe' });
    assert.deepEqual(reading('tag rg-ops note \u201csee reason: ticket 7\u201d reason: audit').args, ['rg-ops', 'note', 'see reason: ticket 7']);
    const p = parsed('tag rg-ops owner \u201cJane Doe');
    assert.deepEqual(p.problems?.map((x) => x.parameter), ['(quote)']);
    assert.deepEqual(p.args, ['rg-ops', 'owner']);
  });

  it('reads a double-quoted value given as name=value as one value', () => {
    assert.deepEqual(reading('tag rg-ops owner value="Jane Doe"'), {
      command: 'tag',
      args: ['rg-ops', 'owner'],
      named: { value: 'Jane Doe' },
      reason: undefined,
    });
  });

  it('splits off everything after "reason:" as the reason, in any letter case', () => {
    assert.deepEqual(reading('delete resource group staging-old reason: cleanup after migration 42'), {
      command: 'delete resource group',
      args: ['staging-old'],
      named: {},
      reason: 'cleanup after migration 42',
    });
    assert.equal(reading('deploy staging api-service REASON:hotfix').reason, 'hotfix');
  });

  it('treats an empty reason as no reason', () => {
    const p = parsed('deploy staging api-service reason:   ');
    assert.deepEqual(p.args, ['staging', 'api-service']);
    assert.equal('reason' in p, false);
  });

  it('does not split on a word that merely ends in "reason:"', () => {
    assert.deepEqual(reading('tag rg-ops motive treason:none'), { command: 'tag', args: ['rg-ops', 'motive', 'treason:none'], named: {}, reason: undefined });
  });

  it('keeps "reason:" inside a double-quoted value as part of the value', () => {
    assert.deepEqual(reading('tag rg-ops note "see reason: ticket 7" reason: audit'), {
      command: 'tag',
      args: ['rg-ops', 'note', 'see reason: ticket 7'],
      named: {},
      reason: 'audit',
    });
  });

  it('names a parameter given more than once by name, with every value, and binds none of them', () => {
    const p = parsed('tag rg-ops owner value=a value=b value=');
    assert.deepEqual(p.problems, [{ parameter: 'value', message: 'value is given 3 times (a, b and ""): give it once' }]);
    assert.equal(parsed('tag rg-ops owner value=a').problems, undefined);
  });

  it('names a double quote that is never closed and leaves the words after it unbound', () => {
    const p = parsed('tag rg-ops owner "Jane Doe reason: x');
    assert.deepEqual(p.args, ['rg-ops', 'owner']);
    assert.deepEqual(p.problems, [{ parameter: '(quote)', message: 'the double quote at character 18 is never closed ("Jane Doe reason: x): close it with another " or leave it out' }]);
    assert.equal(parsed('tag rg-ops owner "Jane Doe"').problems, undefined);
  });

  it('keeps the command it matched so its parameters can be checked', () => {
    assert.equal(parsed('tag a b c').command, tag);
    assert.equal(parsed('deploy').command, deploy);
  });
});

describe('naming the read-only command that lists what Azure has', () => {
  const read = (c: ReturnType<typeof cmd>) => ({ ...c, sensitive: false });
  it('names a command listing the groups, and one listing a group given by its one parameter', () => {
    const lookups = new Catalog([
      deleteGroup,
      read(cmd('find type', [{ name: 'type', type: 'string' }], { kind: 'listResources', resourceType: '{type}' })),
      read(cmd('resources', [{ name: 'group', type: 'string' }], { kind: 'listResources', resourceGroup: '{group}' })),
      read(cmd('list groups', [], { kind: 'listResourceGroups' })),
    ]);
    assert.equal(lookups.lookupCommand('groups'), 'list groups');
    assert.equal(lookups.lookupCommand('resources'), 'resources <group>');
  });

  it('names none when the catalog has no such read-only command, or only one that needs more', () => {
    const lookups = new Catalog([
      deleteGroup,
      cmd('list groups', [], { kind: 'listResourceGroups' }), // sensitive: not a lookup
      read(cmd('resources', [{ name: 'group', type: 'string' }, { name: 'type', type: 'string' }], { kind: 'listResources', resourceGroup: '{group}', resourceType: '{type}' })),
    ]);
    assert.equal(lookups.lookupCommand('groups'), undefined);
    assert.equal(lookups.lookupCommand('resources'), undefined);
  });
});

describe('suggesting commands for a message that matches none', () => {
  it('suggests the command a typo was meant to be', () => {
    assert.deepEqual(catalog.suggest('deplyo production api-service'), ['deploy']);
    assert.deepEqual(catalog.suggest('Delte resource group x'), ['delete', 'delete resource group']);
    assert.deepEqual(catalog.suggest('restrat app web'), ['restart app']);
  });

  it('suggests nothing for words unlike any command, or for an empty message', () => {
    assert.deepEqual(catalog.suggest('hello there'), []);
    assert.deepEqual(catalog.suggest('   '), []);
  });
});

describe('naming the words of a message that name no command', () => {
  it('takes the words up to the first one no command goes on with, in any case, and all of a name begun', () => {
    assert.equal(catalog.unknownWords('deplyo production api-service'), 'deplyo');
    assert.equal(catalog.unknownWords('Delete resurce group x'), 'Delete resurce');
    assert.equal(catalog.unknownWords('delete resource'), 'delete resource');
    assert.equal(catalog.unknownWords('"quoted words" then more'), 'quoted words');
    assert.equal(catalog.unknownWords(''), '');
  });

  it('suggests the commands going on from the words that begin one, the one the next word is a slip of first', () => {
    const example = loadConfig(EXAMPLE_CONFIG).catalog;
    assert.deepEqual(example.suggest('delete resurce group x'), ['delete resource group']);
    assert.deepEqual(example.suggest('delete everything'), ['delete resource group', 'delete vm', 'delete storage account']);
    assert.equal(example.beginsCommand('Delete everything'), true);
    assert.equal(example.beginsCommand('deleet everything'), false);
  });
});

describe('suggesting from every word of a sentence', () => {
  it('suggests the restart commands for "restart the database please", not a command that merely starts alike', () => {
    const example = loadConfig(EXAMPLE_CONFIG).catalog;
    assert.deepEqual(example.suggest('restart the database please'), ['app restart', 'vm restart']);
    assert.deepEqual(example.suggest('please deplyo it'), ['deploy']);
  });
});

describe('command names of which one is the start of another', () => {
  it('says, under the shorter, which command a message beginning with the longer name is read as, and how to mean the shorter', () => {
    const deleteRg = cmd('delete rg', [{ name: 'name', type: 'string' }], { kind: 'deleteResourceGroup', resourceGroup: '{name}' });
    const commands = [deleteResource, deleteRg, deleteGroup];
    assert.deepEqual(nameOverlapWarnings(deleteResource, commands), [
      '"delete" is the start of "delete rg": a message beginning "delete rg" is read as "delete rg" (the longest name a message begins with is the one matched), never as "delete" with id "rg"; to mean that, give it by name (delete id=rg …), or rename one of the two',
      '"delete" is the start of "delete resource group": a message beginning "delete resource group" is read as "delete resource group" (the longest name a message begins with is the one matched), never as "delete" with id "resource"; to mean that, give it by name (delete id=resource …), or rename one of the two',
    ]);
    // As the catalog reads messages: the longer name, and the shorter one by name.
    const both = new Catalog(commands);
    assert.equal(both.parse('delete rg staging-old')?.command.name, 'delete rg');
    assert.deepEqual(both.parse('delete id=rg')?.named, { id: 'rg' });
    // The longer one, and names that only share a first word, say nothing.
    assert.deepEqual(nameOverlapWarnings(deleteRg, commands), []);
    assert.deepEqual(nameOverlapWarnings(deleteGroup, commands), []);
    // A shorter command that could not take the word (an enum without it, no parameters): which is matched, all the same.
    const canary = cmd('deploy canary', [], { kind: 'listResourceGroups' });
    assert.deepEqual(nameOverlapWarnings(deploy, [deploy, canary]), [
      '"deploy" is the start of "deploy canary": a message beginning "deploy canary" is read as "deploy canary" (the longest name a message begins with is the one matched), never as "deploy"; rename one of the two if that is not meant',
    ]);
    assert.equal(nameOverlapWarnings(cmd('List', [], { kind: 'listResourceGroups' }), [cmd('list   Groups', [], { kind: 'listResourceGroups' })]).length, 1, 'letter case and spaces as messages are matched');
  });
});
