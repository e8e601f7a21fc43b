/**
 * Roles that list Entra groups: the person's memberships are looked up (Microsoft Graph, through the
 * Directory port) BEFORE anything is decided, and the domain is handed an access policy that includes
 * them, so its checks stay pure and synchronous. Only the groups of the roles in question are looked
 * up, and only for roles the person does not already hold by name.
 *
 * A lookup that fails never grants: a decision is refused (RefusalReason.MembershipUnknown), a view
 * (`pending`, `status`, the personal card) shows what the person holds by name only.
 */
import type { Delegation } from '../domain/delegation';
import { decidingRoles, type AccessPolicy } from '../domain/policy';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { Actor, ApprovalRequest } from '../domain/request';
import type { AppDeps } from './context';
import { DirectoryError } from './ports';

/** On failure, `problem` says what could not be checked, and `refusal` tells the person acting. */
export type ResolvedAccess = { ok: true; access: AccessPolicy } | { ok: false; problem: string; refusal: Refusal; access: AccessPolicy };

/** Someone whose memberships decide a check: the actor, or the person they stand in for. */
export interface Member {
  aadObjectId: string;
  name?: string;
}

/**
 * The config's access policy with the memberships of `people` in the groups `roles` list. The first
 * person is the one acting ("your membership") unless `acting` is false; a refusal names the group and Graph's answer.
 */
export async function accessWithGroups(
  deps: Pick<AppDeps, 'config' | 'directory'>,
  people: readonly Member[],
  roles: readonly string[],
  requestId?: string,
  acting = true,
): Promise<ResolvedAccess> {
  let access = deps.config.access;
  for (const [i, person] of people.entries()) {
    if (!person.aadObjectId) continue; // no identity: refused as such (AccessPolicy.checkActor)
    const groups = access.roles.groupsOf(roles.filter((role) => !access.roles.has(role, person.aadObjectId)));
    if (groups.length === 0) continue;
    try {
      if (!deps.directory) throw new DirectoryError(groups, 'no Microsoft Graph directory is configured');
      access = access.withGroupMembership(person.aadObjectId, await deps.directory.groupsOf(person.aadObjectId, groups));
    } catch (err) {
      const detail = err instanceof DirectoryError ? err.detail : err instanceof Error ? err.message : String(err);
      const ids = err instanceof DirectoryError ? err.groupIds : groups;
      const whose = i === 0 && acting ? 'your' : `${person.name ?? person.aadObjectId}'s`;
      const problem = `Countersign could not check ${whose} membership of group ${ids.join(', ')} in Microsoft Entra: ${detail}`;
      const message = `${problem}; nothing was changed. Try again in a minute.`;
      return { ok: false, problem, refusal: refusal(RefusalReason.MembershipUnknown, message, requestId), access: deps.config.access };
    }
  }
  return { ok: true, access };
}

/** For views only: the memberships when Graph answers, what the people hold by name when it does not. */
export async function accessForView(deps: Pick<AppDeps, 'config' | 'directory' | 'log'>, people: readonly Member[], roles: readonly string[]): Promise<AccessPolicy> {
  const resolved = await accessWithGroups(deps, people, roles);
  if (!resolved.ok) deps.log.warn({ by: people[0]?.aadObjectId, reason: resolved.refusal.message }, 'group membership unknown: shown what the person holds by name');
  return resolved.access;
}

/**
 * The roles that may decide a request now or after its escalation: looked up together, so an
 * escalation committed while the click is decided still finds the escalation role's groups resolved.
 */
export function rolesInQuestion(r: Pick<ApprovalRequest, 'policy' | 'escalation'>, approverRoles?: readonly string[]): string[] {
  const roles = decidingRoles(r, approverRoles);
  const later = r.policy.escalation?.role;
  return later && !roles.includes(later) ? [...roles, later] : roles;
}

/**
 * The access a click is decided with: the clicker's memberships, and those of everyone who delegated
 * to them (a delegate decides with the delegator's roles). The requester cancelling needs no role.
 */
export async function accessForDecision(
  deps: Pick<AppDeps, 'config' | 'directory' | 'store'>,
  click: { requestId: string; verb: string; actor: Actor },
  received: readonly Delegation[],
): Promise<ResolvedAccess & { request?: ApprovalRequest }> {
  const request = await deps.store.requests.get(click.requestId);
  if (!request) return { ok: true, access: deps.config.access };
  const people = [click.actor, ...received.map((d) => d.delegator)];
  const resolved = await accessWithGroups(deps, people, rolesInQuestion(request), request.id);
  const requesterCancels = click.verb === 'cancel' && request.requester.aadObjectId.toLowerCase() === click.actor.aadObjectId.toLowerCase();
  if (!resolved.ok && requesterCancels) return { ok: true, access: resolved.access };
  return { ...resolved, request };
}

/**
 * The access the re-check at execution uses: the memberships of everyone whose approval counts (the
 * delegator, for an approval given on someone's behalf) in the groups of the current approver roles.
 */
export async function approversAccess(deps: Pick<AppDeps, 'config' | 'directory'>, r: ApprovalRequest, approverRoles: readonly string[]): Promise<ResolvedAccess> {
  const people = r.approvals.map((a) => a.onBehalfOf ?? a.approver);
  return accessWithGroups(deps, people, rolesInQuestion(r, approverRoles), r.id, false);
}
