import assert from 'node:assert/strict';
import type { CommandPolicy, CommandSpec } from '../../src/domain/catalog';
import { AccessPolicy, describeKind, Roles } from '../../src/domain/policy';
import { breakGlassUnusableWarning, nobodyMayAskWarning, stuckRequesterWarning, unapprovableWarning, unreachedWarning } from '../../src/domain/policy-text';
import { RefusalReason } from '../../src/domain/refusal';
import type { Source } from '../../src/domain/request';
import { alice, bob, frank, channel, dave, erin, mallory, OTHER_TENANT, TENANT } from '../support/requests';

const roles = new Roles({
  requesters: [alice.aadObjectId, dave.aadObjectId],
  // Entra object ids come in whatever case the admin pasted them.
  'platform-approvers': [bob.aadObjectId, frank.aadObjectId.toUpperCase(), dave.aadObjectId],
  auditors: [erin.aadObjectId],
});
const access = new AccessPolicy([TENANT.toUpperCase()], roles);

function command(policy: Partial<CommandPolicy> | undefined): CommandSpec {
  return {
    name: 'delete resource group',
    description: 'Delete a resource group',
    sensitive: policy !== undefined,
    parameters: [],
    operation: { kind: 'deleteResourceGroup' },
    ...(policy
      ? {
          policy: {
            approvals: 1,
            approverRoles: ['platform-approvers'],
            requesterRoles: ['requesters'],
            ttlSeconds: 3600,
            conversationTypes: ['channel', 'groupChat', 'personal'],
            conversationIds: [],
            ...policy,
          },
        }
      : {}),
  };
}

const personal: Source = { channelId: 'msteams', conversationId: 'a:personal-chat', conversationType: 'personal' };
const groupChat: Source = { channelId: 'msteams', conversationId: '19:group@thread.v2', conversationType: 'groupChat' };

describe('roles', () => {
  it('finds a member whatever the letter case of the object id', () => {
    assert.equal(roles.has('platform-approvers', frank.aadObjectId), true);
    assert.equal(roles.has('platform-approvers', frank.aadObjectId.toUpperCase()), true);
    assert.equal(roles.has('platform-approvers', alice.aadObjectId), false);
  });

  it('knows nobody in a role that was never declared', () => {
    assert.equal(roles.has('admins', bob.aadObjectId), false);
    assert.equal(roles.holdsAny(['admins'], bob.aadObjectId), false);
  });

  it('lists the roles a person holds and the declared role names', () => {
    assert.deepEqual(roles.rolesOf(dave.aadObjectId), ['requesters', 'platform-approvers']);
    assert.deepEqual(roles.rolesOf(frank.aadObjectId.toUpperCase()), ['platform-approvers']);
    assert.deepEqual(roles.rolesOf(mallory.aadObjectId), []);
    assert.deepEqual(roles.names, ['requesters', 'platform-approvers', 'auditors']);
  });

  it('keeps every role, whatever its name, when a person\'s group memberships are added', () => {
    // JSON.parse makes __proto__ an own key, as the YAML loader does.
    const named = new Roles(JSON.parse('{"__proto__": ["group:66666666-6666-4666-8666-666666666666", "%s"], "constructor": ["group:66666666-6666-4666-8666-666666666666"]}'.replace('%s', frank.aadObjectId)) as Record<string, string[]>);
    const withGroups = named.withGroupMembership(dave.aadObjectId, ['66666666-6666-4666-8666-666666666666']);
    assert.deepEqual(withGroups.names, ['__proto__', 'constructor']);
    assert.deepEqual(withGroups.rolesOf(dave.aadObjectId), ['__proto__', 'constructor']);
    assert.deepEqual(withGroups.rolesOf(frank.aadObjectId), ['__proto__']);
  });
});

