/**
 * What the start says of a config that does not fit the bot's identity: a single-tenant bot
 * (SingleTenant, UserAssignedMSI) is reached only from its own tenant, so a config whose `tenants`
 * leave it out refuses every activity; a bot served to Teams with no subscription runs nothing on Azure.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkInstances, startCountersign } from '../../src/composition-root';
import { readSettings, SettingsError } from '../../src/settings';
import { EXAMPLE_CONFIG, startHarness } from '../support/harness';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const EXAMPLE_TENANT = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER_TENANT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const WARNING = /^MicrosoftAppTenantId .* is not among the config's tenants: a \w+ bot is reached only from its own tenant/;

async function startWarnings(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const h = await startHarness({ env });
  try {
    return h.logs.filter((l) => l.level === 40 && WARNING.test(String(l.msg)));
  } finally {
    await h.stop();
  }
}

describe("the bot's own tenant against the config's tenants", function () {
  this.timeout(30_000);

  it('warns at start when a single-tenant bot\'s tenant is not allowed, naming it', async () => {
    const [warning, ...more] = await startWarnings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: OTHER_TENANT });
    assert.equal(more.length, 0);
    assert.equal(warning?.msg, `MicrosoftAppTenantId ${OTHER_TENANT} is not among the config's tenants: a UserAssignedMSI bot is reached only from its own tenant, so every activity will be refused (tenant-not-allowed); add it to tenants`);
    assert.equal(warning.tenantId, OTHER_TENANT);
  });

  it('says nothing when the tenant is allowed (in any case), or the bot is multi-tenant', async () => {
    assert.deepEqual(await startWarnings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'SingleTenant', MicrosoftAppPassword: 'not-a-real-secret', MicrosoftAppTenantId: EXAMPLE_TENANT.toUpperCase() }), []);
    assert.deepEqual(await startWarnings({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', MicrosoftAppTenantId: OTHER_TENANT }), []);
  });
});

describe('a bot served to Teams whose config names no subscription', function () {
  this.timeout(30_000);
  const SANDBOX_WARNING = /^Countersign serves Teams \(MicrosoftAppId is set\) but runs every operation against the ARM sandbox, because azure\.subscriptionId is empty in the config: nothing approved reaches Azure/;

  it('warns at start that nothing approved reaches Azure; not for the local trial without an app id', async () => {
    for (const [env, expected] of [
      [{ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' }, 1],
      [{}, 0],
    ] as const) {
      const h = await startHarness({ env });
      try {
        assert.equal(h.logs.filter((l) => l.level === 40 && SANDBOX_WARNING.test(String(l.msg))).length, expected, JSON.stringify(env));
      } finally {
        await h.stop();
      }
    }
  });
});

describe('catalog mistakes the start logs, as config check prints them', function () {
  this.timeout(30_000);

  it('logs a command someone may ask for but never have approved, and one nobody may ask for', async () => {
    const example = readFileSync(EXAMPLE_CONFIG, 'utf8');
    // Dave Lead may ask and is the only lead; "tag" may be asked only by a role that holds nobody.
    const configText = example
      .replace('  auditors:\n', '  leads: [55555555-5555-4555-8555-555555555555]\n  frozen: []\n  auditors:\n')
      .replace(/(  - name: delete resource group\n[\s\S]*?)approverRoles: \[platform-approvers\]/, '$1approverRoles: [leads]')
      .replace(/(  - name: tag\n[\s\S]*?)requesterRoles: \[requesters\]/, '$1requesterRoles: [frozen]');
    assert.ok(configText.includes('approverRoles: [leads]') && configText.includes('requesterRoles: [frozen]'), 'the example config changed');
    const h = await startHarness({ configText });
    try {
      const warned = (msg: string) => h.logs.filter((l) => l.level === 40 && l.msg === msg).map((l) => [l.command, l.problem]);
      assert.deepEqual(warned('someone may ask for a command but never have it approved'), [
        ['delete resource group', '"delete resource group" can never be approved when 55555555-5555-4555-8555-555555555555 asks for it: it needs 1 from leads, never the requester, and leads holds too few other people. Add people to leads, or take them out of requesters'],
      ]);
      assert.deepEqual(warned('nobody may ask for a command'), [
        ['tag', 'nobody may ask for "tag": its requesterRoles (frozen) hold nobody. Add people (or an Entra group) to frozen, or leave requesterRoles out to let anyone in an allowed tenant ask'],
      ]);
    } finally {
      await h.stop();
    }
  });
});

describe('command names the start logs, as config check prints them', function () {
  this.timeout(30_000);

  it('logs a command whose name is the start of another\'s, naming both and which one a message is read as', async () => {
    const h = await startHarness({});
    try {
      const warned = h.logs.filter((l) => l.level === 40 && l.msg === "a command's name is the start of another's").map((l) => [l.command, l.problem]);
      assert.deepEqual(warned, [
        ['tag', '"tag" is the start of "tag vm": a message beginning "tag vm" is read as "tag vm" (the longest name a message begins with is the one matched), never as "tag" with group "vm"; to mean that, give it by name (tag group=vm …), or rename one of the two'],
      ]);
    } finally {
      await h.stop();
    }
  });
});

describe('subscriptions azure.environments leaves out, which the start logs', function () {
  this.timeout(30_000);
  const LISTED = '11111111-0000-4000-8000-00000000abcd';
  const FORGOTTEN = '00000000-0000-4000-8000-00000000abcd';

  it('logs the configured subscription when environments are given and it is in none, naming it and azure.environments', async () => {
    const example = readFileSync(EXAMPLE_CONFIG, 'utf8');
    const text = example.replace('  subscriptionId: ""\n', `  subscriptionId: ${FORGOTTEN}\n  environments:\n    staging: [${LISTED}]\n`);
    assert.notEqual(text, example, 'the example config changed');
    // Served to Teams: a real subscription is not started on without authentication.
    const env = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' };
    const h = await startHarness({ configText: text, env });
    try {
      const warned = h.logs.filter((l) => l.level === 40 && l.msg === 'a subscription Countersign acts in is in no environment of azure.environments').map((l) => [l.subscriptionId, l.problem]);
      assert.deepEqual(warned, [
        [FORGOTTEN, `subscription ${FORGOTTEN} (azure.subscriptionId) is in none of azure.environments (staging): its requests get no environment but what their names say, so were it production they would read as lower risk; list it under its environment in azure.environments`],
      ]);
    } finally {
      await h.stop();
    }
    // Listed: nothing said.
    const listed = await startHarness({ configText: text.replace(`staging: [${LISTED}]`, `staging: [${LISTED}]\n    production: [${FORGOTTEN.toUpperCase()}]`), env });
    try {
      assert.deepEqual(listed.logs.filter((l) => l.msg === 'a subscription Countersign acts in is in no environment of azure.environments'), []);
    } finally {
      await listed.stop();
    }
  });
});

describe("a bot served to Teams and the links it hands out (COUNTERSIGN_PUBLIC_URL)", function () {
  this.timeout(30_000);
  const LINK_WARNING = /^COUNTERSIGN_PUBLIC_URL /;
  const SERVED = { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' };

  async function linkWarnings(env: Record<string, string>): Promise<Record<string, unknown>[]> {
    const h = await startHarness({ env });
    try {
      return h.logs.filter((l) => l.level === 40 && LINK_WARNING.test(String(l.msg)));
    } finally {
      await h.stop();
    }
  }

  it('warns at start when it is unset: an audit download link would name the address listened on', async () => {
    const [warning, ...more] = await linkWarnings(SERVED);
    assert.equal(more.length, 0);
    assert.match(String(warning?.msg), /^COUNTERSIGN_PUBLIC_URL is not set, so the audit download links Countersign hands out in Teams name the address it listens on, http:\/\/127\.0\.0\.1:\d+, which auditors cannot open: set it to the bot's public https URL/);
    // The port picked (PORT=0), not 0.
    assert.doesNotMatch(String(warning?.publicUrl), /:0$/);
  });

  it('warns when it is plain http to another machine: the link\'s single-use token would cross the network in the clear', async () => {
    const [warning] = await linkWarnings({ ...SERVED, COUNTERSIGN_PUBLIC_URL: 'http://countersign.example.com' });
    assert.equal(warning?.msg, 'COUNTERSIGN_PUBLIC_URL is http://countersign.example.com, plain http: the single-use token of every audit download link Countersign hands out would cross the network in the clear; give its https URL');
  });

  it('says nothing of an https URL, nor for the local trial without an app id, whose links are on this machine', async () => {
    assert.deepEqual(await linkWarnings({ ...SERVED, COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com' }), []);
    assert.deepEqual(await linkWarnings({}), []);
  });
});

describe('COUNTERSIGN_INSTANCES beside the SQLite store', () => {
  it('stops the start naming it, before the data directory is made: SQLite serves one instance', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-instances-'));
    try {
      const dataDir = path.join(dir, 'data');
      const settings = readSettings({ PORT: '0', COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_INSTANCES: '3' });
      await assert.rejects(
        startCountersign({ settings }),
        (e: Error) =>
          e instanceof SettingsError &&
          e.message === "COUNTERSIGN_INSTANCES: is 3, but the store is SQLite, which one instance serves (a second on its data directory is refused): each conversation would get 1/3 of Teams' rate limits for nothing. Leave it unset (1), or run the instances on PostgreSQL (COUNTERSIGN_STORE=postgres, docs/postgresql.md)",
      );
      assert.equal(existsSync(dataDir), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes any count on PostgreSQL, and 1 on SQLite', () => {
    checkInstances(readSettings({ COUNTERSIGN_STORE: 'postgres', PGHOST: 'db.example', COUNTERSIGN_INSTANCES: '3' }));
    checkInstances(readSettings({ COUNTERSIGN_INSTANCES: '1' }));
    checkInstances(readSettings({}));
  });
});
