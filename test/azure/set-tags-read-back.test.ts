/** Whether the tags read back after a lost answer show the approved change (azure/operations/set-tags.ts). */
import assert from 'node:assert/strict';
import { tagsApplied } from '../../src/azure/operations/set-tags';
import type { ChangeOf } from '../../src/azure/operations/context';

const deleting = (tags: Record<string, string>): ChangeOf<'setTags'> => ({ kind: 'setTags', subscriptionId: 's', scope: '/subscriptions/s/resourceGroups/g', operation: 'Delete', tags });

describe('tags read back after a delete whose answer was lost', () => {
  it('sees a tag named as an Object member (toString, constructor) gone when the scope no longer has it', () => {
    assert.equal(tagsApplied(deleting({ toString: '', constructor: '' }), { owner: 'x' }), true);
    assert.equal(tagsApplied(deleting({ toString: '' }), JSON.parse('{"toString":"a"}') as Record<string, string>), false);
    assert.equal(tagsApplied(deleting({ owner: '' }), {}), true);
  });
});
