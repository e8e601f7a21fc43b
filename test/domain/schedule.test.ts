/** When an approved request may run: the time asked for, maintenance windows, the approval's validity. */
import assert from 'node:assert/strict';
import { longestWait, nextWindowMoment, parseRunAt, plannedRun, type MaintenanceWindow } from '../../src/domain/schedule';
import { expireAfterAuditLoss, missedWindow, moveToNextOpening, scheduleDue } from '../../src/domain/lifecycle';
import { buildRequest } from '../support/requests';

const weekend: MaintenanceWindow = { days: ['sat', 'sun'], from: '02:00', to: '05:00', zone: 'Europe/London' };
const WEEK = 7 * 86_400;

describe('domain: scheduling a run', () => {
  describe('the time asked for (at <time>)', () => {
    const now = new Date('2026-03-02T09:00:00Z'); // a Monday

    it('reads HH:MM as the next such time in the sender\'s zone', () => {
      const p = parseRunAt('22:30', now, 'Europe/Berlin', WEEK);
      assert.ok(p.ok);
      assert.equal(p.runAt.toISOString(), '2026-03-02T21:30:00.000Z');
    });

    it('reads an HH:MM already past today as tomorrow', () => {
      const p = parseRunAt('08:00', now, 'UTC', WEEK);
      assert.ok(p.ok);
      assert.equal(p.runAt.toISOString(), '2026-03-03T08:00:00.000Z');
    });

    it('takes an ISO 8601 time with a zone as given, and one without in the sender\'s zone', () => {
      const z = parseRunAt('2026-03-03T02:00Z', now, 'America/New_York', WEEK);
      const local = parseRunAt('2026-03-03T02:00', now, 'America/New_York', WEEK);
      assert.ok(z.ok && local.ok);
      assert.equal(z.runAt.toISOString(), '2026-03-03T02:00:00.000Z');
      assert.equal(local.runAt.toISOString(), '2026-03-03T07:00:00.000Z');
    });

    it('refuses a time in the past, an unreadable one, and one beyond the approval\'s validity', () => {
      const past = parseRunAt('2026-03-01T02:00Z', now, 'UTC', WEEK);
      const junk = parseRunAt('tomorrowish', now, 'UTC', WEEK);
      const far = parseRunAt('2026-03-10T09:00Z', now, 'UTC', WEEK);
      assert.ok(!past.ok && /not in the future/.test(past.problem));
      assert.ok(!junk.ok && /not a time Countersign can read/.test(junk.problem));
      assert.ok(!far.ok && /too far ahead.*7 days.*maxScheduleAhead/.test(far.problem), JSON.stringify(far));
      // In words, in the sender's zone: no ISO string with milliseconds.
      assert.ok(!far.ok && !/\.\d{3}Z/.test(far.problem.replace(/\([^)]*\)/g, '')), far.ok ? '' : far.problem);
    });

    it('refuses a date the month does not have, or an hour past 23, with a zone as without one, rather than rolling it into the next day', () => {
      // now is 2 March: 31 February or 2 March 24:00 would otherwise be read as 3 March, a date nobody typed.
      for (const typed of ['2026-02-31T02:00Z', '2026-02-31T02:00', '2026-03-02T24:00Z', '2026-03-02T24:00+01:00', '2026-03-02T23:60Z']) {
        const p = parseRunAt(typed, now, 'UTC', WEEK);
        assert.ok(!p.ok && p.problem.startsWith(`"${typed}" is not a time Countersign can read`), `${typed}: ${JSON.stringify(p)}`);
      }
    });

    it('gives examples for tomorrow in the sender\'s zone (never a date already past), and tells a past time back in that zone', () => {
      const junk = parseRunAt('25:00', now, 'Europe/Berlin', WEEK);
      assert.ok(!junk.ok && /"at 2026-03-03T02:00", "at 2026-03-03T02:00Z" or "at 02:00"/.test(junk.problem), JSON.stringify(junk));
      const past = parseRunAt('2026-03-01T02:00', now, 'Europe/Berlin', WEEK);
      assert.ok(!past.ok && past.problem.startsWith('2026-03-01 02:00 Europe/Berlin (2026-03-01T01:00:00.000Z) is not in the future'), JSON.stringify(past));
    });
  });

  describe('maintenance windows', () => {
    it('finds the next opening in the window\'s own zone (British Summer Time included)', () => {
      // Monday 2026-06-01 12:00 UTC: next is Saturday 02:00 BST = 01:00 UTC.
      assert.equal(nextWindowMoment([weekend], new Date('2026-06-01T12:00:00Z'))?.toISOString(), '2026-06-06T01:00:00.000Z');
      // In winter, 02:00 GMT = 02:00 UTC.
      assert.equal(nextWindowMoment([weekend], new Date('2026-03-02T09:00:00Z'))?.toISOString(), '2026-03-07T02:00:00.000Z');
    });

    it('runs at once inside an open window', () => {
      const inside = new Date('2026-03-08T03:10:00Z'); // Sunday 03:10 GMT
      assert.equal(nextWindowMoment([weekend], inside)?.toISOString(), inside.toISOString());
    });

    it('after Sunday\'s window closes, waits for next Saturday', () => {
      assert.equal(nextWindowMoment([weekend], new Date('2026-03-08T05:00:00Z'))?.toISOString(), '2026-03-14T02:00:00.000Z');
    });

    it('opens a window whose hours a daylight-saving jump skips after the jump, never before it, whatever the zone', () => {
      // New York springs forward on Sunday 2027-03-14 at 02:00 EST (07:00 UTC) to 03:00 EDT: 02:15-02:45
      // does not exist that day. Before, the window opened at 01:15 EST (06:15 UTC), an hour before the
      // jump and outside any time the window names; like London's, it now moves forward with the clock.
      const skipped: MaintenanceWindow = { days: ['sun'], from: '02:15', to: '02:45', zone: 'America/New_York' };
      const saturday = new Date('2027-03-13T12:00:00Z');
      assert.equal(nextWindowMoment([skipped], saturday)?.toISOString(), '2027-03-14T07:15:00.000Z'); // 03:15 EDT
      const london: MaintenanceWindow = { days: ['sun'], from: '01:15', to: '01:45', zone: 'Europe/London' };
      assert.equal(nextWindowMoment([london], new Date('2027-03-27T12:00:00Z'))?.toISOString(), '2027-03-28T01:15:00.000Z'); // 02:15 BST
    });

    it('opens a window the jump would leave empty (02:30-03:00 when 02:00 jumps to 03:00) moved forward whole, so it opens that week too', () => {
      const empty: MaintenanceWindow = { days: ['sun'], from: '02:30', to: '03:00', zone: 'America/New_York' };
      // Right after the week before's window closed (Sunday 2027-03-07 03:00 EST): the next opening is
      // the spring-forward Sunday, 02:30 moved forward by the jump (03:30 EDT, 07:30 UTC), for its 30
      // minutes; not the Sunday after (2027-03-21), two weeks on, past an approval valid for 7 days.
      const closed = new Date('2027-03-07T08:00:00Z');
      assert.equal(nextWindowMoment([empty], closed)?.toISOString(), '2027-03-14T07:30:00.000Z');
      const schedule = { windows: [empty], maxAheadSeconds: WEEK };
      assert.ok(plannedRun(schedule, undefined, closed).getTime() <= closed.getTime() + WEEK * 1000, 'it runs within the approval\'s validity');
      // Open for its written length (to 04:00 EDT, 08:00 UTC), then closed until next Sunday's 02:30 EDT.
      assert.equal(nextWindowMoment([empty], new Date('2027-03-14T07:59:00Z'))?.toISOString(), '2027-03-14T07:59:00.000Z');
      assert.equal(nextWindowMoment([empty], new Date('2027-03-14T08:00:00Z'))?.toISOString(), '2027-03-21T06:30:00.000Z');
      // Nothing before the jump, nor between it and the moved opening.
      assert.equal(nextWindowMoment([empty], new Date('2027-03-14T07:00:00Z'))?.toISOString(), '2027-03-14T07:30:00.000Z');
      // Whole, whatever its `to`: 02:30-03:45 is 03:30-04:45 EDT that day, not cut to a quarter of an hour.
      const longer: MaintenanceWindow = { ...empty, to: '03:45' };
      assert.equal(nextWindowMoment([longer], new Date('2027-03-14T08:44:00Z'))?.toISOString(), '2027-03-14T08:44:00.000Z');
      assert.equal(nextWindowMoment([longer], new Date('2027-03-14T08:45:00Z'))?.toISOString(), '2027-03-21T06:30:00.000Z');
      // A window whose `from` the jump does not skip keeps its `to` as read: 01:30-02:30 is 01:30 EST-03:30 EDT.
      const before: MaintenanceWindow = { ...empty, from: '01:30', to: '02:30' };
      assert.equal(nextWindowMoment([before], new Date('2027-03-14T07:30:00Z'))?.toISOString(), '2027-03-21T05:30:00.000Z');
    });

    it('treats a window closing at or before it opens as over midnight', () => {
      const night: MaintenanceWindow = { days: ['fri'], from: '23:00', to: '01:00', zone: 'UTC' };
      // Saturday 00:30 is still inside Friday's window.
      const at = new Date('2026-03-07T00:30:00Z');
      assert.equal(nextWindowMoment([night], at)?.toISOString(), at.toISOString());
    });

    it('combines a requested time with the windows: the first window moment at or after it', () => {
      const schedule = { windows: [weekend], maxAheadSeconds: WEEK };
      const now = new Date('2026-03-02T09:00:00Z');
      assert.equal(plannedRun(schedule, '2026-03-07T04:00:00.000Z', now).toISOString(), '2026-03-07T04:00:00.000Z');
      assert.equal(plannedRun(schedule, '2026-03-07T06:00:00.000Z', now).toISOString(), '2026-03-08T02:00:00.000Z');
      assert.equal(plannedRun(undefined, undefined, now).toISOString(), now.toISOString(), 'nothing asked, no window: now');
    });

    it('knows the longest wait from a window\'s close to the next opening, daylight saving included, for checking the approval\'s validity', () => {
      const hours = (n: number) => n * 3600;
      // Sunday 05:00 to Saturday 02:00, and London's autumn hour that comes twice.
      assert.equal(longestWait([weekend]), hours(6 * 24 - 3 + 1));
      assert.equal(longestWait([{ ...weekend, days: ['wed'] }]), hours(7 * 24 - 3 + 1));
      assert.equal(longestWait([{ ...weekend, days: ['wed'], zone: 'UTC' }]), hours(7 * 24 - 3), 'no daylight saving: the wait as written');
      assert.equal(longestWait([{ days: ['fri'], from: '23:00', to: '01:00', zone: 'UTC' }]), hours(7 * 24 - 2), 'over midnight');
      // Two windows on one day: the wait is from the later one's close.
      assert.equal(longestWait([{ days: ['mon'], from: '00:00', to: '00:30', zone: 'UTC' }, { days: ['mon'], from: '23:00', to: '23:30', zone: 'UTC' }]), hours(6 * 24) + 1800);
      assert.equal(longestWait([]), 0);
    });

    it('waits 7 days and 30 minutes for a weekly 30-minute window the week the clocks fall back, as longestWait says', () => {
      const short: MaintenanceWindow = { days: ['sun'], from: '02:00', to: '02:30', zone: 'America/New_York' };
      const closed = new Date('2026-10-25T06:30:00Z'); // Sunday 02:30 EDT
      const next = nextWindowMoment([short], closed)!;
      assert.equal(next.toISOString(), '2026-11-01T07:00:00.000Z'); // Sunday 02:00 EST
      assert.equal((next.getTime() - closed.getTime()) / 1000, longestWait([short]));
      assert.ok(longestWait([short]) > WEEK, 'more than the 7 days assumed before');
    });
  });

  describe('a window missed while nobody ran', () => {
    const windows: MaintenanceWindow[] = [{ days: ['sat'], from: '02:00', to: '05:00', zone: 'UTC' }];
    const scheduled = (expiresAt: string) => ({ ...buildRequest(), state: 'scheduled' as const, runAt: '2026-03-07T02:00:00.000Z', expiresAt, policy: { ...buildRequest().policy, schedule: { windows, maxAheadSeconds: 604_800 } } });

    it('is due only inside the window, and missed once the window closed', () => {
      const r = scheduled('2026-03-20T00:00:00.000Z');
      assert.equal(scheduleDue(r, new Date('2026-03-07T04:59:00Z')), true);
      assert.equal(scheduleDue(r, new Date('2026-03-07T05:00:00Z')), false, 'closed: never late');
      assert.equal(missedWindow(r, new Date('2026-03-07T04:59:00Z')), false);
      assert.equal(missedWindow(r, new Date('2026-03-07T05:00:00Z')), true);
      const t = moveToNextOpening(r, new Date('2026-03-07T06:00:00Z'));
      assert.ok(t.ok);
      assert.equal(t.request.runAt, '2026-03-14T02:00:00.000Z');
      assert.deepEqual(t.events.map((e) => [e.type, (e.data as { missed?: string }).missed]), [['request.scheduled', '2026-03-07T02:00:00.000Z']]);
      assert.equal(moveToNextOpening(t.request, new Date('2026-03-07T06:00:00Z')).ok, false, 'moved: not missed any more');
    });

    it('says it will expire unstarted when no opening comes before the approval ends', () => {
      const t = moveToNextOpening(scheduled('2026-03-10T00:00:00.000Z'), new Date('2026-03-07T06:00:00Z'));
      assert.ok(t.ok);
      assert.match(t.events[0].outcome.detail ?? '', /no opening comes before its approval ends at 2026-03-10T00:00:00\.000Z, so it will expire unstarted$/);
    });
  });

  describe('a loss of audit records accepted while it waited to run', () => {
    const at = new Date('2026-03-08T00:00:00Z');
    it('expires a request still open (waiting for approval, approved or scheduled) unrun, saying where the log ended; nothing else', () => {
      for (const state of ['approved', 'scheduled'] as const) {
        const t = expireAfterAuditLoss({ ...buildRequest(), state }, at, 812);
        assert.ok(t.ok, state);
        assert.equal(t.request.state, 'expired');
        assert.equal(t.request.updatedAt, at.toISOString());
        assert.match(t.request.outcomeDetail ?? '', new RegExp(`^Not executed: it was ${state} when a loss of audit records was accepted \\(countersign audit accept-loss; the log then ended at record 812\\)`));
        assert.deepEqual(t.events.map((e) => [e.type, e.data?.afterAuditLoss]), [['request.expired', 812]]);
      }
      for (const [state, was] of [['pending', 'waiting for approval'], ['needs_reapproval', 'waiting for approval again']] as const) {
        const t = expireAfterAuditLoss({ ...buildRequest(), state }, at, 812);
        assert.ok(t.ok, state);
        assert.equal(t.request.state, 'expired');
        assert.match(t.request.outcomeDetail ?? '', new RegExp(`^Not executed: it was ${was} when a loss of audit records was accepted \\(countersign audit accept-loss; the log then ended at record 812\\), and what was lost may show it was approved and already ran \\(or was rejected or cancelled\\), so it is not offered for approval again\\.`));
        assert.deepEqual(t.events.map((e) => [e.type, e.data?.afterAuditLoss]), [['request.expired', 812]]);
      }
      for (const state of ['executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'] as const) assert.equal(expireAfterAuditLoss({ ...buildRequest(), state }, at, 812).ok, false, state);
      const empty = expireAfterAuditLoss({ ...buildRequest(), state: 'approved' }, at, undefined);
      assert.ok(empty.ok);
      assert.match(empty.request.outcomeDetail ?? '', /\(countersign audit accept-loss; the log was then empty\)/);
      assert.equal(empty.events[0].data?.afterAuditLoss, null);
    });
  });
});
