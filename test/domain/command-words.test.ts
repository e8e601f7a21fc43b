import assert from 'node:assert/strict';
import { commandWords, valueAsWord } from '../../src/domain/command-words';

describe('a command and its typed values as words for people to read', () => {
  it('leaves a one-word value as typed and quotes one that could read as more of the sentence', () => {
    assert.equal(valueAsWord('staging-old'), 'staging-old');
    assert.equal(valueAsWord('platform team'), '"platform team"');
    assert.equal(valueAsWord('x) from Dave Lead'), '"x) from Dave Lead"');
    assert.equal(valueAsWord('a,b'), '"a,b"');
    assert.equal(valueAsWord('k=v'), '"k=v"');
    assert.equal(valueAsWord('say "hi"'), '"say \\"hi\\""');
    assert.equal(valueAsWord(''), '""');
    assert.equal(commandWords('tag', { group: 'staging-old', key: 'owner', value: 'platform team' }), 'tag staging-old owner "platform team"');
  });

  it('names the first value when the values would continue the command\'s name into a longer command\'s, and only then', () => {
    const names = ['tag', 'tag vm', 'delete', 'delete resource group'];
    assert.equal(commandWords('tag', { group: 'vm', key: 'owner', value: 'alice' }, names), 'tag group=vm owner alice');
    assert.equal(commandWords('tag', { group: 'VM', key: 'owner', value: 'alice' }, names), 'tag group=VM owner alice', 'names are matched in any case');
    assert.equal(commandWords('tag', { group: 'vm-old', key: 'owner', value: 'alice' }, names), 'tag vm-old owner alice');
    assert.equal(commandWords('tag vm', { vm: 'web-1', key: 'owner', value: 'alice' }, names), 'tag vm web-1 owner alice');
    assert.equal(commandWords('delete', { what: 'resource', kind: 'group', name: 'x' }, names), 'delete what=resource group x');
    assert.equal(commandWords('delete', { what: 'resource' }, names), 'delete resource', 'the longer name is not all typed');
    assert.equal(commandWords('tag', { group: 'vm', key: 'owner', value: 'alice' }), 'tag vm owner alice', 'no catalog given: as before');
  });
});
