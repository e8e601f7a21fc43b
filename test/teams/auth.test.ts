/**
 * Inbound authentication: with an app id, botbuilder's JWT validation stays on; without one, the
 * bot runs only on loopback and refuses to listen anywhere else.
 */
import assert from 'node:assert/strict';
import { checkListenAddress, StartupError, startCountersign } from '../../src/composition-root';
import { readSettings, SettingsError } from '../../src/settings';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { verifyChain } from '../../src/audit/verify/verify';
import { auditOf } from '../support/flows';
import { startHarness } from '../support/harness';
import { eventually, opsChannel, people } from '../support/teams';

const APP_ID = '0b7c4d2e-1f3a-4b5c-9d8e-7f6a5b4c3d2e';

describe('inbound authentication', function () {
  this.timeout(20000);

  it('rejects activities without a valid Bot Framework token when an app id is configured', async () => {
    const h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' } });
    try {
      const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'delete resource group staging-old' });
      const none = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
      assert.equal(none.status, 401);
      const junk = await fetch(`${h.bot.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-jwt' },
        body: JSON.stringify(activity),
      });
      assert.equal(junk.status, 401);
      assert.equal(h.connector.sent.length, 0, 'nothing was answered');
      assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'nothing was requested');
      assert.ok(!JSON.stringify(h.logs).includes('not-a-real-secret'), 'the app password never reaches the logs');
    } finally {
      await h.stop();
    }
  });

  it('accepts unauthenticated activities on loopback when no app id is configured, and says so', async () => {
    const h = await startHarness();
    try {
      await h.teams.say(people.alice, 'help');
      assert.ok(h.connector.sent.length > 0);
      assert.ok(h.logs.some((l) => String(l.msg).includes('Bot Framework authentication is OFF')));
    } finally {
      await h.stop();
    }
  });

  it('refuses to listen beyond loopback without an app id', async () => {
    const settings = readSettings({ COUNTERSIGN_HOST: '0.0.0.0', PORT: '0' });
    assert.throws(() => checkListenAddress(settings), (err: Error) => err instanceof StartupError && /Refusing to listen on 0\.0\.0\.0 without MicrosoftAppId/.test(err.message));
    await assert.rejects(startCountersign({ settings }), /Refusing to listen on 0\.0\.0\.0/);
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: host })));
    }
    assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: '0.0.0.0', MicrosoftAppId: APP_ID })));
  });

  it('accepts the three app types and names what a single-tenant or managed-identity bot is missing', () => {
    assert.equal(readSettings({ MicrosoftAppId: APP_ID }).microsoftApp.type, 'MultiTenant');
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: people.alice.tenantId }).microsoftApp.type, 'SingleTenant');
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: people.alice.tenantId }).microsoftApp.type, 'UserAssignedMSI');
    assert.throws(() => readSettings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'SingleTenant' }), (e: Error) => e instanceof SettingsError && /MicrosoftAppTenantId: is required when MicrosoftAppType is SingleTenant/.test(e.message));
    assert.throws(() => readSettings({ MicrosoftAppType: 'Personal' }), /MicrosoftAppType: must be one of MultiTenant, SingleTenant, UserAssignedMSI, got "Personal"/);
    assert.throws(() => readSettings({ PORT: 'eighty' }), /PORT: must be a port number/);
  });
});

describe('refused authentications past the budget a minute', function () {
  this.timeout(30000);
  const budget = { ...REFUSAL_BUDGET };
  afterEach(() => Object.assign(REFUSAL_BUDGET, budget));

  it('records the first ones one by one and the rest as one count, each caller answered 401, the chain intact', async () => {
    Object.assign(REFUSAL_BUDGET, { perMinute: 5 });
    const h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' } });
    try {
      const activity = JSON.stringify(h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' }));
      const statuses = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...(i % 3 ? {} : { authorization: 'Bearer junk' }) }, body: activity }).then((r) => r.status),
        ),
      );
      assert.deepEqual(new Set(statuses), new Set([401]));
      const refused = async () => (await auditOf(h)).filter((e) => e.type === 'auth.refused');
      await eventually('the first five are recorded', async () => (await refused()).length === 5 || undefined);
      // The stop records the count (so does the end of the minute); here, as the stop does.
      await h.bot.app.flushAuthRefusals();
      const records = await refused();
      assert.equal(records.length, 6);
      const summary = records[5];
      assert.equal(summary.outcome.reason, 'repeated');
      const repeated = summary.data?.repeated as { count: number; reasons: Record<string, number>; remoteAddresses: Record<string, number> };
      assert.equal(repeated.count, 55);
      assert.equal(Object.values(repeated.reasons).reduce((a, b) => a + b, 0), 55);
      assert.deepEqual(Object.keys(repeated.remoteAddresses).length, 1);
      assert.match(summary.outcome.detail ?? '', /^Bot Framework authentication failed: 55 more from .* were counted, not recorded one by one \(at most 5 a minute are\): /);
      assert.equal((await verifyChain(h.bot.deps.store.audit.read())).ok, true);
    } finally {
      await h.stop();
    }
  });
});
