/**
 * A command's effective policy in words, one line per aspect (who may ask, who must approve, who is
 * sent it, the reason, how long approvers have, when it may run), for `countersign config check` and help.
 * Each aspect is its own function, so a new aspect is a new line.
 */
import type { CommandSpec, RequesterRule } from './catalog';
import { formatDuration, plural } from './duration-text';
import { describeKind, type Roles } from './policy';
import { breakGlassWords, reasonRuleWords, whenItMayRun as scheduleWords } from './policy-words';
import { assign, requirementLabel, requirementsOf } from './quorum';

type Policy = NonNullable<CommandSpec['policy']>;

export interface PolicyLine {
  aspect: string;
  text: string;
}

/**
 * Why no request for the command could ever be approved by the people its approver roles name, or
 * undefined (also when a role lists an Entra group, whose members are not known here). Loading
 * refuses such a quorum (`requirements`); the older `approvals` + `approverRoles` form still loads,
 * so that configs that loaded before keep loading, and this says so instead (config check, start).
 */
export function unapprovableWarning(command: CommandSpec, roles: Roles): string | undefined {
  const p = command.policy;
  if (!p || !command.sensitive || p.requirements) return undefined;
  // After escalation its role's members may decide too.
  const deciding = p.escalation ? [...p.approverRoles, p.escalation.role] : p.approverRoles;
  if (roles.groupsOf(deciding).length > 0) return undefined;
  const people = new Set(deciding.flatMap((role) => roles.membersOf(role).map((id) => id.toLowerCase())));
  if (people.size >= p.approvals) return undefined;
  const held = people.size === 0 ? 'nobody' : `only ${plural(people.size, 'person', 'people')}`;
  return `"${command.name}" needs ${plural(p.approvals, 'approval')} from distinct people, but ${deciding.join(', ')} ${deciding.length > 1 ? 'hold' : 'holds'} ${held}: no request for it can ever be approved. Add people (or an Entra group) to the role, or lower approvals`;
}

/**
 * Why nobody at all may ask for (or run) the command, or undefined: its requester roles name nobody,
 * people or Entra groups. Perhaps meant (a freeze); said so that a role emptied by mistake is seen.
 */
export function nobodyMayAskWarning(command: CommandSpec, roles: Roles): string | undefined {
  const rule = command.sensitive ? command.policy : command.readers;
  if (!rule || rule.requesterRoles.length === 0) return undefined;
  if (roles.groupsOf(rule.requesterRoles).length > 0 || rule.requesterRoles.some((role) => roles.membersOf(role).length > 0)) return undefined;
  const listed = rule.requesterRoles.join(', ');
  return `nobody may ${command.sensitive ? 'ask for' : 'run'} "${command.name}": its requesterRoles (${listed}) hold nobody. Add people (or an Entra group) to ${listed}, or leave requesterRoles out to let anyone in an allowed tenant ${command.sensitive ? 'ask' : 'run it'}`;
}

/**
 * Why nobody could use the command's break-glass, or undefined: a use is asked for as any request is,
 * so its person must hold a break-glass role and one of the requester roles; when the break-glass roles
 * name nobody, or nobody who may ask, it would be refused in the incident it was meant for. Not known
 * (undefined) when either names an Entra group, whose members are not known here.
 */
export function breakGlassUnusableWarning(command: CommandSpec, roles: Roles): string | undefined {
  const p = command.policy;
  const glass = p?.breakGlass;
  if (!p || !glass || !command.sensitive) return undefined;
  if (roles.groupsOf([...glass.roles, ...p.requesterRoles]).length > 0) return undefined;
  const listed = glass.roles.join(', ');
  const people = [...new Set(glass.roles.flatMap((role) => roles.membersOf(role)))];
  if (people.length === 0) return `nobody may use break-glass for "${command.name}": its breakGlass.roles (${listed}) hold nobody. Add the people on call to ${listed}`;
  if (p.requesterRoles.length === 0 || people.some((id) => roles.holdsAny(p.requesterRoles, id))) return undefined;
  const asking = p.requesterRoles.join(', ');
  return `nobody may use break-glass for "${command.name}": the people its breakGlass.roles (${listed}) name hold none of its requesterRoles (${asking}), and a break-glass use is asked for as any request is. Add them to ${asking}, or name a role of people who may ask`;
}

