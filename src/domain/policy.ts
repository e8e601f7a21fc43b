/**
 * Who may do what: tenants, roles (lists of Entra object ids: people, and groups written
 * `group:<object id>`) and the per-command policy checks for requesting. Deciding is checked in lifecycle/decision.ts, with the approver test supplied from here.
 */
import type { CommandSpec, RequesterRule } from './catalog';
import { listedAs } from './conversation-ids';
import type { Actor, ApprovalRequest, ConversationKind, Source } from './request';
import { type Refusal, RefusalReason, refusal } from './refusal';

/** How a role lists an Entra group rather than a person. */
export const GROUP_PREFIX = 'group:';

/**
 * The people (and Entra groups) holding each role. Group membership is never looked up here: the app
 * resolves it first (Microsoft Graph) and hands over `withGroupMembership`, so every check stays synchronous.
 */
export class Roles {
  private readonly members: Map<string, Set<string>>;
  private readonly groups: Map<string, Set<string>>;

  constructor(roles: Record<string, string[]>) {
    const split = (ids: string[], groups: boolean) =>
      new Set(ids.filter((id) => id.toLowerCase().startsWith(GROUP_PREFIX) === groups).map((id) => id.toLowerCase().replace(GROUP_PREFIX, '')));
    this.members = new Map(Object.entries(roles).map(([name, ids]) => [name, split(ids, false)]));
    this.groups = new Map(Object.entries(roles).map(([name, ids]) => [name, split(ids, true)]));
  }

  /** The Entra group object ids (lowercase) that these roles list. */
  groupsOf(roles: readonly string[]): string[] {
    return [...new Set(roles.flatMap((role) => [...(this.groups.get(role) ?? [])]))];
  }

  /**
   * These roles with one person added to every role that lists one of `groupIds` (the groups Microsoft
   * Graph says they are a member of, directly or through nested groups).
   */
  withGroupMembership(aadObjectId: string, groupIds: Iterable<string>): Roles {
    const memberOf = new Set([...groupIds].map((g) => g.toLowerCase()));
    // (Object.fromEntries defines each name as its own key: a plain `listed[name] =` lost a role named __proto__.)
    const listed = Object.fromEntries(
      [...this.members].map(([name, people]): [string, string[]] => {
        const viaGroup = [...(this.groups.get(name) ?? [])].some((g) => memberOf.has(g));
        return [name, [...people, ...[...(this.groups.get(name) ?? [])].map((g) => GROUP_PREFIX + g), ...(viaGroup ? [aadObjectId] : [])]];
      }),
    );
    return new Roles(listed);
  }

  has(role: string, aadObjectId: string): boolean {
    return this.members.get(role)?.has(aadObjectId.toLowerCase()) ?? false;
  }

  holdsAny(roles: readonly string[], aadObjectId: string): boolean {
    return roles.some((role) => this.has(role, aadObjectId));
  }

  rolesOf(aadObjectId: string): string[] {
    return [...this.members.keys()].filter((role) => this.has(role, aadObjectId));
  }

  /** Everyone listed by name in the role (lowercase object ids); members of its groups are not enumerated. */
  membersOf(role: string): string[] {
    return [...(this.members.get(role) ?? [])];
  }

  get names(): string[] {
    return [...this.members.keys()];
  }
}

export class AccessPolicy {
  private readonly tenants: Set<string>;

  constructor(
    tenants: string[],
    readonly roles: Roles,
  ) {
    this.tenants = new Set(tenants.map((t) => t.toLowerCase()));
  }

  tenantAllowed(tenantId: string | undefined): boolean {
    return !!tenantId && this.tenants.has(tenantId.toLowerCase());
  }

  /** Checks the tenant and that the activity carries an Entra identity at all. */
  checkActor(actor: Partial<Actor>): Refusal | undefined {
    if (!actor.aadObjectId) {
      return refusal(RefusalReason.MissingIdentity, 'Your Microsoft Entra identity was not sent with this message, so Countersign cannot check your roles.');
    }
    if (!this.tenantAllowed(actor.tenantId)) {
      return refusal(RefusalReason.TenantNotAllowed, `Tenant ${actor.tenantId ?? '(none)'} is not allowed to use Countersign.`);
    }
    return undefined;
  }

