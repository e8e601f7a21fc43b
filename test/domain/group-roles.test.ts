import assert from 'node:assert/strict';
import { AccessPolicy, Roles } from '../../src/domain/policy';
import { alice, bob, carol, dave, TENANT } from '../support/people';

const SECURITY = '5EC00000-0000-4000-8000-000000000001';
const PLATFORM = '91a70000-0000-4000-8000-000000000002';

const roles = new Roles({
  security: [`group:${SECURITY}`],
  'platform-approvers': [`GROUP:${PLATFORM}`, dave.aadObjectId],
});

describe('domain: roles that list Entra groups (memberships resolved by the app)', () => {
  it('keeps groups apart from people: a group id never holds a role, and membersOf lists people only', () => {
    assert.deepEqual(roles.groupsOf(['security', 'platform-approvers']), [SECURITY.toLowerCase(), PLATFORM]);
    assert.deepEqual(roles.groupsOf(['no-such-role']), []);
    assert.deepEqual(roles.membersOf('platform-approvers'), [dave.aadObjectId]);
    assert.equal(roles.has('security', SECURITY), false);
    assert.equal(roles.has('security', `group:${SECURITY}`), false);
  });

  it('adds a person to exactly the roles that list a group they are a member of', () => {
    const resolved = roles.withGroupMembership(bob.aadObjectId, [SECURITY]);
    assert.deepEqual(resolved.rolesOf(bob.aadObjectId), ['security']);
    assert.equal(roles.has('security', bob.aadObjectId), false, 'the original is unchanged');
    assert.deepEqual(resolved.groupsOf(['security']), [SECURITY.toLowerCase()], 'the groups stay listed');
  });

  it('composes: memberships of a second person (a delegator) add to the first', () => {
    const access = new AccessPolicy([TENANT], roles).withGroupMembership(bob.aadObjectId, [PLATFORM]).withGroupMembership(alice.aadObjectId, [SECURITY]);
    assert.equal(access.isApproverFor(['platform-approvers'], bob), true);
    assert.equal(access.isApproverFor(['security'], alice), true);
    assert.equal(access.isApproverFor(['security', 'platform-approvers'], carol), false);
    assert.equal(access.isApproverFor(['platform-approvers'], dave), true);
  });

  it('grants nothing for membership of a group no role lists', () => {
    assert.deepEqual(roles.withGroupMembership(carol.aadObjectId, ['00000000-0000-4000-8000-000000000009']).rolesOf(carol.aadObjectId), []);
  });
});