/**
 * Who may ask for the command but could never have a request of theirs approved, or undefined: the
 * requester never counts, so when the approver roles (with the escalation role, which may decide
 * after escalation) hold too few people besides them, their requests can only expire. Known only for
 * the people the requester roles name and when the approver roles list no Entra group (whose members
 * are not known here); a policy nobody at all could meet is unapprovableWarning's (or load's) to name.
 */
export function stuckRequesterWarning(command: CommandSpec, roles: Roles): string | undefined {
  const p = command.policy;
  if (!p || !command.sensitive || p.requesterRoles.length === 0) return undefined;
  const requirements = requirementsOf(p);
  const approverRoles = [...new Set(requirements.flatMap((req) => req.roles))];
  const deciding = p.escalation ? [...approverRoles, p.escalation.role] : approverRoles;
  if (roles.groupsOf(deciding).length > 0) return undefined;
  const people = [...new Set(deciding.flatMap((role) => roles.membersOf(role)))];
  // After escalation, its role's members may fill any requirement still open.
  const fills = (id: string) => requirements.flatMap((req, i) => (roles.holdsAny(req.roles, id) || (p.escalation && roles.has(p.escalation.role, id)) ? [i] : []));
  const counts = requirements.map((req) => req.count);
  const needed = counts.reduce((n, c) => n + c, 0);
  const metWithout = (requester?: string) => assign(people.filter((id) => id !== requester).map(fills), counts).filter((i) => i !== undefined).length >= needed;
  if (!metWithout()) return undefined;
  const stuck = [...new Set(p.requesterRoles.flatMap((role) => roles.membersOf(role)))].filter((id) => people.includes(id) && !metWithout(id));
  if (stuck.length === 0) return undefined;
  const who = stuck.length === 1 ? stuck[0] : `any of ${stuck.length} people (${stuck.join(', ')})`;
  const them = stuck.length === 1 ? 'them' : 'those people';
  return `"${command.name}" can never be approved when ${who} asks for it: it needs ${whoMustApprove(p).replace(/, never the requester$/, '')}, never the requester, and ${deciding.join(', ')} ${deciding.length > 1 ? 'hold' : 'holds'} too few other people. Add people to ${approverRoles.join(' or ')}, or take ${them} out of ${p.requesterRoles.join(', ')}`;
}

/**
 * Why nobody would be sent a request for the command, or undefined: it has no approval channel, and
 * its policy says `notify.approvers: none`, or its approver roles name nobody but Entra groups (whose
 * members Countersign does not enumerate, so it sends them no personal card), so its requests wait
 * unseen until someone types `pending`.
 */
export function unreachedWarning(command: CommandSpec, roles: Roles): string | undefined {
  const p = command.policy;
  if (!p || !command.sensitive || (p.notify?.channels.length ?? 0) > 0) return undefined;
  if (p.notify?.approvers === 'none') {
    return `"${command.name}" says notify.approvers: none and has no approval channel, so nobody is sent its requests, their reminders or their escalation: its approvers would see a request only by typing "pending". Add an approval channel (policy.notify.channels), or let Countersign message them (notify.approvers: personal)`;
  }
  const named = p.approverRoles.some((role) => roles.membersOf(role).length > 0);
  if (named || roles.groupsOf(p.approverRoles).length === 0) return undefined;
  const listed = p.approverRoles.join(', ');
  return `"${command.name}" is approved only by Entra groups (${listed}) and has no approval channel, so nobody is sent its requests: Countersign does not enumerate a group's members to send them cards, and they would see a request only by typing "pending". Add an approval channel (policy.notify.channels), or people by name to ${listed}`;
}

