/**
 * Requests still waiting for approval that the config as it is now would not let run (a restart with
 * another config took their command out or made it read-only, took their requester out of its
 * requester roles, or made its reason or conversations rule stricter): what the current config says
 * of asking for one (asking-rules.ts judges it, in the claim's terms), and ending one that can never
 * run. An Approve click ends it (decisions.ts); so does Countersign itself, rather than remind anyone
 * of it or escalate it (reminders.ts, escalation.ts), and at the start, every one (countersign.ts refreshCards).
 */
import { endIfUnaskable, notExecutedText, oweOutcomeMessage, type AskingRules, type CommandGone } from '../domain/lifecycle';
import type { AccessPolicy } from '../domain/policy';
import { isDecidable, type ApprovalRequest } from '../domain/request';
import { currentCommand, transact, type AppDeps } from './context';
import { askingRolesOf, askingRulesNow, breakGlassNow, commandGoneNow, requesterMayNow } from './execution-evidence';
import { accessWithGroups } from './group-access';
import { eachRequest } from './sweep-each';
import { sendEndingMessage } from './outcome-message';

/**
 * What the current config says of asking for a request, as an approval checks it, in the claim's own
 * terms (execution-evidence.ts): its command gone, or its rules now and whether its requester may still
 * ask. `requester`: the roles the requester holds, with their Entra groups when `groupsKnown`; a role
 * they could hold only through a group not looked up (a view), or that Graph did not answer about, is
 * taken as held: a request is ended only for a loss that is known.
 */
export function askingNowIn(deps: AppDeps, requester: Pick<AccessPolicy, 'roles'>, groupsKnown: boolean): (r: ApprovalRequest) => AskingRules | CommandGone {
  const holds = { roles: { holdsAny: (roles: readonly string[], id: string) => requester.roles.holdsAny(roles, id) || (!groupsKnown && requester.roles.groupsOf(roles).length > 0) } };
  return (r) => {
    const command = currentCommand(deps, r.command);
    const policy = command?.policy;
    if (!command || !policy) return commandGoneNow(r.command, command);
    return { requesterMay: requesterMayNow(policy, r, holds), ...breakGlassNow(command, r, holds), ...askingRulesNow(policy) };
  };
}

/**
 * For an approval of this request, or Countersign's own look at it: what the current config says of
 * asking for it, its requester's Entra groups looked up as the claim looks them up (Graph is asked
 * only about roles they do not hold by name; not answering ends nothing).
 */
export async function askingNowFor(deps: AppDeps, r: ApprovalRequest | undefined): Promise<(r: ApprovalRequest) => AskingRules | CommandGone> {
  const policy = r ? currentCommand(deps, r.command)?.policy : undefined;
  if (!r || !policy) return askingNowIn(deps, deps.config.access, false);
  const found = await accessWithGroups(deps, [r.requester], askingRolesOf(policy, r), r.id, false);
  if (!found.ok) deps.log.warn({ requestId: r.id, reason: found.problem }, 'requester\'s group membership unknown: the request is not ended for it');
  return askingNowIn(deps, found.access, found.ok);
}

/**
 * Ends `r` (as read by a sweep or the start) when the config as it is now would not let it run, by
 * Countersign itself: failed, `approval.revoked` with the claim's reason and words (no actor, as
 * expiry), its card updated and its requester told, as after an Approve click that ends it. A
 * compare-and-swap on the request's version: of several instances (or a click at the same moment),
 * only the one whose write won tells anyone. Returns whether this call ended it.
 */
export async function endUnaskableRequest(deps: AppDeps, r: ApprovalRequest): Promise<boolean> {
  const now = deps.clock.now();
  const askingNow = await askingNowFor(deps, r);
  // Judged first on the row the caller read: a request that may still run costs no further read.
  if (!endIfUnaskable(r, now, askingNow(r)).ok) return false;
  // Its requester's message is written as owed with the end (outcome-message.ts): a run killed before it went still sends it.
  const outcome = await transact(deps, r.id, (current) => oweOutcomeMessage(endIfUnaskable(current, now, askingNow(current)), now, notExecutedText), { readBackUnknownCommit: true });
  if (!outcome?.result.ok) return false;
  const ended = outcome.result.request;
  deps.log.info({ requestId: ended.id, reason: outcome.result.events[0]?.outcome.reason }, 'request ended: the config as it is now would not let it run');
  sendEndingMessage(deps, ended, outcome.before);
  return true;
}

/**
 * The start's look at every request still waiting for approval (however long unchanged: the config
 * is read at the start, so a request that can never run under it is found there even with no
 * reminder or escalation to fall due): those that can never run are ended (endUnaskableRequest). A request that could not
 * be looked at is named in the log (eachRequest) and left to its next reminder, escalation or click;
 * returns the ids of those ended, whose cards their end updated.
 */
export async function endUnaskableAtStart(deps: AppDeps, open: readonly ApprovalRequest[]): Promise<Set<string>> {
  const ended = new Set<string>();
  await eachRequest(deps, 'ending the requests the config no longer lets run', open.filter(isDecidable), async (r) => {
    if (await endUnaskableRequest(deps, r)) ended.add(r.id);
  }).catch(() => undefined);
  return ended;
}