  /** May this person ask for this command from this conversation? */
  checkRequester(command: CommandSpec, actor: Actor, source: Source): Refusal | undefined {
    const denied = this.checkActor(actor);
    if (denied) return denied;
    const policy = command.policy ?? command.readers;
    if (!policy) return undefined;
    // A read-only command is run at once, not requested.
    const [ask, asked] = command.sensitive ? ['request', 'requested'] : ['run', 'run'];
    if (policy.requesterRoles.length > 0 && !this.roles.holdsAny(policy.requesterRoles, actor.aadObjectId)) {
      return refusal(
        RefusalReason.NotAllowedToRequest,
        `You cannot ${ask} "${command.name}": it needs ${rolesText(policy.requesterRoles)}.`,
      );
    }
    const outside = outsideConversations(policy, source);
    if (outside === 'type') {
      return refusal(
        RefusalReason.ConversationNotAllowed,
        `"${command.name}" cannot be ${asked} in a ${describeKind(source.conversationType)}; allowed: ${policy.conversationTypes.map(describeKind).join(', ')}.`,
      );
    }
    if (outside === 'id') {
      const n = policy.conversationIds.length;
      return refusal(
        RefusalReason.ConversationNotAllowed,
        `"${command.name}" cannot be ${asked} in this conversation: its policy lets it be ${asked} only in ${n === 1 ? '1 other conversation' : `${n} other conversations`} (conversations.ids); ask there, or ask the team that runs Countersign which.`,
      );
    }
    return undefined;
  }

  /** The same policy, with one person's group memberships resolved (Roles.withGroupMembership). */
  withGroupMembership(aadObjectId: string, groupIds: Iterable<string>): AccessPolicy {
    return new AccessPolicy([...this.tenants], this.roles.withGroupMembership(aadObjectId, groupIds));
  }

  isApproverFor(approverRoles: readonly string[], actor: Pick<Actor, 'aadObjectId' | 'tenantId'>): boolean {
    return this.tenantAllowed(actor.tenantId) && this.roles.holdsAny(approverRoles, actor.aadObjectId);
  }
}

/**
 * Who may, by role, in words: `the role "auditors"`, or `one of the roles "requesters" or "auditors"`
 * (each name quoted: a role named like a word, "auditors", otherwise reads as part of the sentence).
 */
export function rolesText(roles: readonly string[]): string {
  const quoted = roles.map((r) => `"${r}"`);
  if (quoted.length <= 1) return `the role ${quoted[0] ?? '(none)'}`;
  return `one of the roles ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * The roles whose members may decide the request now: the approver roles named when it was made (or
 * `approverRoles`, the current config's, for the re-check at execution), plus the escalation role
 * once the request was escalated. Every check of who may decide a request goes through here.
 */
export function decidingRoles(r: Pick<ApprovalRequest, 'policy' | 'escalation'>, approverRoles: readonly string[] = r.policy.approverRoles): string[] {
  const roles = [...approverRoles];
  if (r.escalation && !roles.includes(r.escalation.role)) roles.push(r.escalation.role);
  return roles;
}

/**
 * Whether a conversation is outside where a command may be asked for (`conversations`): by its type,
 * or not among the conversations listed; undefined when inside. Asked when it is asked for, and again
 * before what was asked runs (lifecycle/claim.ts).
 */
export function outsideConversations(rule: Pick<RequesterRule, 'conversationTypes' | 'conversationIds'>, source: Pick<Source, 'conversationId' | 'conversationType'>): 'type' | 'id' | undefined {
  if (!rule.conversationTypes.includes(source.conversationType)) return 'type';
  // A channel listed takes its threads, as which Teams names a channel's every message (conversation-ids.ts).
  if (rule.conversationIds.length > 0 && !rule.conversationIds.some((c) => listedAs(c, source.conversationId))) return 'id';
  return undefined;
}

export function describeKind(kind: ConversationKind): string {
  return kind === 'personal' ? 'personal chat' : kind === 'groupChat' ? 'group chat' : 'channel';
}