describe('who may talk to Countersign', () => {
  it('accepts a person from an allowed tenant, whatever the letter case of the tenant id', () => {
    assert.equal(access.checkActor(alice), undefined);
    assert.equal(access.checkActor({ ...alice, tenantId: TENANT.toLowerCase() }), undefined);
  });

  it('refuses a person from another tenant and names that tenant', () => {
    const no = access.checkActor(mallory);
    assert.equal(no?.reason, RefusalReason.TenantNotAllowed);
    assert.equal(no?.message, `Tenant ${OTHER_TENANT} is not allowed to use Countersign.`);
  });

  it('refuses an activity that carries no tenant', () => {
    const no = access.checkActor({ aadObjectId: alice.aadObjectId, name: 'Alice' });
    assert.equal(no?.reason, RefusalReason.TenantNotAllowed);
    assert.match(no?.message ?? '', /Tenant \(none\) is not allowed/);
  });

  it('refuses an activity without an Entra object id before looking at anything else', () => {
    for (const actor of [{ tenantId: TENANT, name: 'Guest' }, { aadObjectId: '', tenantId: TENANT, name: 'Guest' }, { name: 'Nobody' }]) {
      const no = access.checkActor(actor);
      assert.equal(no?.reason, RefusalReason.MissingIdentity);
      assert.match(no?.message ?? '', /Microsoft Entra identity was not sent/);
    }
  });
});

describe('who may ask for a sensitive command', () => {
  it('lets a requester ask from any allowed conversation type', () => {
    for (const source of [channel, groupChat, personal]) assert.equal(access.checkRequester(command({}), alice, source), undefined);
  });

  it('refuses someone without a requester role and names the roles that would do', () => {
    const no = access.checkRequester(command({ requesterRoles: ['requesters', 'auditors'] }), bob, channel);
    assert.equal(no?.reason, RefusalReason.NotAllowedToRequest);
    assert.equal(no?.message, 'You cannot request "delete resource group": it needs one of the roles "requesters" or "auditors".');
  });

  it('lets anyone from an allowed tenant ask when the command names no requester roles', () => {
    assert.equal(access.checkRequester(command({ requesterRoles: [] }), erin, channel), undefined);
  });

  it('refuses a requester from another tenant even when their object id is in the role', () => {
    const impostor = { ...alice, tenantId: OTHER_TENANT };
    assert.equal(access.checkRequester(command({}), impostor, channel)?.reason, RefusalReason.TenantNotAllowed);
  });

  it('refuses a conversation type the command does not allow and lists the allowed ones in words', () => {
    const no = access.checkRequester(command({ conversationTypes: ['channel', 'groupChat'] }), alice, personal);
    assert.equal(no?.reason, RefusalReason.ConversationNotAllowed);
    assert.equal(no?.message, '"delete resource group" cannot be requested in a personal chat; allowed: channel, group chat.');
  });

  it('refuses a conversation that is not on the command\'s list of conversation ids', () => {
    const onlyOps = command({ conversationIds: [channel.conversationId] });
    assert.equal(access.checkRequester(onlyOps, alice, channel), undefined);
    const no = access.checkRequester(onlyOps, alice, { ...channel, conversationId: '19:random@thread.tacv2' });
    assert.equal(no?.reason, RefusalReason.ConversationNotAllowed);
    // It says why and where to go: only in the conversations the policy lists (their ids say nothing to a person).
    assert.equal(no?.message, '"delete resource group" cannot be requested in this conversation: its policy lets it be requested only in 1 other conversation (conversations.ids); ask there, or ask the team that runs Countersign which.');
  });

  it('takes a listed channel\'s threads, as which Teams names each of its messages, and a listed thread only itself', () => {
    const onlyOps = command({ conversationIds: [channel.conversationId] });
    assert.equal(access.checkRequester(onlyOps, alice, { ...channel, conversationId: `${channel.conversationId};messageid=1700000000000` }), undefined);
    const no = access.checkRequester(onlyOps, alice, { ...channel, conversationId: '19:random@thread.tacv2;messageid=1700000000000' });
    assert.equal(no?.reason, RefusalReason.ConversationNotAllowed);
    const oneThread = command({ conversationIds: [`${channel.conversationId};messageid=1`] });
    assert.equal(access.checkRequester(oneThread, alice, { ...channel, conversationId: `${channel.conversationId};messageid=2` })?.reason, RefusalReason.ConversationNotAllowed);
    assert.equal(access.checkRequester(oneThread, alice, channel)?.reason, RefusalReason.ConversationNotAllowed);
  });

  it('checks only tenant and identity for a read-only command without a policy', () => {
    assert.equal(access.checkRequester(command(undefined), erin, personal), undefined);
    assert.equal(access.checkRequester(command(undefined), mallory, personal)?.reason, RefusalReason.TenantNotAllowed);
  });
});

