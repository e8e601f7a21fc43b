/**
 * Reminders: at the policy's points before expiry, at most its maximum, the people who may decide a
 * request and have not get its card again with a line saying why. Each reminder is recorded on the
 * request (compare-and-swap, audited as request.reminded) before it is sent, so of several instances
 * sweeping at once only the one whose write won sends it, and a restart neither repeats nor loses it.
 * A reminder that could not be sent is not sent again: the next point is the next chance. A request
 * the config as it is now would never let run is ended at its reminder point instead (unaskable.ts).
 */
import { commandWords } from '../domain/command-words';
import { describeUntil } from '../domain/delegation-time';
import { formatDuration } from '../domain/duration-text';
import { dueReminder, fillsOpenRequirement, peopleToDecide, remind } from '../domain/lifecycle';
import { decidingRoles, type Roles } from '../domain/policy';
import { withDistinctNames } from '../domain/display-names';
import { DECIDABLE_STATES, type ApprovalRequest } from '../domain/request';
import { commandNamesOf, transact, type AppDeps } from './context';
import { announcingAfter, decidersAudience, delegatesOf, delegationsToTell, noDelegations, notifyPolicy, reach, type Delegations } from './notifications';
import { eachRequest, requestsWhere } from './sweep-each';
import { endUnaskableRequest } from './unaskable';

/** Sends every reminder due now; returns the ids of the requests reminded. */
export async function sweepReminders(deps: AppDeps): Promise<string[]> {
  if (!deps.messenger) return [];
  const now = deps.clock.now();
  const due = await requestsWhere(deps, { states: [...DECIDABLE_STATES] }, (x) => dueReminder(x, now) !== undefined);
  const reminded: string[] = [];
  // The delegates of those reminded are reminded too (delegation.md): as the delegations stand now.
  const inForce = due.length > 0 ? await delegationsToTell(deps) : noDelegations(deps);
  const audienceOf = (x: ApprovalRequest) => toRemind(deps, x, inForce);
  const ended: string[] = [];
  try {
    await eachRequest(deps, 'reminder sweep', due, async (r) => {
      // One the config as it is now would never let run is ended instead: nobody is asked to approve it again, its requester is told.
      if (await endUnaskableRequest(deps, r)) {
        ended.push(r.id);
        return;
      }
      // A request with nobody to remind (approvers: none and no channels) keeps its reminders unsent and unaudited.
      if (!hasAudience(audienceOf(r))) return;
      let audience = audienceOf(r);
      // The reminder's round is recorded with it (round-resume.ts takes it up again if cut short).
      const outcome = await transact(
        deps,
        r.id,
        (current) => {
          // Whoever the escalation sent the card moments ago is not reminded at the same point: that card is the news.
          const told = justEscalatedTo(deps, current, now, inForce);
          audience = without(audienceOf(current), told);
          if (!hasAudience(audience)) return remind(current, now, [], 'everyone it would go to was sent the card by the escalation just now');
          return announcingAfter(deps, remind(current, now, everyone(audience)), 'reminder', now, (x) => without(audienceOf(x), told));
        },
        { refreshCards: false, readBackUnknownCommit: true },
      );
      // Another instance recorded it first, or the request was decided meanwhile: nothing to send.
      if (!outcome?.result.ok || !hasAudience(audience)) return;
      const request = outcome.result.request;
      await reach(deps, request, 'reminder', request.round ?? audience, (zone) => reminderText(request, now, zone, commandNamesOf(deps)));
      reminded.push(r.id);
    });
  } finally {
    if (reminded.length > 0) deps.log.info({ reminded }, 'reminders sent');
    if (ended.length > 0) deps.log.info({ ended }, 'requests the config no longer lets run ended instead of reminded');
  }
  return reminded;
}

/**
 * Reminders go to personal chats; with `approvers: none`, to the approval channels instead. The
 * members of a deciding role's Entra groups are sent no personal card (they are not enumerated):
 * they were sent the request in the approval channels, so they are reminded there too. In a quorum,
 * someone whose roles are met already is not reminded: their approval would fill nothing. The
 * delegates of those who would be reminded, whose delegation is in force (`told`), a delegator who
 * decides through a group among them, are reminded with them, each once: their approval fills what
 * their delegator's would.
 */
function toRemind(deps: AppDeps, r: ApprovalRequest, told: Delegations): { people: string[]; channels: string[] } {
  const notify = notifyPolicy(r);
  const roles = deps.config.access.roles;
  if (notify.approvers !== 'personal') return { people: [], channels: notify.channels };
  const needed = (held: Roles) =>
    peopleToDecide(r, held).filter((id) => fillsOpenRequirement(r, { aadObjectId: id, tenantId: r.requester.tenantId, name: id }, (names, a) => held.holdsAny(names, a.aadObjectId)));
  const delegates = [...delegatesOf(deps, r, needed(told.roles), told).keys()];
  return { people: [...needed(roles), ...delegates], channels: roles.groupsOf(decidingRoles(r)).length > 0 ? notify.channels : [] };
}

/** How recently an escalation must have sent its card for a reminder due now to skip those it reached. */
const JUST_ESCALATED_MS = 60_000;

/** Those the escalation sent the card to, when it did so less than a minute ago (or in this same sweep). */
function justEscalatedTo(deps: AppDeps, r: ApprovalRequest, now: Date, inForce: Delegations): { people: string[]; channels: string[] } {
  if (!r.escalation || now.getTime() - Date.parse(r.escalation.at) >= JUST_ESCALATED_MS) return { people: [], channels: [] };
  return decidersAudience(deps, r, 'escalated', inForce);
}

function without(a: { people: string[]; channels: string[] }, told: { people: string[]; channels: string[] }): { people: string[]; channels: string[] } {
  const out = (ids: string[], gone: string[]) => ids.filter((id) => !gone.some((g) => g.toLowerCase() === id.toLowerCase()));
  return { people: out(a.people, told.people), channels: out(a.channels, told.channels) };
}

function everyone(a: { people: string[]; channels: string[] }): string[] {
  return [...a.people, ...a.channels];
}

function hasAudience(a: { people: string[]; channels: string[] }): boolean {
  return everyone(a).length > 0;
}

/**
 * Which request, what it asks, when it expires (in the reader's zone, with the UTC instant; UTC
 * alone in a channel, read in any zone), and that the card with it is where to decide.
 */
export function reminderText(r: ApprovalRequest, now: Date, zone = 'UTC', commandNames: readonly string[] = []): string {
  // In whole minutes past two (a sweep runs every 15 s: "29 minutes 47 seconds" says nothing more); the time itself follows.
  const seconds = (Date.parse(r.expiresAt) - now.getTime()) / 1000;
  const left = formatDuration(seconds >= 120 ? Math.round(seconds / 60) * 60 : seconds);
  const what = commandWords(r.command, r.parameters, commandNames);
  return `Reminder ${r.reminders?.sent ?? 1}: request ${r.id} (${what}) from ${withDistinctNames(r).requester.name} is still waiting for a decision. It expires in ${left}, at ${describeUntil(new Date(r.expiresAt), zone)}. Approve or reject it on the card below.`;
}
