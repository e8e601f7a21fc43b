/**
 * Values that loaded and then never worked: a channel's display name where a Teams conversation id
 * belongs, an API version or deployment name Azure refuses after approval, a duration too short to
 * be meant, a password in Azure's address. Each is refused at load, naming its key and line.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load';
import { configWith, lineIn, problemsOf, POLICY_FILE as FILE } from './fixtures';

/** Real Teams conversation ids of each kind (shapes as Teams sends them; the letters made up). */
const REAL_IDS = [
  '19:3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9@thread.tacv2',
  '19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.skype',
  '19:99f69a4847584dbdb46704297b9fde48@thread.v2',
  '19:meeting_MjdhNjM4YzUtYzExZi00OTFkLTkzZTAtNTVlNmZmMDhkNGU2@thread.v2',
  '19:98c7ad99-9cc6-498d-9f91-3ea3f00d7d1a_f718a5cb-eaa1-4abe-9f19-54cfd21bb53d@unq.gbl.spaces',
  'a:1JqQXTz2EPa6ivIM3PamBnBhKIrufHUo69Uicgw51zb_qPszw0FG4I_dTmIXFnxZIR0TApw6TenSQwBA9Dtvy90',
  '8:orgid:22222222-2222-4222-8222-222222222222',
  '48:notes',
  '19:3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9@thread.tacv2;messageid=1700000000001',
];

