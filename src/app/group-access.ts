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
import { escalationDue } from '../domain/lifecycle';
import type { AccessPolicy } from '../domain/policy';
import { filledBy, principalOf, requirementsOf } from '../domain/quorum';
import { RefusalReason, refusal, type Refusal } from '../domain/refusal';
import type { Actor, ApprovalRequest, Requirement } from '../domain/request';
import type { AppDeps } from './context';
import { DirectoryError } from './ports';

/** On failure, `problem` says what could not be checked (`detail`: Graph's answer), and `refusal` tells the person acting. */
export type ResolvedAccess = { ok: true; access: AccessPolicy } | { ok: false; problem: string; detail: string; refusal: Refusal; access: AccessPolicy };

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
  return withMemberships(deps, deps.config.access, people, roles, requestId, acting ? people[0] : undefined);
}

/** `access` with the memberships of `people` in the groups of `roles`; `actor` is told "your membership". */
async function withMemberships(
  deps: Pick<AppDeps, 'directory'>,
  start: AccessPolicy,
  people: readonly Member[],
  roles: readonly string[],
  requestId?: string,
  actor?: Member,
): Promise<ResolvedAccess> {
  let access = start;
  for (const person of people) {
    const found = await membershipOf(deps, start, person, roles, actor);
    if ('problem' in found) {
      const message = `${found.problem}; nothing was changed. Try again in a minute.`;
      return { ok: false, problem: found.problem, detail: found.detail, refusal: refusal(RefusalReason.MembershipUnknown, message, requestId), access: start };
    }
    if (found.groups) access = access.withGroupMembership(person.aadObjectId, found.groups);
  }
  return { ok: true, access };
}

/**
 * The groups of `roles` Graph says this person is a member of, asked only about the roles they do
 * not hold by name in `start` (`groups` absent: nothing to ask), or what could not be checked.
 */
async function membershipOf(
  deps: Pick<AppDeps, 'directory'>,
  start: AccessPolicy,
  person: Member,
  roles: readonly string[],
  actor?: Member,
): Promise<{ groups?: Set<string> } | { problem: string; detail: string }> {
  if (!person.aadObjectId) return {}; // no identity: refused as such (AccessPolicy.checkActor)
  const groups = start.roles.groupsOf(roles.filter((role) => !start.roles.has(role, person.aadObjectId)));
  if (groups.length === 0) return {};
  try {
    if (!deps.directory) throw new DirectoryError(groups, 'no Microsoft Graph directory is configured');
    return { groups: await deps.directory.groupsOf(person.aadObjectId, groups) };
  } catch (err) {
    const detail = err instanceof DirectoryError ? err.detail : err instanceof Error ? err.message : String(err);
    const ids = err instanceof DirectoryError ? err.groupIds : groups;
    const whose = person === actor ? 'your' : `${person.name ?? person.aadObjectId}'s`;
    return { problem: `Countersign could not check ${whose} membership of group ${ids.join(', ')} in Microsoft Entra: ${detail}`, detail };
  }
}

/**
 * For telling people, never for deciding: the config's access policy with each person's memberships
 * in the groups of `roles`, all looked up at once (a round waits for the slowest answer, not their
 * sum), so that Graph failing for one leaves the others' found. `unknown`: what could not be
 * checked, one line a person Graph did not answer about (they are left with what they hold by name).
 */
export async function eachMembership(deps: Pick<AppDeps, 'config' | 'directory'>, people: readonly Member[], roles: readonly string[]): Promise<{ access: AccessPolicy; unknown: string[] }> {
  const start = deps.config.access;
  const found = await Promise.all(people.map((person) => membershipOf(deps, start, person, roles)));
  let access = start;
  const unknown: string[] = [];
  found.forEach((one, i) => {
    if ('problem' in one) unknown.push(one.problem);
    else if (one.groups) access = access.withGroupMembership(people[i].aadObjectId, one.groups);
  });
  return { access, unknown };
}

/** For views only: the memberships when Graph answers, what the people hold by name when it does not. */
export async function accessForView(deps: Pick<AppDeps, 'config' | 'directory' | 'log'>, people: readonly Member[], roles: readonly string[]): Promise<AccessPolicy> {
  return (await viewAccess(deps, people, roles)).access;
}

/**
 * The same, with what could not be checked when Graph did not answer, for a view that says so:
 * `unknown` names the groups, `graphSaid` only Graph's answer.
 */
