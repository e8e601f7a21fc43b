/**
 * Quorum: a policy's approvals as a list of requirements ("1 from platform-approvers AND 1 from
 * security"). The older form (`approvals: N` from `approverRoles`) is one requirement.
 *
 * Who fills what is a small bipartite matching: each approval (by the person whose authority it
 * carries) may fill any requirement whose roles that person holds (or, once the request was
 * escalated, any requirement at all: the escalation role stands in for whichever is outstanding).
 * Each approval fills at most one requirement, so one person never fills two; a person who holds
 * both roles is placed where they are needed, moving earlier approvals when that completes more.
 */
import type { Actor, Approval, ApprovalRequest, PolicySnapshot, Requirement } from './request';

/** The request's requirements: the snapshot's, or the single one of the older form. */
export function requirementsOf(p: Pick<PolicySnapshot, 'approvals' | 'approverRoles' | 'requirements'>): Requirement[] {
  return p.requirements ?? [{ roles: p.approverRoles, count: p.approvals }];
}

export function requirementLabel(req: Requirement): string {
  return req.roles.join(' or ');
}

/**
 * A maximum matching of approvals (each with the requirement indices it may fill) to requirement
 * slots. Returns, per approval, the requirement it fills or undefined. Augmenting paths (Kuhn), tried
 * in approval order and requirement order, so the result is deterministic.
 */
export function assign(eligible: readonly (readonly number[])[], counts: readonly number[]): (number | undefined)[] {
  const holders: number[][] = counts.map(() => []);
  const filled: (number | undefined)[] = eligible.map(() => undefined);
  const place = (a: number, seen: Set<number>): boolean => {
    for (const req of eligible[a]) {
      if (seen.has(req) || req >= counts.length) continue;
      seen.add(req);
      if (holders[req].length < counts[req]) {
        holders[req].push(a);
        filled[a] = req;
        return true;
      }
      for (const other of holders[req]) {
        if (place(other, seen)) {
          holders[req] = holders[req].filter((x) => x !== other);
          holders[req].push(a);
          filled[a] = req;
          return true;
        }
      }
    }
    return false;
  };
  eligible.forEach((_, a) => place(a, new Set()));
  return filled;
}

/** Which requirements a person may fill now, given a test of holding roles (current config, tenant included). */
export function eligibleRequirements(r: Pick<ApprovalRequest, 'policy' | 'escalation'>, holdsAny: (roles: readonly string[]) => boolean): number[] {
  const reqs = requirementsOf(r.policy);
  // Once escalated, the escalation role may fill whichever requirement is outstanding.
  const escalated = r.escalation !== undefined && holdsAny([r.escalation.role]);
  return reqs.flatMap((req, i) => (escalated || holdsAny(req.roles) ? [i] : []));
}

/** The requirement an approval filled (approvals stored before quorum filled the only one). */
export function filledBy(a: Pick<Approval, 'requirement'>): number {
  return a.requirement ?? 0;
}

export interface RequirementProgress {
  requirement: Requirement;
  label: string;
  /** Approvals that fill it, in the order given. */
  approvals: Approval[];
  met: boolean;
}

export function progress(r: Pick<ApprovalRequest, 'policy' | 'approvals'>): RequirementProgress[] {
  return requirementsOf(r.policy).map((requirement, i) => {
    const approvals = r.approvals.filter((a) => filledBy(a) === i);
    return { requirement, label: requirementLabel(requirement), approvals, met: approvals.length >= requirement.count };
  });
}

/** "platform-approvers: 1 of 1 — Bob; security: 0 of 1", with `name` saying who gave each approval. */
export function progressText(r: Pick<ApprovalRequest, 'policy' | 'approvals'>, name: (a: Approval) => string): string {
  return progress(r)
    .map((p) => `${p.label}: ${p.approvals.length} of ${p.requirement.count}${p.approvals.length ? ` — ${p.approvals.map(name).join(', ')}` : ''}`)
    .join('; ');
}

/** "security (0 of 1)": the requirements not yet met. */
export function outstandingText(r: Pick<ApprovalRequest, 'policy' | 'approvals'>): string {
  return progress(r)
    .filter((p) => !p.met)
    .map((p) => `${p.label} (${p.approvals.length} of ${p.requirement.count})`)
    .join(', ');
}

/**
 * The requirements of `requirements` that `approvals` do not meet, each approval filling at most one
 * requirement whose roles its principal holds (`mayFill`): how a set of approvals given under one
 * policy reads under another (the command's current one, at execution).
 */
export function unmetBy(approvals: readonly Approval[], requirements: readonly Requirement[], mayFill: (actor: Actor, requirement: Requirement) => boolean): { requirement: Requirement; filled: number }[] {
  const eligible = approvals.map((a) => requirements.flatMap((req, i) => (mayFill(principalOf(a), req) ? [i] : [])));
  const filled = assign(eligible, requirements.map((req) => req.count));
  return requirements.map((requirement, i) => ({ requirement, filled: filled.filter((f) => f === i).length })).filter((x) => x.filled < x.requirement.count);
}

/** "2 from platform-approvers and 1 from security". */
export function requirementsText(requirements: readonly Requirement[]): string {
  return requirements.map((req) => `${req.count} from ${requirementLabel(req)}`).join(' and ');
}

/** The person whose authority an approval carries. */
export function principalOf(a: Pick<Approval, 'approver' | 'onBehalfOf'>): Actor {
  return a.onBehalfOf ?? a.approver;
}
