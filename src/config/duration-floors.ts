/**
 * The shortest each duration key may be. Below these a value is a slip (`ttl: 1s` for `ttl: 1h`)
 * that loads and then does harm in use: requests that expire before an approver can click, reviews
 * overdue at once, Microsoft Graph asked at every click. Each is checked where it is written.
 */
import { durationOrZero, parseDuration } from './duration';
import type { RawConfig } from './types';
import type { At } from './validate';

/** Each duration key's least value, as the config writes it, and why, as its problem says it. */
const DURATION_FLOORS = {
  ttl: { least: '5m', why: 'a request waiting less for its approvals can expire before an approver has seen its card and decided' },
  maxScheduleAhead: { least: '1h', why: 'an approval valid for less can run out before the approved request has started (executions wait their turn, a restart resumes them)' },
  after: { least: '5m', why: 'escalating sooner leaves the approvers no time to answer first; to have the role decide from the start, list it among the approvers' },
  reminder: { least: '1m', why: 'a reminder sent less than that before expiry comes too late to act on' },
  reviewWithin: { least: '1h', why: 'a break-glass use reviewed within less would be overdue before an approver could look at it' },
  per: { least: '1h', why: 'uses counted over less than that limit nothing the request rate does not already' },
  cacheLifetime: { least: '30s', why: 'a shorter one asks Microsoft Graph again at nearly every click, and Graph throttles' },
  checkpointInterval: { least: '1m', why: 'signing more often adds a checkpoint record and a line of the checkpoint file each time, and vouches for nothing more (every start, execution and outcome is signed besides)' },
  maxDuration: { least: '1h', why: 'a delegation that may last less is no cover for an absence' },
} as const;

type Floor = keyof typeof DURATION_FLOORS;

/**
 * The least distance of a reminder point from expiry, and from the request's asking, in seconds: a
 * point written as a share of the time to live (`1%` of 1h is 36 s before expiry, `99%` of 5m 3 s
 * after the request) is held to it as one written as a duration is, once its time to live is known.
 */
export const REMINDER_LEAST = {
  seconds: parseDuration(DURATION_FLOORS.reminder.least),
  text: DURATION_FLOORS.reminder.least,
  why: DURATION_FLOORS.reminder.why,
  whyAfter: 'a reminder sent sooner reaches approvers before they could have seen the card',
} as const;

export function checkDurationFloors(input: RawConfig, at: At): void {
  const check = (floor: Floor, text: unknown, key: (string | number)[], name: string = floor) => {
    if (typeof text !== 'string') return;
    // A value that is no duration (0 here) is said by the schema.
    const seconds = durationOrZero(text);
    const { least, why } = DURATION_FLOORS[floor];
    if (seconds > 0 && seconds < parseDuration(least)) at(key, `\`${name}\` must be at least ${least}: ${why} (got ${text})`);
  };
  const reach = (raw: Pick<NonNullable<RawConfig['defaults']>, 'ttl' | 'maxScheduleAhead' | 'escalation' | 'reminders'> | undefined, key: (string | number)[]) => {
    check('ttl', raw?.ttl, [...key, 'ttl']);
    check('maxScheduleAhead', raw?.maxScheduleAhead, [...key, 'maxScheduleAhead']);
    check('after', raw?.escalation?.after, [...key, 'escalation', 'after'], 'escalation.after');
    (Array.isArray(raw?.reminders?.at) ? raw.reminders.at : []).forEach((point, j) => {
      if (typeof point === 'string' && !point.endsWith('%')) check('reminder', point, [...key, 'reminders', 'at', j], 'reminders.at');
    });
  };
  reach(input.defaults, ['defaults']);
  (Array.isArray(input.commands) ? input.commands : []).forEach((c, i) => {
    const key = ['commands', i, 'policy'];
    reach(c?.policy, key);
    check('reviewWithin', c?.policy?.breakGlass?.reviewWithin, [...key, 'breakGlass', 'reviewWithin'], 'breakGlass.reviewWithin');
    check('per', c?.policy?.breakGlass?.maxUses?.per, [...key, 'breakGlass', 'maxUses', 'per'], 'breakGlass.maxUses.per');
  });
  check('cacheLifetime', input.directory?.cacheLifetime, ['directory', 'cacheLifetime']);
  check('checkpointInterval', input.audit?.checkpointInterval, ['audit', 'checkpointInterval']);
  check('maxDuration', input.delegation?.maxDuration, ['delegation', 'maxDuration']);
}
