/**
 * Reminders: at the policy's points before expiry, at most its maximum, the people who may decide a
 * request and have not get its card again with a line saying why. Each reminder is recorded on the
 * request (compare-and-swap, audited as request.reminded) before it is sent, so of several instances
 * sweeping at once only the one whose write won sends it, and a restart neither repeats nor loses it.
 * A reminder that could not be sent is not sent again: the next point is the next chance.
 */
import { describeUntil } from '../domain/delegation-time';
import { formatDuration } from '../domain/duration-text';
import { dueReminder, peopleToDecide, remind } from '../domain/lifecycle';
import { DECIDABLE_STATES, type ApprovalRequest } from '../domain/request';
import { transact, type AppDeps } from './context';
import { announcingAfter, notifyPolicy, reach } from './notifications';

/** Sends every reminder due now; returns the ids of the requests reminded. */
export async function sweepReminders(deps: AppDeps): Promise<string[]> {
  if (!deps.messenger) return [];
  const now = deps.clock.now();
  const open = await deps.store.requests.list({ states: [...DECIDABLE_STATES] });
  const reminded: string[] = [];
  const roles = deps.config.access.roles;
  // A request with nobody to remind (approvers: none and no channels) keeps its reminders unsent and unaudited.
  for (const r of open.filter((x) => dueReminder(x, now) && hasAudience(audienceOf(x, roles)))) {
    // The reminder's round is recorded with it (round-resume.ts takes it up again if cut short).
    const outcome = await transact(
      deps,
      r.id,
      (current) => announcingAfter(deps, remind(current, now, everyone(audienceOf(current, roles))), 'reminder', now, (x) => audienceOf(x, roles)),
      { refreshCards: false },
    );
    // Another instance recorded it first, or the request was decided meanwhile: nothing to send.
    if (!outcome?.result.ok) continue;
    const request = outcome.result.request;
    await reach(deps, request, 'reminder', request.round ?? audienceOf(request, roles), reminderText(request, now));
    reminded.push(r.id);
  }
  if (reminded.length > 0) deps.log.info({ reminded }, 'reminders sent');
  return reminded;
}

/** Reminders go to personal chats; with `approvers: none`, to the approval channels instead. */
function audienceOf(r: ApprovalRequest, roles: Parameters<typeof peopleToDecide>[1]): { people: string[]; channels: string[] } {
  const notify = notifyPolicy(r);
  return notify.approvers === 'personal' ? { people: peopleToDecide(r, roles), channels: [] } : { people: [], channels: notify.channels };
}

function everyone(a: { people: string[]; channels: string[] }): string[] {
  return [...a.people, ...a.channels];
}

function hasAudience(a: { people: string[]; channels: string[] }): boolean {
  return everyone(a).length > 0;
}

/** Which request, what it asks, when it expires, and that the card with it is where to decide. */
export function reminderText(r: ApprovalRequest, now: Date): string {
  const left = formatDuration((Date.parse(r.expiresAt) - now.getTime()) / 1000);
  const what = [r.command, ...Object.values(r.parameters)].join(' ');
  return `Reminder ${r.reminders?.sent ?? 1}: request ${r.id} (${what}) from ${r.requester.name} is still waiting for a decision. It expires in ${left}, at ${describeUntil(new Date(r.expiresAt), 'UTC')}. Approve or reject it on the card below.`;
}
