import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load';
import { alice, bob } from '../support/requests';
import { configErrorFrom, fixture, lineOf } from './fixtures';

const PLATFORM_GROUP = '91a70000-0000-4000-8000-000000000002';

describe('config: roles that list Entra groups, and the directory block', () => {
  it('loads group:<object id> members beside people, with the directory settings', () => {
    const config = loadConfig(fixture('entra-groups.yaml'));
    const roles = config.access.roles;
    assert.deepEqual(roles.groupsOf(['approvers']), [PLATFORM_GROUP]);
    assert.deepEqual(roles.membersOf('approvers'), [bob.aadObjectId], 'groups are not people');
    assert.equal(roles.has('approvers', alice.aadObjectId), false);
    assert.equal(roles.withGroupMembership(alice.aadObjectId, [PLATFORM_GROUP]).has('approvers', alice.aadObjectId), true);
    assert.deepEqual(config.directory, { cacheLifetimeSeconds: 120, graphEndpoint: 'https://graph.microsoft.us' });
  });

  it('defaults to a 5 minute cache lifetime and the public Microsoft Graph', () => {
    assert.deepEqual(loadConfig(fixture('valid-minimal.yaml')).directory, { cacheLifetimeSeconds: 300, graphEndpoint: 'https://graph.microsoft.com' });
  });

  it('refuses a malformed group id, a cache lifetime over 1h, plain http off loopback and a group in an auditor role, each with its line', () => {
    const name = 'entra-groups-malformed.yaml';
    const err = configErrorFrom(name);
    const problems = err.problems.map((p) => [p.key, p.line, p.problem]);
    assert.deepEqual(problems, [
      ['roles.approvers[0]', lineOf(name, '- group:platform-team'), 'must be an Entra object id (a GUID) such as 11111111-2222-4333-8444-555555555555, or group: and an Entra group object id'],
      ['directory.cacheLifetime', lineOf(name, 'cacheLifetime: 2h'), 'at most 1h: someone removed from a group keeps its roles for as long as an answer is cached (got 2h)'],
      ['directory.graphEndpoint', lineOf(name, 'graphEndpoint: http://graph.example.com'), "must be https (plain http is accepted only on this machine's loopback (localhost, 127.0.0.0/8 or ::1), for a local fake of Microsoft Graph)"],
      [
        'roles.auditors[0]',
        lineOf(name, '- group:a0d17000-0000-4000-8000-000000000005'),
        'role "auditors" is an auditor role (audit.auditorRoles), which must list people by object id; Entra groups are not supported there',
      ],
    ]);
  });
});