describe('config: values that loaded and then never worked', () => {
  describe('Teams conversation ids', () => {
    it('takes every form of id Teams sends, in each list of conversations', () => {
      const list = `[${REAL_IDS.map((id) => JSON.stringify(id)).join(', ')}]`;
      const text = configWith([`conversations: { ids: ${list} }`, `notify: { channels: ${list} }`, `breakGlass: { allowed: true, roles: [approvers], reviewWithin: 24h, notify: ${list} }`], [`notify: { channels: ${list} }`]);
      const policy = parseConfig(text, FILE).catalog.find('drop group')?.policy;
      assert.deepEqual(policy?.conversationIds, REAL_IDS);
      assert.deepEqual(policy?.notify?.channels, REAL_IDS);
      assert.deepEqual(policy?.breakGlass?.notify, REAL_IDS);
    });

    it('refuses a display name in each list, at its key and line', () => {
      const lines = ['conversations: { ids: ["Platform Ops"] }', 'notify: { channels: ["19:ops@thread.tacv2", "platform-ops"] }', 'breakGlass: { allowed: true, roles: [approvers], reviewWithin: 24h, notify: ["#security"] }'];
      const defaults = 'notify: { channels: ["General"] }';
      const text = configWith(lines, [defaults]);
      const problems = problemsOf(text);
      assert.deepEqual(
        problems.map((p) => [p.key, p.line]),
        [
          ['commands[0].policy.conversations.ids[0]', lineIn(text, lines[0])],
          ['commands[0].policy.notify.channels[1]', lineIn(text, lines[1])],
          ['commands[0].policy.breakGlass.notify[0]', lineIn(text, lines[2])],
          ['defaults.notify.channels[0]', lineIn(text, defaults)],
        ],
      );
      assert.equal(
        problems[0].problem,
        '"Platform Ops" is not a Teams conversation id, so no conversation would ever match it (a channel\'s or chat\'s name never does): write the id, such as 19:…@thread.tacv2 for a channel (in its "Get link to channel", with %3a for : and %40 for @), 19:…@thread.v2 for a group chat or a:… for a personal chat',
      );
    });

    it('refuses what is almost an id, and names the id a Teams link holds', () => {
      for (const wrong of ['19:ops', '19:ops@', '19:Platform Ops@thread.tacv2', 'a:', ' 19:ops@thread.tacv2', '19:ops@thread.tacv2;messageid=', 'ops@contoso.com']) {
        assert.equal(problemsOf(configWith([`conversations: { ids: [${JSON.stringify(wrong)}] }`])).length, 1, wrong);
      }
      const link = 'https://teams.microsoft.com/l/channel/19%3a3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9%40thread.tacv2/Ops?groupId=0d6c2a4e-8b1f-4e3a-9c5d-7f2e1b0a9c8d&tenantId=6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
      const [p] = problemsOf(configWith([`notify: { channels: [${JSON.stringify(link)}] }`]));
      assert.match(p.problem, /is a Teams link, not a conversation id: write the id it holds, 19:3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9@thread\.tacv2$/);
    });
  });

  describe('durations', () => {
    it('refuses each duration key below its least value, at its key and line, saying the least', () => {
      const policy = ['ttl: 1s', 'maxScheduleAhead: 59m', 'escalation: { role: leads, after: 4m }', 'reminders: { at: ["30s"] }', 'breakGlass: { allowed: true, roles: [approvers], reviewWithin: 30m, maxUses: { count: 2, per: 10m } }'];
      const text = configWith(policy, ['ttl: 4m'])
        .replace('commands:\n', 'directory:\n  cacheLifetime: 10s\naudit:\n  checkpointInterval: 30s\ndelegation:\n  maxDuration: 30m\ncommands:\n');
      const problems = problemsOf(text).filter((p) => /must be at least/.test(p.problem));
      assert.deepEqual(
        problems.map((p) => [p.key, p.line, p.problem.replace(/:.*\(/, ': … (')]),
        [
          ['defaults.ttl', lineIn(text, 'ttl: 4m'), '`ttl` must be at least 5m: … (got 4m)'],
          ['commands[0].policy.ttl', lineIn(text, 'ttl: 1s'), '`ttl` must be at least 5m: … (got 1s)'],
          ['commands[0].policy.maxScheduleAhead', lineIn(text, 'maxScheduleAhead: 59m'), '`maxScheduleAhead` must be at least 1h: … (got 59m)'],
          ['commands[0].policy.escalation.after', lineIn(text, policy[2]), '`escalation.after` must be at least 5m: … (got 4m)'],
          ['commands[0].policy.reminders.at[0]', lineIn(text, policy[3]), '`reminders.at` must be at least 1m: … (got 30s)'],
          ['commands[0].policy.breakGlass.reviewWithin', lineIn(text, policy[4]), '`breakGlass.reviewWithin` must be at least 1h: … (got 30m)'],
          ['commands[0].policy.breakGlass.maxUses.per', lineIn(text, policy[4]), '`breakGlass.maxUses.per` must be at least 1h: … (got 10m)'],
          ['directory.cacheLifetime', lineIn(text, 'cacheLifetime: 10s'), '`cacheLifetime` must be at least 30s: … (got 10s)'],
          ['audit.checkpointInterval', lineIn(text, 'checkpointInterval: 30s'), '`checkpointInterval` must be at least 1m: … (got 30s)'],
          ['delegation.maxDuration', lineIn(text, 'maxDuration: 30m'), '`maxDuration` must be at least 1h: … (got 30m)'],
        ],
      );
      assert.equal(problems[0].problem, '`ttl` must be at least 5m: a request waiting less for its approvals can expire before an approver has seen its card and decided (got 4m)');
    });

    it('takes each duration key at its least value', () => {
      const text = configWith(['ttl: 10m', 'maxScheduleAhead: 1h', 'escalation: { role: leads, after: 5m }', 'reminders: { at: ["1m"] }', 'breakGlass: { allowed: true, roles: [approvers], reviewWithin: 1h, maxUses: { count: 2, per: 1h } }'], ['ttl: 5m'])
        .replace('commands:\n', 'directory:\n  cacheLifetime: 30s\naudit:\n  checkpointInterval: 1m\ndelegation:\n  maxDuration: 1h\ncommands:\n');
      const config = parseConfig(text, FILE);
      assert.deepEqual(config.catalog.find('drop group')?.policy?.escalation, { role: 'leads', afterSeconds: 300 });
      assert.deepEqual([config.directory.cacheLifetimeSeconds, config.audit.checkpointIntervalSeconds, config.delegation.maxDurationSeconds], [30, 60, 3600]);
    });
  });

  describe('reminder points written as a share of the time to live', () => {
    it('are held to the least distance of one written as a duration: 1m before expiry, and 1m after the request was asked', () => {
      // 1% of 1h is 36s before expiry; 99% of 5m is 3s after the request was asked.
      const soon = configWith(['ttl: 1h', 'reminders: { at: ["1%", "50%"] }']);
      assert.deepEqual(problemsOf(soon), [
        { key: 'commands[0].policy.reminders.at[0]', line: lineIn(soon, 'reminders: { at: ["1%", "50%"] }'), problem: 'reminder point 1% falls 36 seconds before expiry, the time to live being 1 hour: a reminder point must be at least 1m before expiry: a reminder sent less than that before expiry comes too late to act on' },
      ]);
      const early = configWith(['ttl: 5m', 'reminders: { at: ["99%"] }']);
      assert.deepEqual(problemsOf(early), [
        { key: 'commands[0].policy.reminders.at[0]', line: lineIn(early, 'reminders: { at: ["99%"] }'), problem: 'reminder point 99% falls 3 seconds after the request is asked, the time to live being 5 minutes: a reminder point must be at least 1m after it: a reminder sent sooner reaches approvers before they could have seen the card' },
      ]);
      // From the defaults: named for the command it does not fit, and how to mend it.
      const fromDefaults = configWith(['ttl: 1h'], ['reminders: { at: ["1%"] }']);
      const [p] = problemsOf(fromDefaults);
      assert.equal(p.key, 'defaults.reminders.at[0]');
      assert.match(p.problem, /^reminder point 1% falls 36 seconds before expiry \(for command "drop group"\), the time to live being 1 hour: .*, or give "drop group" its own policy\.reminders$/);
      // So is one written as a duration, which had only to come before expiry: 270s of 5m is 30 seconds after the asking.
      const [duration] = problemsOf(configWith(['ttl: 5m', 'reminders: { at: ["270s"] }']));
      assert.match(duration.problem, /^reminder point 270s falls 30 seconds after the request is asked, the time to live being 5 minutes: a reminder point must be at least 1m after it/);
      // At the least distances, it loads.
      assert.ok(parseConfig(configWith(['ttl: 100m', 'reminders: { at: ["1%", "99%"] }']), FILE));
    });
  });

  describe('azure.endpoint', () => {
    it('refuses a user name or password in it, never repeating the password', () => {
      for (const endpoint of ['https://ops:hunter2@management.usgovcloudapi.net', 'https://ops@management.usgovcloudapi.net/', 'http://ops:hunter2@management.usgovcloudapi.net']) {
        const text = configWith([]).replace('commands:\n', `azure:\n  endpoint: ${endpoint}\ncommands:\n`);
        const problems = problemsOf(text).filter((p) => p.key === 'azure.endpoint');
        const said = problems.find((p) => /user name or password/.test(p.problem));
        assert.ok(said, endpoint);
        assert.equal(said.line, lineIn(text, `endpoint: ${endpoint}`));
        assert.match(said.problem, /write the address without it, https?:\/\/management\.usgovcloudapi\.net\/?$/);
        assert.ok(problems.every((p) => !p.problem.includes('hunter2') && !p.problem.includes('ops@')), JSON.stringify(problems));
      }
      const graph = configWith([]).replace('commands:\n', 'directory:\n  graphEndpoint: https://me:hunter2@graph.microsoft.us\ncommands:\n');
      const [p] = problemsOf(graph);
      assert.equal(p.key, 'directory.graphEndpoint');
      assert.ok(!p.problem.includes('hunter2'));
      assert.ok(parseConfig(configWith([]).replace('commands:\n', 'azure:\n  endpoint: https://management.usgovcloudapi.net\ncommands:\n'), FILE));
    });
  });

  describe('audit.http.issuer and audit.http.jwksUri', () => {
    it('refuse a user name or password in them, as azure.endpoint does, never repeating the password', () => {
      const http = (issuer: string, jwksUri: string) =>
        configWith([]).replace('commands:\n', `audit:\n  http:\n    issuer: ${issuer}\n    audience: api://countersign\n    role: Audit.Read\n    jwksUri: ${jwksUri}\ncommands:\n`);
      const text = http('https://me:hunter2@login.microsoftonline.com/t/v2.0', 'http://keys@login.microsoftonline.com/t/discovery/v2.0/keys');
      const problems = problemsOf(text);
      const issuer = problems.find((p) => p.key === 'audit.http.issuer' && /user name or password/.test(p.problem));
      const keys = problems.find((p) => p.key === 'audit.http.jwksUri' && /user name or password/.test(p.problem));
      assert.ok(issuer && keys, JSON.stringify(problems));
      assert.equal(issuer.line, lineIn(text, 'issuer: https://me:hunter2@login.microsoftonline.com/t/v2.0'));
      assert.match(issuer.problem, /write the address without it, https:\/\/login\.microsoftonline\.com\/t\/v2\.0$/);
      assert.equal(keys.line, lineIn(text, 'jwksUri: http://keys@login.microsoftonline.com/t/discovery/v2.0/keys'));
      assert.ok(problems.every((p) => !p.problem.includes('hunter2') && !p.problem.includes('me:')), JSON.stringify(problems));
      assert.ok(parseConfig(http('https://login.microsoftonline.com/t/v2.0', 'https://login.microsoftonline.com/t/discovery/v2.0/keys'), FILE).audit.http);
    });
  });
});
