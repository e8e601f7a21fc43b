/**
 * A command's quorum (`policy.requirements`), checked where a schema cannot: roles declared, each
 * role once, one form of approval policy and not both, and enough distinct people in the roles to
 * meet the quorum at all (otherwise no request for the command could ever be approved). The older
 * `approvals` + `approverRoles` form is not held to that check, so configs that loaded still load.
 */
import { GROUP_PREFIX } from '../domain/policy';
import { assign } from '../domain/quorum';
import type { Requirement } from '../domain/request';
import { undeclaredRole } from './suggest';
import type { RawCommand, RawConfig } from './types';
import type { At } from './validate';

/** The quorum as written (undefined for the one-requirement form), reporting what is wrong with it. */
export function buildRequirements(c: RawCommand, key: (string | number)[], input: RawConfig, at: At): Requirement[] | undefined {
  const policy = c.policy!;
  const raw = policy.requirements;
  if (!raw) {
    // The older form is not held to the people check: configs that loaded before keep loading.
    if (!policy.approverRoles) at([...key, 'approverRoles'], 'is required (or give requirements: approvals from several roles at once)');
    return undefined;
  }
  if (policy.approverRoles || policy.approvals !== undefined) {
    at([...key, 'requirements'], 'give either requirements or approvals with approverRoles, not both: requirements already says how many approvals from which roles');
  }
  const declared = Object.keys(input.roles);
  const seen = new Set<string>();
  raw.forEach((req, j) => {
    if (!declared.includes(req.role)) at([...key, 'requirements', j, 'role'], undeclaredRole(req.role, declared));
    else if (seen.has(req.role)) at([...key, 'requirements', j, 'role'], `role "${req.role}" is named twice; give one requirement with a larger count instead`);
    seen.add(req.role);
  });
  const requirements = raw.map((req) => ({ roles: [req.role], count: req.count ?? 1 }));
  // Once a request is escalated, its escalation role's people may fill any requirement still open.
  const escalation = (policy.escalation ?? input.defaults?.escalation)?.role;
  checkPeople(requirements, [...key, 'requirements'], input, at, escalation);
  return requirements;
}

/**
 * Refuses a quorum that the people in its roles cannot meet even all together (each person fills
 * one requirement). The requester never counts, so one spare person is advised but not enforced.
 * An Entra group (`group:<id>`) is not one person: its members are known only to Graph, so it is
 * taken as enough people for every requirement whose roles list it.
 */
function checkPeople(requirements: Requirement[], key: (string | number)[], input: RawConfig, at: At, escalation?: string): void {
  const listed = (role: string) => (Object.hasOwn(input.roles, role) ? input.roles[role] : []).map((id) => id.toLowerCase());
  const escalating = escalation === undefined ? [] : listed(escalation);
  const needed = requirements.reduce((n, req) => n + req.count, 0);
  const entries = [...new Set([...requirements.flatMap((req) => req.roles.flatMap(listed)), ...escalating])];
  const people = entries.flatMap((id) => (id.startsWith(GROUP_PREFIX) ? Array.from({ length: needed }, () => id) : [id]));
  const eligible = people.map((id) => requirements.flatMap((req, i) => (escalating.includes(id) || req.roles.some((role) => listed(role).includes(id)) ? [i] : [])));
  const possible = assign(eligible, requirements.map((req) => req.count)).filter((p) => p !== undefined).length;
  if (possible < needed) {
    const roles = [...requirements.map((r) => r.roles.join(' or ')), ...(escalation === undefined ? [] : [`${escalation} (escalation)`])];
    at(key, `needs ${needed} approval(s) from distinct people, but the people in ${roles.join(', ')} can give at most ${possible}: no request could ever be approved. Add people to the roles or lower the count`);
  }
}