/** The effective policy of a command, as `aspect: text` lines. */
export function policyLines(command: CommandSpec): PolicyLine[] {
  const p = command.policy;
  if (!p || !command.sensitive) {
    const readOnly = { aspect: 'approval', text: 'none: read-only, answered at once' };
    // A read-only command's policy says who may run it and from where (config: policy.requesterRoles, conversations).
    return command.readers ? [{ aspect: 'who may run it', text: whoMayAsk(command.readers) }, readOnly] : [readOnly];
  }
  return [
    { aspect: 'who may ask', text: whoMayAsk(p) },
    { aspect: 'who must approve', text: whoMustApprove(p) },
    { aspect: 'who is sent it', text: whoIsSentIt(p) },
    { aspect: 'reason', text: reasonText(p) },
    { aspect: 'time to decide', text: timeToDecide(p) },
    { aspect: 'when it may run', text: whenItMayRun(p) },
    { aspect: 'break-glass', text: breakGlassWords(p).replace(/^break-glass: /, '') },
  ];
}

function whoMayAsk(p: RequesterRule): string {
  const who = p.requesterRoles.length > 0 ? `members of ${p.requesterRoles.join(' or ')}` : 'anyone in an allowed tenant';
  const where = p.conversationIds.length > 0 ? `, only in ${plural(p.conversationIds.length, 'named conversation')}` : '';
  const kinds = p.conversationTypes.map(describeKind);
  return `${who}, in a ${kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}` : kinds[0]}${where}`;
}

/** "1 from platform-approvers AND 1 from security, by different people, never the requester". */
export function whoMustApprove(p: Pick<Policy, 'approvals' | 'approverRoles' | 'requirements'>): string {
  const each = requirementsOf(p).map((req) => `${req.count} from ${requirementLabel(req)}`);
  const people = p.approvals > 1 ? ', by different people' : '';
  return `${each.join(' AND ')}${people}, never the requester`;
}

/**
 * Where a request's card goes (as `help` in Teams says it, naming the channels here): the approvers in
 * personal chats unless `notify.approvers: none`, and each approval channel (`notify.channels`).
 */
function whoIsSentIt(p: Policy): string {
  const personal = p.notify?.approvers === 'none' ? 'no personal message to approvers (notify.approvers: none)' : 'each approver in a personal chat';
  const channels = p.notify?.channels ?? [];
  return channels.length > 0 ? `${personal}; the card also posted to ${plural(channels.length, 'approval channel')}: ${channels.join(', ')}` : `${personal}; no approval channel`;
}

function reasonText(p: Policy): string {
  return reasonRuleWords(p.reason);
}

/** "2 reminders at most, the last 15 minutes before expiry": help's words and config check's. */
export function reminderWords(reminders: NonNullable<Policy['reminders']>): string {
  return `${plural(reminders.max, 'reminder')} at most, the last ${formatDuration(Math.min(...reminders.beforeExpirySeconds))} before expiry`;
}

function timeToDecide(p: Policy): string {
  const parts = [`within ${formatDuration(p.ttlSeconds)}, then it expires`];
  if (p.reminders) parts.push(`those who have not decided are reminded: ${reminderWords(p.reminders)}`);
  if (p.escalation) {
    const fills = p.requirements ? ', who may fill any requirement still open' : '';
    parts.push(`after ${formatDuration(p.escalation.afterSeconds)} members of ${p.escalation.role} may decide too${fills}`);
  }
  return parts.join('; ');
}

/** The schedule's words (policy-words.ts), then what is checked right before it runs. */
function whenItMayRun(p: Policy): string {
  const when = scheduleWords(p).replace(/^when it may run: /, '');
  return `${when}; right before it runs, the approvers' roles are checked again and a drift check must find the target unchanged`;
}