describe('who may approve', () => {
  it('recognises a holder of one of the approver roles in an allowed tenant', () => {
    assert.equal(access.isApproverFor(['platform-approvers'], bob), true);
    assert.equal(access.isApproverFor(['auditors', 'platform-approvers'], dave), true);
    assert.equal(access.isApproverFor(['platform-approvers'], { ...frank, aadObjectId: frank.aadObjectId.toUpperCase() }), true);
  });

  it('does not recognise someone outside the approver roles', () => {
    assert.equal(access.isApproverFor(['platform-approvers'], alice), false);
    assert.equal(access.isApproverFor([], bob), false);
  });

  it('does not recognise an approver\'s object id arriving from another tenant', () => {
    assert.equal(access.isApproverFor(['platform-approvers'], { ...bob, tenantId: OTHER_TENANT }), false);
  });
});

describe('conversation kinds in words', () => {
  it('names each kind as people say it', () => {
    assert.deepEqual((['personal', 'groupChat', 'channel'] as const).map(describeKind), ['personal chat', 'group chat', 'channel']);
  });
});

describe('a command no request of which could ever be approved', () => {
  it('is named when its approver roles hold fewer people than its approvals, counting the escalation role; not with an Entra group', () => {
    const withEmpty = new Roles({ ...Object.fromEntries(roles.names.map((n) => [n, roles.membersOf(n)])), security: [], leads: [frank.aadObjectId] });
    assert.match(unapprovableWarning(command({ approvals: 2, approverRoles: ['security'] }), withEmpty) ?? '', /needs 2 approvals from distinct people, but security holds nobody: no request for it can ever be approved/);
    assert.match(unapprovableWarning(command({ approvals: 2, approverRoles: ['security'], escalation: { role: 'leads', afterSeconds: 600 } }), withEmpty) ?? '', /but security, leads hold only 1 person/);
    assert.equal(unapprovableWarning(command({ approvals: 1, approverRoles: ['security'], escalation: { role: 'leads', afterSeconds: 600 } }), withEmpty), undefined, 'the escalation role can decide it');
    assert.equal(unapprovableWarning(command({ approvals: 2, approverRoles: ['platform-approvers'] }), roles), undefined);
    const grouped = new Roles({ security: ['group:91a70000-0000-4000-8000-000000000002'] });
    assert.equal(unapprovableWarning(command({ approvals: 2, approverRoles: ['security'] }), grouped), undefined, 'a group\'s members are not known at load');
  });
});

describe('a command nobody may ask for', () => {
  it('is named when its requester roles hold nobody, for a change or a read; not when they name someone or a group, or name no role', () => {
    const emptied = new Roles({ requesters: [], 'platform-approvers': [bob.aadObjectId], grouped: ['group:91a70000-0000-4000-8000-000000000002'] });
    assert.equal(
      nobodyMayAskWarning(command({}), emptied),
      'nobody may ask for "delete resource group": its requesterRoles (requesters) hold nobody. Add people (or an Entra group) to requesters, or leave requesterRoles out to let anyone in an allowed tenant ask',
    );
    const read: CommandSpec = { ...command(undefined), name: 'list groups', readers: { requesterRoles: ['requesters'], conversationTypes: ['personal'], conversationIds: [] } };
    assert.match(nobodyMayAskWarning(read, emptied) ?? '', /^nobody may run "list groups": .* to let anyone in an allowed tenant run it$/);
    assert.equal(nobodyMayAskWarning(command({ requesterRoles: ['requesters', 'platform-approvers'] }), emptied), undefined);
    assert.equal(nobodyMayAskWarning(command({ requesterRoles: ['grouped'] }), emptied), undefined);
    assert.equal(nobodyMayAskWarning(command({ requesterRoles: [] }), emptied), undefined);
    assert.equal(nobodyMayAskWarning(command({}), roles), undefined);
  });
});

