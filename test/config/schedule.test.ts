/** The keys that say when a command may run: windows and maxScheduleAhead; and breakGlass's durations. */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load';
import { configWith, lineIn, problemsOf, POLICY_FILE } from './fixtures';

const WEEKEND = 'windows: [{ days: [sat, sun], from: "02:00", to: "05:00", zone: Europe/London }]';

describe('config: when a command may run (windows, maxScheduleAhead)', () => {
  it('says nothing by default: any time, approvals valid for the default 7 days', () => {
    assert.equal(parseConfig(configWith([]), POLICY_FILE).catalog.find('drop group')?.policy?.schedule, undefined);
  });

  it('builds the windows and the validity a policy states', () => {
    const policy = parseConfig(configWith([WEEKEND, 'maxScheduleAhead: 10d']), POLICY_FILE).catalog.find('drop group')?.policy;
    assert.deepEqual(policy?.schedule, { windows: [{ days: ['sat', 'sun'], from: '02:00', to: '05:00', zone: 'Europe/London' }], maxAheadSeconds: 10 * 86_400 });
  });

  it('refuses a zone Intl does not know, at its line', () => {
    const line = 'windows: [{ days: [sat], from: "02:00", to: "05:00", zone: Europe/Londn }]';
    const text = configWith([line]);
    const [p] = problemsOf(text);
    assert.equal(p.key, 'commands[0].policy.windows[0].zone');
    assert.equal(p.line, lineIn(text, line));
    assert.match(p.problem, /"Europe\/Londn" is not a time zone this runtime knows/);
  });

  it('refuses a window that opens and closes at once, a day that is not one, and a time that is not HH:MM', () => {
    assert.match(problemsOf(configWith(['windows: [{ days: [sat], from: "02:00", to: "02:00", zone: UTC }]']))[0].problem, /would never be open/);
    assert.equal(problemsOf(configWith(['windows: [{ days: [saturday], from: "02:00", to: "05:00", zone: UTC }]']))[0].key, 'commands[0].policy.windows[0].days[0]');
    const time = problemsOf(configWith(['windows: [{ days: [sat], from: "25:00", to: "05:00", zone: UTC }]']))[0];
    assert.equal(time.key, 'commands[0].policy.windows[0].from');
    assert.equal(time.problem, '`from` must be a time of day as HH:MM on a 24-hour clock, such as 02:00 or 18:30');
  });

  it('refuses an approval validity shorter than the wait for the next window, where it is written', () => {
    const own = problemsOf(configWith([WEEKEND, 'maxScheduleAhead: 2d']));
    assert.equal(own[0].key, 'commands[0].policy.maxScheduleAhead');
    // Sunday 05:00 to Saturday 02:00, and the autumn's hour that comes twice.
    assert.match(own[0].problem, /valid for 2 days can run out before the next window opens \(up to 5 days 22 hours from a window's close to the next opening, daylight saving included\); make maxScheduleAhead at least 142h$/);
    const fromDefaults = problemsOf(configWith([WEEKEND], ['maxScheduleAhead: 1d']));
    assert.equal(fromDefaults[0].key, 'defaults.maxScheduleAhead');
    assert.match(fromDefaults[0].problem, /for command "drop group"/);
  });

  it('counts the autumn\'s repeated hour in the wait for a weekly window shorter than it: the default validity covers it, a written 7d is refused', () => {
    const short = 'windows: [{ days: [sun], from: "02:00", to: "02:30", zone: America/New_York }]';
    // The week New York falls back, Sunday 02:30 EDT to Sunday 02:00 EST is 7 days 30 minutes.
    assert.equal(parseConfig(configWith([short]), POLICY_FILE).catalog.find('drop group')?.policy?.schedule?.maxAheadSeconds, 169 * 3600);
    const [written] = problemsOf(configWith([short, 'maxScheduleAhead: 7d']));
    assert.equal(written.key, 'commands[0].policy.maxScheduleAhead');
    assert.match(written.problem, /valid for 7 days can run out before the next window opens \(up to 7 days 30 minutes from a window's close.*make maxScheduleAhead at least 169h$/);
    assert.equal(parseConfig(configWith([short, 'maxScheduleAhead: 169h']), POLICY_FILE).catalog.find('drop group')?.policy?.schedule?.maxAheadSeconds, 169 * 3600);
    // A weekly window as long as the jump or longer keeps the 7 days; so does one in a zone without daylight saving.
    assert.equal(parseConfig(configWith([short.replace('02:30', '03:00')]), POLICY_FILE).catalog.find('drop group')?.policy?.schedule?.maxAheadSeconds, 7 * 86_400);
    assert.equal(parseConfig(configWith([short.replace('America/New_York', 'UTC')]), POLICY_FILE).catalog.find('drop group')?.policy?.schedule?.maxAheadSeconds, 7 * 86_400);
  });

  it('says an unknown zone, and does not stop at it, when the wait for its window cannot be measured', () => {
    const problems = problemsOf(configWith(['windows: [{ days: [sun], from: "02:00", to: "02:30", zone: Mars/Olympus }]']));
    assert.deepEqual(problems.map((p) => p.key), ['commands[0].policy.windows[0].zone']);
  });

  it('checks a breakGlass block turned off (allowed: false) as one turned on: a typo in it would go live when it is turned on', () => {
    const line = 'breakGlass: { allowed: false, roles: [oncal], reviewWithin: 31d }';
    const text = configWith([line]);
    const problems = problemsOf(text);
    assert.deepEqual(problems.map((p) => [p.key, p.line]), [
      ['commands[0].policy.breakGlass.roles[0]', lineIn(text, line)],
      ['commands[0].policy.breakGlass.reviewWithin', lineIn(text, line)],
    ]);
    assert.match(problems[0].problem, /^role "oncal" is not declared under roles/);
    // Turned off, it is still off.
    assert.equal(parseConfig(configWith(['breakGlass: { allowed: false, roles: [approvers], reviewWithin: 1d }']), POLICY_FILE).catalog.find('drop group')?.policy?.breakGlass, undefined);
  });

  it('bounds maxScheduleAhead, breakGlass.reviewWithin and breakGlass.maxUses.per at load, naming the key and its line', () => {
    // 999999999d passed `config check`, then every such request failed on a person's turn with
    // "Invalid time value" (the date computed from it is past what a Date holds).
    const ahead = 'maxScheduleAhead: 999999999d';
    const text = configWith([ahead]);
    const [own] = problemsOf(text);
    assert.deepEqual([own.key, own.line], ['commands[0].policy.maxScheduleAhead', lineIn(text, ahead)]);
    assert.equal(own.problem, 'an approval may stay valid at most 90d: one used months after it was given approves what may no longer be meant (got 999999999d)');
    assert.deepEqual(problemsOf(configWith([], ['maxScheduleAhead: 91d'])).map((p) => p.key), ['defaults.maxScheduleAhead']);
    assert.equal(parseConfig(configWith(['maxScheduleAhead: 90d']), POLICY_FILE).catalog.find('drop group')?.policy?.schedule?.maxAheadSeconds, 90 * 86_400);

    const breakGlass = (reviewWithin: string, per: string) => `breakGlass: { allowed: true, roles: [approvers], reviewWithin: ${reviewWithin}, maxUses: { count: 3, per: ${per} } }`;
    const glass = breakGlass('31d', '999999999d');
    const glassText = configWith([glass]);
    const problems = problemsOf(glassText);
    assert.deepEqual(
      problems.map((p) => [p.key, p.line, p.problem]),
      [
        ['commands[0].policy.breakGlass.reviewWithin', lineIn(glassText, glass), 'a break-glass use must be reviewed within at most 30d: one left unreviewed longer has not been reviewed (got 31d)'],
        ['commands[0].policy.breakGlass.maxUses.per', lineIn(glassText, glass), 'uses are counted over at most 365d, such as 24h, 7d or 30d (got 999999999d)'],
      ],
    );
    const policy = parseConfig(configWith([breakGlass('30d', '365d')]), POLICY_FILE).catalog.find('drop group')?.policy;
    assert.deepEqual([policy?.breakGlass?.reviewWithinSeconds, policy?.breakGlass?.maxUses?.perSeconds], [30 * 86_400, 365 * 86_400]);
  });
});
