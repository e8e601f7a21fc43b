/** The keys that say how approvers are reached: notify, reminders, escalation (under a policy or defaults). */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load';
import { configWith, lineIn, problemsOf, POLICY_FILE as FILE } from './fixtures';

describe('config: reaching approvers (notify, reminders, escalation)', () => {
  it('tells approvers in personal chats by default, with no channels, reminders or escalation', () => {
    const policy = parseConfig(configWith([]), FILE).catalog.find('drop group')?.policy;
    assert.deepEqual(policy?.notify, { approvers: 'personal', channels: [] });
    assert.equal(policy?.reminders, undefined);
    assert.equal(policy?.escalation, undefined);
  });

  it('builds reminder points as seconds before expiry, earliest reminder first, and max from the points', () => {
    const text = configWith(['ttl: 4h', 'reminders: { at: ["15m", "50%"] }', 'escalation: { role: leads, after: 1h }', 'notify: { approvers: none, channels: ["19:approvals@thread.tacv2"] }']);
    const policy = parseConfig(text, FILE).catalog.find('drop group')?.policy;
    assert.deepEqual(policy?.reminders, { beforeExpirySeconds: [7200, 900], max: 2 });
    assert.deepEqual(policy?.escalation, { role: 'leads', afterSeconds: 3600 });
    assert.deepEqual(policy?.notify, { approvers: 'none', channels: ['19:approvals@thread.tacv2'] });
  });

  it('applies defaults to every command that does not say, each against its own time to live', () => {
    const text = configWith([], ['reminders: { at: ["25%"], max: 1 }', 'escalation: { role: leads, after: 20m }']);
    const config = parseConfig(text, FILE);
    assert.deepEqual(config.catalog.find('drop group')?.policy?.reminders, { beforeExpirySeconds: [3600], max: 1 });
    assert.deepEqual(config.catalog.find('deploy app')?.policy?.reminders, { beforeExpirySeconds: [450], max: 1 });
    assert.deepEqual(config.catalog.find('deploy app')?.policy?.escalation, { role: 'leads', afterSeconds: 1200 });
  });

  it('refuses an escalation role that roles does not declare, at its line', () => {
    const text = configWith(['escalation: { role: lead, after: 1h }']);
    const [p] = problemsOf(text);
    assert.equal(p.key, 'commands[0].policy.escalation.role');
    assert.equal(p.line, lineIn(text, 'escalation: { role: lead, after: 1h }'));
    assert.match(p.problem, /^role "lead" is not declared under roles \(did you mean leads\?\)/);
  });

  it('refuses escalating to a role that already approves', () => {
    const [p] = problemsOf(configWith(['escalation: { role: approvers, after: 1h }']));
    assert.equal(p.key, 'commands[0].policy.escalation.role');
    assert.match(p.problem, /already approves: escalating to it would change nothing/);
  });

  it('refuses an escalation delay at or past the time to live, naming the command for a default', () => {
    const own = problemsOf(configWith(['ttl: 1h', 'escalation: { role: leads, after: 1h }']));
    assert.deepEqual(own.map((p) => [p.key, p.problem]), [['commands[0].policy.escalation.after', 'escalation after 1h comes at or after expiry: the time to live is 1 hour; make it shorter']]);
    const text = configWith([], ['escalation: { role: leads, after: 45m }']);
    const fromDefault = problemsOf(text);
    assert.deepEqual(fromDefault.map((p) => [p.key, p.line, p.problem]), [
      ['defaults.escalation.after', lineIn(text, 'escalation: { role: leads, after: 45m }'), 'escalation after 45m comes at or after expiry (for command "deploy app"): the time to live is 30 minutes; make it shorter, or give "deploy app" its own policy.escalation'],
    ]);
  });

  it('refuses a reminder point that is not before expiry, and a max above the number of points', () => {
    const problems = problemsOf(configWith(['ttl: 30m', 'reminders: { at: ["30m", "10m"], max: 3 }']));
    assert.deepEqual(problems.map((p) => [p.key, p.problem]), [
      ['commands[0].policy.reminders.at[0]', 'reminder point 30m is not before expiry: the time to live is 30 minutes'],
      ['commands[0].policy.reminders.max', 'max 3 is more than the 2 point(s) in at: one reminder at most is sent per point'],
    ]);
  });

  it('refuses malformed points, durations and values with an example of the right shape', () => {
    const problems = problemsOf(configWith(['reminders: { at: ["half", "100%"] }', 'escalation: { role: leads, after: 1 hour }', 'notify: { approvers: everyone }']));
    assert.deepEqual(problems.map((p) => [p.key, p.problem]).sort(), [
      ['commands[0].policy.reminders.at[0]', 'must be a share of the time to live left, such as 50%, or a duration before expiry, such as 15m'],
      ['commands[0].policy.reminders.at[1]', 'must be a share of the time to live left from 1% to 99%, such as 50% (got 100%)'],
      ['commands[0].policy.escalation.after', '`after` must be a duration such as 15m, 1h or 4h (a whole number, then s, m, h or d)'],
      ['commands[0].policy.notify.approvers', 'must be one of personal, none'],
    ].sort());
  });

  it('says a reminder point of zero must be more than zero', () => {
    const problems = problemsOf(configWith(['reminders: { at: ["0%", "0m"] }']));
    assert.deepEqual(problems.map((p) => [p.key, p.problem]), [
      ['commands[0].policy.reminders.at[0]', 'must be more than zero: a share of the time to live left from 1% to 99%, such as 50%, or a duration before expiry, such as 15m (got 0%)'],
      ['commands[0].policy.reminders.at[1]', 'must be more than zero: a share of the time to live left from 1% to 99%, such as 50%, or a duration before expiry, such as 15m (got 0m)'],
    ]);
  });

  it('refuses an unknown key under reminders with a suggestion', () => {
    const [p] = problemsOf(configWith(['reminders: { at: ["50%"], maximum: 1 }']));
    assert.equal(p.key, 'commands[0].policy.reminders.maximum');
    assert.match(p.problem, /^unknown key/);
  });
});