describe('someone who may ask for a command but could never have it approved', () => {
  const dv = dave.aadObjectId.toLowerCase();
  it('is named when the approver roles hold too few people besides them: the requester never counts', () => {
    // Dave may ask and is the only approver: his own requests can only expire.
    const alone = new Roles({ requesters: [alice.aadObjectId, dave.aadObjectId], leads: [dave.aadObjectId] });
    assert.equal(
      stuckRequesterWarning(command({ approverRoles: ['leads'] }), alone),
      `"delete resource group" can never be approved when ${dv} asks for it: it needs 1 from leads, never the requester, and leads holds too few other people. Add people to leads, or take them out of requesters`,
    );
    assert.equal(stuckRequesterWarning(command({ approverRoles: ['leads'], requesterRoles: ['auditors'] }), new Roles({ auditors: [erin.aadObjectId], leads: [dave.aadObjectId] })), undefined, 'Erin is not an approver');
    // Two approvals from platform-approvers (Bob, Frank, Dave): when Dave asks, Bob and Frank are left.
    assert.equal(stuckRequesterWarning(command({ approvals: 2 }), roles), undefined);
    // Three: Dave, who may ask, leaves only two others; Alice, who does not approve, leaves three.
    assert.match(stuckRequesterWarning(command({ approvals: 3 }), roles) ?? '', new RegExp(`^"delete resource group" can never be approved when ${dv} asks for it: it needs 3 from platform-approvers, by different people, never the requester, and platform-approvers holds too few other people`));
  });

  it('counts one person for one requirement of a quorum, and the escalation role as filling any', () => {
    const quorum = new Roles({ requesters: [alice.aadObjectId, dave.aadObjectId], ops: [bob.aadObjectId, dave.aadObjectId], security: [dave.aadObjectId, frank.aadObjectId], leads: [erin.aadObjectId] });
    const requirements = [{ roles: ['ops'], count: 1 }, { roles: ['security'], count: 1 }];
    // Dave asks: Bob fills ops, Frank security. Alice asks: the same, or Dave fills one.
    assert.equal(stuckRequesterWarning(command({ requirements, approverRoles: ['ops', 'security'] }), quorum), undefined);
    const thin = new Roles({ requesters: [alice.aadObjectId, dave.aadObjectId], ops: [dave.aadObjectId], security: [frank.aadObjectId] });
    assert.match(stuckRequesterWarning(command({ requirements, approverRoles: ['ops', 'security'] }), thin) ?? '', new RegExp(`when ${dv} asks for it: it needs 1 from ops AND 1 from security, never the requester, and ops, security hold too few other people`));
    assert.equal(stuckRequesterWarning(command({ requirements, approverRoles: ['ops', 'security'], escalation: { role: 'leads', afterSeconds: 600 } }), new Roles({ requesters: [dave.aadObjectId], ops: [dave.aadObjectId], security: [frank.aadObjectId], leads: [erin.aadObjectId] })), undefined, 'Erin fills ops once escalated');
  });

  it('is not named for anyone in an allowed tenant, an Entra group among the approvers, or a policy nobody could meet (named elsewhere)', () => {
    const alone = new Roles({ requesters: [dave.aadObjectId], leads: [dave.aadObjectId], grouped: [dave.aadObjectId, 'group:91a70000-0000-4000-8000-000000000002'] });
    assert.equal(stuckRequesterWarning(command({ approverRoles: ['leads'], requesterRoles: [] }), alone), undefined);
    assert.equal(stuckRequesterWarning(command({ approverRoles: ['grouped'] }), alone), undefined);
    assert.equal(stuckRequesterWarning(command({ approverRoles: ['leads'], approvals: 2 }), alone), undefined);
    assert.equal(stuckRequesterWarning(command(undefined), alone), undefined);
  });
});

