/**
 * Who sent an activity: the name a card says asked for a request, approved or rejected it.
 */
import assert from 'node:assert/strict';
import type { Activity } from 'botbuilder';
import { actorOf } from '../../src/teams/identity';

describe('teams: who sent an activity', () => {
  const from = (name: string | undefined) => ({ from: { id: '29:1alice', aadObjectId: '11111111-1111-4111-8111-111111111111', ...(name === undefined ? {} : { name }) } }) as Partial<Activity>;

  it('names a person by their display name', () => {
    assert.equal(actorOf(from('Alice Requester')).name, 'Alice Requester');
  });

  it('names a person Teams sent a blank display name for by their object id, so no card reads " asks to" or "Requested by ,"', () => {
    for (const blank of ['', '   ', undefined]) assert.equal(actorOf(from(blank)).name, '11111111-1111-4111-8111-111111111111', JSON.stringify(blank));
    assert.equal(actorOf({ from: { id: '29:1bob', name: '' } } as Partial<Activity>).name, '29:1bob', 'no object id either: the Teams id');
  });
});
