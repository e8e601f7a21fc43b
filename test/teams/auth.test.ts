/**
 * Inbound authentication: with an app id, botbuilder's JWT validation stays on; without one, the
 * bot runs only on loopback and refuses to listen anywhere else.
 */
import assert from 'node:assert/strict';
import { ToBotFromBotOrEmulatorTokenValidationParameters as EMULATOR_TOKENS } from 'botframework-connector';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { checkAuthenticationOff, checkListenAddress, StartupError, startCountersign } from '../../src/composition-root';
import { loadConfig } from '../../src/config/load';
import { LOOPBACK_TEXT } from '../../src/loopback';
import { readSettings, SettingsError } from '../../src/settings';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { verifyChain } from '../../src/audit/verify/verify';
import { auditOf } from '../support/flows';
import { startHarness } from '../support/harness';
import { eventually, opsChannel, people } from '../support/teams';
import { EXAMPLE_CONFIG } from '../support/people';

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

  it('answers a token with a forged or missing signature 401 invalid-token, as any bad token, not as an outage', async () => {
    // A local stand-in for the Bot Framework's OpenID metadata and signing keys: the keys are there and work.
    const { privateKey, issuer, metadata } = await channelKeysStandIn();
    const h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', BotOpenIdMetadata: metadata } });
    try {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const claims = b64({ iss: 'https://api.botframework.com', aud: APP_ID, iat: now, nbf: now, exp: now + 600, serviceurl: h.connector.url });
      const signed = (header: object) => {
        const head = `${b64(header)}.${claims}`;
        return `${head}.${createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')}`;
      };
      const good = signed({ alg: 'RS256', typ: 'JWT', kid: 'k1' });
      // An activity the bot answers without a reply: a reply needs a token from Entra ID, not reachable here.
      const activity = h.teams.activity(people.alice, opsChannel, { type: 'typing' });
      const send = (token: string) => fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(activity) });
      assert.equal((await send(good)).status, 200, 'the keys work: a token signed with them is taken');
      const forged = [`${good.slice(0, -4)}AAAA`, `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${claims}.`, `${good.split('.').slice(0, 2).join('.')}.${'x'.repeat(342)}`];
      const refusals = async () => (await auditOf(h)).filter((e) => e.type === 'auth.refused');
      for (const token of forged) {
        const r = await send(token);
        assert.equal(r.status, 401, await r.text());
      }
      const refused = await eventually('the refusals are in the audit', async () => ((await refusals()).length >= forged.length ? refusals() : undefined));
      assert.deepEqual(refused.map((e) => e.outcome.reason), forged.map(() => 'invalid-token'));
      assert.ok(!h.logs.some((l) => l.msg === 'Bot Framework authentication unavailable'), 'no outage is reported');
    } finally {
      await h.stop();
      await new Promise<void>((resolve) => issuer.close(() => resolve()));
    }
  });

  it('refuses a token naming the emulator\'s issuer, or shaped as a skill\'s or the ASE channel\'s, 401 invalid-token without fetching their metadata', async () => {
    // The channel's keys at a local stand-in, which works; the emulator's metadata (Entra ID) is not asked.
    const { privateKey, issuer, metadata } = await channelKeysStandIn();
    const h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret', BotOpenIdMetadata: metadata } });
    try {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const signed = (payload: object) => {
        const head = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64({ aud: APP_ID, iat: now, nbf: now, exp: now + 600, serviceurl: h.connector.url, ...payload })}`;
        return `${head}.${createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')}`;
      };
      const send = (token: string, activity: Record<string, unknown>) =>
        fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(activity) });
      const typing = h.teams.activity(people.alice, opsChannel, { type: 'typing' });
      assert.equal((await send(signed({ iss: 'https://api.botframework.com' }), typing)).status, 200, 'a channel token signed with the keys is taken');
      const tenant = 'd6d49420-f39b-4df7-a1dc-d59a935871db';
      const refusedTokens: [string, string, Record<string, unknown>][] = [
        ['emulator v1', signed({ iss: `https://sts.windows.net/${tenant}/`, ver: '1.0', appid: APP_ID }), typing],
        ['emulator v2', signed({ iss: `https://login.microsoftonline.com/${tenant}/v2.0`, ver: '2.0', azp: APP_ID }), typing],
        ['a skill\'s', signed({ iss: 'https://api.botframework.com', ver: '1.0', appid: '11111111-2222-4333-8444-555555555555' }), typing],
        ['the anonymous skill', signed({ iss: 'https://api.botframework.com', appid: 'AnonymousSkill' }), typing],
        ['the ASE channel\'s', signed({ iss: 'https://api.botframework.com' }), { ...typing, channelId: 'ase' }],
        ['one that never expires (no exp)', signed({ iss: 'https://api.botframework.com', exp: undefined }), typing],
        ['one whose exp is text', signed({ iss: 'https://api.botframework.com', exp: String(now + 600) }), typing],
      ];
      for (const [what, token, activity] of refusedTokens) assert.equal((await send(token, activity)).status, 401, what);
      const refusals = async () => (await auditOf(h)).filter((e) => e.type === 'auth.refused');
      const refused = await eventually('the refusals are in the audit', async () => ((await refusals()).length >= refusedTokens.length ? refusals() : undefined));
      assert.deepEqual(refused.map((e) => e.outcome.reason), refusedTokens.map(() => 'invalid-token'));
      assert.deepEqual(refused.map((e) => /issuer is not the Bot Connector's|another bot's|ASE channel|never expire/.test(String(e.outcome.detail))), refusedTokens.map(() => true), JSON.stringify(refused.map((e) => e.outcome.detail)));
      assert.ok(!h.logs.some((l) => l.msg === 'Bot Framework authentication unavailable'), 'no outage is reported');
      // Each new tenant id a token names made botbuilder add four issuers to a list the process
      // shares, before any signature was checked: what a turn added is taken off as it ends.
      const issuers = () => (EMULATOR_TOKENS.issuer as string[]).length;
      const before = issuers();
      const tids = Array.from({ length: 25 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      for (const tid of tids) assert.equal((await send(signed({ iss: 'https://api.botframework.com', tid }), typing)).status, 200);
      assert.equal(issuers(), before, 'the emulator issuers do not grow with the tenant ids tokens name');
    } finally {
      await h.stop();
      await new Promise<void>((resolve) => issuer.close(() => resolve()));
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
    for (const host of ['127.0.0.1', 'localhost', 'LOCALHOST', '::1', '127.0.0.2']) {
      assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: host })), host);
    }
    // Not an address at all, and a name DNS decides: not loopback (src/loopback.ts).
    for (const host of ['127.999.999.999', '127.0.0.1.evil.com']) {
      assert.throws(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: host })), StartupError, host);
    }
    assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: '0.0.0.0', MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' })));
  });

  it('refuses to start against a real subscription without an app id, unless COUNTERSIGN_INSECURE_NO_AUTH=true says so', async () => {
    const real = { ...loadConfig(EXAMPLE_CONFIG), azure: { ...loadConfig(EXAMPLE_CONFIG).azure, sandbox: false, subscriptionId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' } };
    const settings = readSettings({ PORT: '0' });
    assert.throws(
      () => checkAuthenticationOff(settings, real),
      (err: Error) =>
        err instanceof StartupError &&
        err.message.startsWith('Refusing to start against Azure subscription aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee without MicrosoftAppId: with no app id, Bot Framework authentication is off') &&
        err.message.includes('set COUNTERSIGN_INSECURE_NO_AUTH=true'),
    );
    await assert.rejects(startCountersign({ settings, config: real }), /Refusing to start against Azure subscription/);
    assert.doesNotThrow(() => checkAuthenticationOff(readSettings({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' }), real));
    assert.doesNotThrow(() => checkAuthenticationOff(readSettings({ COUNTERSIGN_INSECURE_NO_AUTH: 'true' }), real));
    assert.doesNotThrow(() => checkAuthenticationOff(settings, loadConfig(EXAMPLE_CONFIG)), 'the sandbox needs no app id');
    assert.throws(() => readSettings({ COUNTERSIGN_INSECURE_NO_AUTH: 'yes' }), /COUNTERSIGN_INSECURE_NO_AUTH: must be true or false, got "yes"/);
  });

  it('without an app id takes activities only from this machine: a foreign Host, an Origin or a proxy header is refused 403 and audited', async () => {
    const h = await startHarness();
    try {
      // node:http, not fetch: fetch will not send a Host header of the caller's choosing, a browser's page can (DNS rebinding).
      const post = (activity: object, headers: Record<string, string>) =>
        new Promise<{ status: number; json(): Promise<unknown> }>((resolve, reject) => {
          const req = http.request(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: async () => JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
          });
          req.on('error', reject);
          req.end(JSON.stringify(activity));
        });
      const activity = h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'delete resource group staging-old reason: cleanup' });
      const port = new URL(h.bot.url).port;
      for (const [headers, why] of [
        [{ host: `rebind.attacker.example:${port}` }, `its Host header ("rebind.attacker.example:${port}") does not name ${LOOPBACK_TEXT}`],
        [{ origin: `http://127.0.0.1:${port}` }, 'it carries an Origin header'],
        [{ 'x-forwarded-for': '203.0.113.9' }, 'it carries a x-forwarded-for header: it came through a proxy'],
        [{ forwarded: 'for=203.0.113.9' }, 'it carries a forwarded header'],
      ] as const) {
        const r = await post(activity, headers);
        assert.equal(r.status, 403, JSON.stringify(headers));
        const body = (await r.json()) as { error: string };
        assert.ok(body.error.startsWith('Countersign runs without authentication (no MicrosoftAppId) and takes activities only from programs on this machine; this one was refused because '), body.error);
        assert.ok(body.error.includes(why), body.error);
      }
      assert.equal(h.connector.sent.length, 0, 'nothing was answered');
      assert.deepEqual(await h.bot.deps.store.requests.list({}), [], 'nothing was requested');
      // Recorded after the answer went out: waited for.
      const refused = await eventually('four refusals recorded', async () => {
        const found = (await auditOf(h)).filter((e) => e.type === 'auth.refused');
        return found.length >= 4 && found;
      });
      assert.equal(refused.length, 4);
      assert.ok(refused.every((e) => e.outcome?.reason === 'not-local' && /^Authentication is off \(no MicrosoftAppId\), and the activity may not have come from this machine: /.test(e.outcome.detail ?? '')));
      // Any proxy's or browser's header, a second Host, an absolute-form target naming another host: refused too.
      const raw = (head: string) =>
        new Promise<string>((resolve, reject) => {
          const body = JSON.stringify(activity);
          const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(`${head}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`));
          let answer = '';
          socket.on('data', (c: Buffer) => (answer += c.toString('utf8')));
          socket.on('end', () => resolve(answer.split('\r\n')[0]));
          socket.on('error', reject);
        });
      for (const head of [
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-forwarded-proto: https`,
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-real-ip: 203.0.113.9`,
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ntrue-client-ip: 203.0.113.9`,
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nsec-fetch-site: cross-site`,
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nhost: evil.example`,
        `POST http://evil.example/api/messages HTTP/1.1\r\nhost: 127.0.0.1:${port}`,
        // Names that are not this machine's loopback as src/loopback.ts decides it (COUNTERSIGN_HOST's rule);
        // 127.999.1.1 is no address at all, answered 400 before this check.
        `POST /api/messages HTTP/1.1\r\nhost: 127.0.0.1.evil.com:${port}`,
        `POST /api/messages HTTP/1.1\r\nhost: [::ffff:127.0.0.1]:${port}`,
      ]) {
        assert.equal(await raw(head), 'HTTP/1.1 403 Forbidden', head);
      }
      // From this machine, by any of its loopback names, it is taken: the ones COUNTERSIGN_HOST takes.
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `127.0.0.2:${port}`, `[::1]:${port}`]) {
        assert.equal((await post(h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'help' }), { host })).status, 200, host);
      }
      const loaded = (await auditOf(h)).find((e) => e.type === 'config.loaded');
      assert.equal((loaded?.data as { authentication?: string }).authentication, 'off');
    } finally {
      await h.stop();
    }
  });

  it('accepts the three app types and names what a single-tenant or managed-identity bot is missing', () => {
    const secret = { MicrosoftAppPassword: 'not-a-real-secret' };
    const tenant = people.alice.tenantId;
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, ...secret }).microsoftApp.type, 'MultiTenant');
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppTenantId: tenant }).microsoftApp.type, 'MultiTenant');
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: tenant }).microsoftApp.type, 'SingleTenant');
    assert.equal(readSettings({ MicrosoftAppId: APP_ID, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: tenant }).microsoftApp.type, 'UserAssignedMSI');
    assert.throws(() => readSettings({ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppType: 'SingleTenant' }), (e: Error) => e instanceof SettingsError && /MicrosoftAppTenantId: is required when MicrosoftAppType is SingleTenant/.test(e.message));
  });

  it('refuses at start a Bot Framework identity that could authenticate nothing, naming the variable', () => {
    // Each of these started, passed /healthz and /readyz, and then every token was refused.
    const secret = { MicrosoftAppPassword: 'not-a-real-secret' };
    const tenant = people.alice.tenantId;
    const refused: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ MicrosoftAppId: 'not-a-guid', ...secret }, /^MicrosoftAppId: must be the bot's app id, a GUID .*got "not-a-guid"$/],
      [{ MicrosoftAppId: APP_ID }, /^MicrosoftAppPassword: is required when MicrosoftAppType is MultiTenant: the client secret of the app registration MicrosoftAppId names$/],
      [{ MicrosoftAppId: APP_ID, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: tenant }, /^MicrosoftAppPassword: is required when MicrosoftAppType is SingleTenant/],
      [{ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: 'nope' }, /^MicrosoftAppTenantId: must be a tenant id, a GUID: .*got "nope"$/],
      [{ MicrosoftAppId: APP_ID, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: 'nope' }, /^MicrosoftAppTenantId: must be a tenant id/],
      [{ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppTenantId: 'contoso.onmicrosoft.com' }, /^MicrosoftAppTenantId: must be a tenant id/],
      [{ MicrosoftAppId: APP_ID, ...secret, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: tenant }, /^MicrosoftAppPassword: must not be set when MicrosoftAppType is UserAssignedMSI/],
      [{ MicrosoftAppId: APP_ID, MicrosoftAppPassword: '   ' }, /^MicrosoftAppPassword: is required when MicrosoftAppType is MultiTenant/],
      // App Service passes an unresolved Key Vault reference as its own text.
      [{ MicrosoftAppId: APP_ID, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: tenant, MicrosoftAppPassword: '@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/bot)' }, /^MicrosoftAppPassword: is an App Service Key Vault reference that was not resolved/],
      [{ COUNTERSIGN_HOST: '[::1]' }, /^COUNTERSIGN_HOST: is an address to listen on: write ::1 without the brackets/],
    ];
    for (const [env, message] of refused) {
      assert.throws(() => readSettings(env), (e: Error) => e instanceof SettingsError && message.test(e.message), JSON.stringify(env));
    }
    // Without an app id authentication is off and none of them is read (the local trial, the tests).
    assert.equal(readSettings({ MicrosoftAppPassword: 'x', MicrosoftAppTenantId: 'nope' }).microsoftApp.id, '');
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
      await h.bot.app.flushRefusals();
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

/** A local stand-in for the Bot Framework's OpenID metadata and its signing key (kid k1, endorsed for msteams). */
async function channelKeysStandIn(): Promise<{ privateKey: KeyObject; issuer: http.Server; metadata: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const issuer = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/keys' ? { keys: [{ kty: 'RSA', kid: 'k1', n: jwk.n, e: jwk.e, endorsements: ['msteams'] }] } : { issuer: 'https://api.botframework.com', jwks_uri: `${base}/keys` }));
  });
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  return { privateKey, issuer, metadata: `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/v1/.well-known/openidconfiguration` };
}
