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
});