export async function viewAccess(deps: Pick<AppDeps, 'config' | 'directory' | 'log'>, people: readonly Member[], roles: readonly string[]): Promise<{ access: AccessPolicy; unknown?: string; graphSaid?: string }> {
  const resolved = await accessWithGroups(deps, people, roles);
  if (resolved.ok) return { access: resolved.access };
  deps.log.warn({ by: people[0]?.aadObjectId, reason: resolved.refusal.message }, 'group membership unknown: shown what the person holds by name');
  return { access: resolved.access, unknown: resolved.problem, graphSaid: resolved.detail };
}

/** The escalation role, when it may decide the request now (escalated, or due to be) and is not one of its approver roles. */
function escalationInQuestion(r: ApprovalRequest, now: Date): string | undefined {
  const role = r.escalation?.role ?? (escalationDue(r, now) ? r.policy.escalation?.role : undefined);
  return role && !r.policy.approverRoles.includes(role) ? role : undefined;
}

/** Does `access` let this person fill every requirement of the request through its approver roles (the escalation role would add nothing)? */
function fillsEveryRequirement(r: Pick<ApprovalRequest, 'policy'>, access: AccessPolicy, person: Member): boolean {
  return requirementsOf(r.policy).every((req) => access.roles.holdsAny(req.roles, person.aadObjectId));
}

/** A click decided with a membership Graph could not confirm: refused with `unknown` when the refusal may come from it. */
export type DecisionAccess = ResolvedAccess & { request?: ApprovalRequest; unknown?: Refusal };

/**
 * The access a click is decided with: the clicker's memberships, and those of everyone who delegated
 * to them (a delegate decides with the delegator's roles). The requester cancelling needs no role.
 *
 * The escalation role's groups are in question only once the request is escalated (or due to be),
 * and only for a person the approver roles do not already let decide it in full. When Graph cannot
 * answer about them, the person is taken as outside them, and `unknown` says so: a named approver's
 * click still counts, and a click that needed those groups is refused as membership-unknown (decide).
 */
export async function accessForDecision(
  deps: Pick<AppDeps, 'config' | 'directory' | 'store'>,
  click: { requestId: string; verb: string; actor: Actor },
  received: readonly Delegation[],
  now: Date,
): Promise<DecisionAccess> {
  const request = await deps.store.requests.get(click.requestId);
  if (!request) return { ok: true, access: deps.config.access };
  const people = [click.actor, ...received.map((d) => d.delegator)];
  const resolved = await accessWithGroups(deps, people, request.policy.approverRoles, request.id);
  const requesterCancels = click.verb === 'cancel' && request.requester.aadObjectId.toLowerCase() === click.actor.aadObjectId.toLowerCase();
  if (!resolved.ok && requesterCancels) return { ok: true, access: resolved.access };
  if (!resolved.ok) return { ...resolved, request };
  const later = escalationInQuestion(request, now);
  if (!later) return { ...resolved, request };
  let access = resolved.access;
  let unknown: Refusal | undefined;
  for (const person of people.filter((p) => !fillsEveryRequirement(request, resolved.access, p))) {
    const one = await withMemberships(deps, access, [person], [later], request.id, click.actor);
    if (one.ok) access = one.access;
    else unknown ??= one.refusal;
  }
  return { ok: true, access, request, ...(unknown ? { unknown } : {}) };
}

/** The roles of a requirement that the current config still names as approving the command. */
export function rolesStillApproving(requirement: Requirement, approverRoles: readonly string[]): string[] {
  return requirement.roles.filter((role) => approverRoles.includes(role));
}

/**
 * The access the re-check at execution uses: the memberships of everyone whose approval counts (the
 * delegator, for an approval given on someone's behalf) in the groups of the current approver roles;
 * in the escalation role's groups only for an approval that counts through the escalation alone (its
 * person no longer holds the roles of the requirement it filled), so that an outage of Graph fails
 * no request whose approvers need no group.
 */
export async function approversAccess(deps: Pick<AppDeps, 'config' | 'directory'>, r: ApprovalRequest, approverRoles: readonly string[]): Promise<ResolvedAccess> {
  const principals = r.approvals.map((a) => ({ approval: a, person: principalOf(a) }));
  const resolved = await accessWithGroups(deps, principals.map((p) => p.person), approverRoles, r.id, false);
  const later = r.escalation?.role;
  if (!resolved.ok || !later || approverRoles.includes(later)) return resolved;
  const requirements = requirementsOf(r.policy);
  const underEscalation = principals.filter(({ approval, person }) => !resolved.access.roles.holdsAny(rolesStillApproving(requirements[filledBy(approval)] ?? { roles: [], count: 0 }, approverRoles), person.aadObjectId));
  return withMemberships(deps, resolved.access, underEscalation.map((p) => p.person), [later], r.id);
}