describe('a command whose requests nobody would be sent', () => {
  const GROUP = 'group:91a70000-0000-4000-8000-000000000002';
  it('is named when its approver roles list only Entra groups and it has no approval channel; not with a person named or a channel', () => {
    const grouped = new Roles({ security: [GROUP], mixed: [GROUP, bob.aadObjectId] });
    assert.equal(
      unreachedWarning(command({ approverRoles: ['security'] }), grouped),
      '"delete resource group" is approved only by Entra groups (security) and has no approval channel, so nobody is sent its requests: Countersign does not enumerate a group\'s members to send them cards, and they would see a request only by typing "pending". Add an approval channel (policy.notify.channels), or people by name to security',
    );
    assert.equal(unreachedWarning(command({ approverRoles: ['security'], notify: { approvers: 'personal', channels: ['19:approvals@thread.tacv2'] } }), grouped), undefined, 'the channel is told');
    assert.equal(unreachedWarning(command({ approverRoles: ['mixed'] }), grouped), undefined, 'Bob is sent his card');
    assert.equal(unreachedWarning(command({ approverRoles: ['platform-approvers'] }), roles), undefined, 'no group at all');
  });

  it('is named when its policy says notify.approvers: none and it has no approval channel, whoever approves it', () => {
    assert.equal(
      unreachedWarning(command({ approverRoles: ['platform-approvers'], notify: { approvers: 'none', channels: [] } }), roles),
      '"delete resource group" says notify.approvers: none and has no approval channel, so nobody is sent its requests, their reminders or their escalation: its approvers would see a request only by typing "pending". Add an approval channel (policy.notify.channels), or let Countersign message them (notify.approvers: personal)',
    );
    assert.equal(unreachedWarning(command({ approverRoles: ['platform-approvers'], notify: { approvers: 'none', channels: ['19:approvals@thread.tacv2'] } }), roles), undefined, 'the channel is told');
  });
});

describe('a break-glass nobody could use', () => {
  const glass = (roles: string[]) => ({ roles, reviewWithinSeconds: 3600, notify: [] });
  it('is named when nobody its break-glass roles name may ask for the command: a use is asked for as any request is', () => {
    // Erin is on call, but only requesters may ask for the command: her break-glass is refused in the incident.
    const oncall = new Roles({ requesters: [alice.aadObjectId], 'platform-approvers': [bob.aadObjectId], oncall: [erin.aadObjectId], empty: [] });
    assert.equal(
      breakGlassUnusableWarning(command({ breakGlass: glass(['oncall']) }), oncall),
      'nobody may use break-glass for "delete resource group": the people its breakGlass.roles (oncall) name hold none of its requesterRoles (requesters), and a break-glass use is asked for as any request is. Add them to requesters, or name a role of people who may ask',
    );
    assert.match(breakGlassUnusableWarning(command({ breakGlass: glass(['empty']) }), oncall) ?? '', /^nobody may use break-glass for "delete resource group": its breakGlass.roles \(empty\) hold nobody/);
  });

  it('is not named when someone may use it, when a group may hold them, or when anyone may ask', () => {
    const group = 'group:91a70000-0000-4000-8000-000000000002';
    const some = new Roles({ requesters: [alice.aadObjectId], 'platform-approvers': [bob.aadObjectId], oncall: [erin.aadObjectId, alice.aadObjectId], rota: [group], asking: [group] });
    assert.equal(breakGlassUnusableWarning(command({ breakGlass: glass(['oncall']) }), some), undefined);
    assert.equal(breakGlassUnusableWarning(command({ breakGlass: glass(['rota']) }), some), undefined);
    assert.equal(breakGlassUnusableWarning(command({ requesterRoles: ['asking'], breakGlass: glass(['platform-approvers']) }), some), undefined);
    assert.equal(breakGlassUnusableWarning(command({ requesterRoles: [], breakGlass: glass(['platform-approvers']) }), some), undefined);
    assert.equal(breakGlassUnusableWarning(command({}), some), undefined);
  });
});
