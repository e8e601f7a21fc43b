import assert from 'node:assert/strict';
import { TeamsUserIds } from '../../src/teams/personal-cards';

describe("Teams' ids of the people seen", () => {
  it('gives the id a person was seen with, else the 8:orgid: form', () => {
    const ids = new TeamsUserIds();
    ids.seen('C0FFEE00-CA70-4CA7-8CA7-CA70CA70CA70', '29:frank');
    assert.equal(ids.teamsIdOf('c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70'), '29:frank');
    assert.equal(ids.teamsIdOf('11111111-1111-4111-8111-111111111111'), '8:orgid:11111111-1111-4111-8111-111111111111');
  });

  it('remembers a bounded number of people, the least recently seen forgotten first', () => {
    const ids = new TeamsUserIds(3);
    for (const n of [1, 2, 3, 4]) ids.seen(`0000000${n}-0000-4000-8000-000000000000`, `29:p${n}`);
    assert.equal(ids.teamsIdOf('00000001-0000-4000-8000-000000000000'), '8:orgid:00000001-0000-4000-8000-000000000000');
    assert.deepEqual([2, 3, 4].map((n) => ids.teamsIdOf(`0000000${n}-0000-4000-8000-000000000000`)), ['29:p2', '29:p3', '29:p4']);
  });
});
