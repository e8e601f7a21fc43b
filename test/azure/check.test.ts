/**
 * `countersign azure check` against the ARM sandbox, with the sandbox's token or an injected credential:
 * nothing reaches the internet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { checkAzure, describeIdentity } from '../../src/cli/azure-check';
import { readCliSettings } from '../../src/settings';
import { loadConfig, parseConfig } from '../../src/config/load';
import { SANDBOX_SUBSCRIPTION_ID, type ArmSandbox } from '../../src/sandbox';
import { EXAMPLE_CONFIG } from '../support/people';
import { startTestSandbox } from '../support/sandbox';
import { TENANT } from '../support/people';

const ROOT = path.resolve(__dirname, '..', '..');

/** An unsigned token with Entra's claims, as a credential would return one. */
function entraToken(claims: Record<string, string>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

function configFor(sandbox: ArmSandbox, credential = 'type: managedIdentity\n    clientId: 0f0f0f0f-1111-4222-8333-444444444444') {
  const text = fs
    .readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace(/subscriptionId: ""/, `subscriptionId: "${sandbox.subscriptionId}"\n  endpoint: "${sandbox.url}"`)
    .replace(/credential:\n(\s+#.*\n)*\s+type: default/, `credential:\n    ${credential}`);
  return parseConfig(text, EXAMPLE_CONFIG);
}

/**
 * The real command in a child process. Asynchronous on purpose: the sandbox it talks to lives in this
 * process, and must keep answering while the child runs.
 */
function runCommand(args: string[], env: Record<string, string | undefined>, timeoutMs = 20000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'countersign.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function run(options: Omit<Parameters<typeof checkAzure>[0], 'write'>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await checkAzure({ ...options, write: (l) => lines.push(l) });
  return { code, out: lines.join('\n') };
}

describe('countersign azure check', function () {
  this.timeout(30000);
  let sandbox: ArmSandbox;
  const managedIdentityToken = {
    token: entraToken({
      aud: 'https://management.azure.com',
      oid: 'aaaaaaaa-1111-4222-8333-444444444444',
      tid: TENANT,
      appid: '0f0f0f0f-1111-4222-8333-444444444444',
      xms_mirid: '/subscriptions/s/resourcegroups/ops/providers/Microsoft.ManagedIdentity/userAssignedIdentities/countersign',
    }),
    expiresOnTimestamp: Date.parse('2026-11-21T15:00:00Z'),
  };

  before(async () => {
    sandbox = await startTestSandbox();
  });
  after(() => sandbox.close());
  beforeEach(() => sandbox.reset());

  it('names the configured identity from its token and reads the subscription with it', async () => {
    const scopes: string[] = [];
    const credential = { getToken: async (scope: string | string[]) => (scopes.push(String(scope)), managedIdentityToken) };
    const { code, out } = await run({ config: configFor(sandbox), credential, caPem: sandbox.caPem });
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`target: +subscription ${sandbox.subscriptionId} at ${sandbox.url}`));
    assert.match(out, /credential: managedIdentity: managed identity \(user-assigned, client id 0f0f0f0f-1111-4222-8333-444444444444\)/);
    assert.match(out, /identity: +managed identity \/subscriptions\/s\/.*\/userAssignedIdentities\/countersign \(client id 0f0f0f0f-.*, object id aaaaaaaa-.*, tenant 6f1b2c3d-.*\)/);
    assert.match(out, /token: +for https:\/\/127\.0\.0\.1:\d+\/\.default, expires 2026-11-21T15:00:00\.000Z/);
    assert.match(out, /read: +OK: subscription .* "Countersign sandbox" \(Enabled\)/);
    assert.deepEqual([...new Set(scopes)], [`${sandbox.url}/.default`], 'every token asked for is for the configured ARM endpoint');
  });

  it('says which action and scope are missing when the identity may not read the subscription (exit 2)', async () => {
    sandbox.faults.denyAction('Microsoft.Resources/subscriptions/read');
    const { code, out } = await run({ config: configFor(sandbox), credential: { getToken: async () => managedIdentityToken }, caPem: sandbox.caPem });
    assert.equal(code, 2);
    assert.match(out, /read: +refused: AuthorizationFailed: Countersign's Azure identity is not allowed to perform 'Microsoft\.Resources\/subscriptions\/read' on '\/subscriptions\//);
  });

  it('says why there is no token (exit 2), without reading anything', async () => {
    const from = sandbox.requests.length;
    const credential = {
      getToken: async () => {
        throw new Error('ManagedIdentityCredential: no managed identity endpoint found');
      },
    };
    const { code, out } = await run({ config: configFor(sandbox), credential, caPem: sandbox.caPem });
    assert.equal(code, 2);
    assert.match(out, /token: +could not get a token for https:\/\/127\.0\.0\.1:\d+\/\.default: ManagedIdentityCredential: no managed identity endpoint found/);
    assert.equal(sandbox.requests.length, from);
  });

  it('gives up on a credential that does not answer', async () => {
    const { code, out } = await run({ config: configFor(sandbox), credential: { getToken: () => new Promise(() => undefined) }, caPem: sandbox.caPem, tokenTimeoutMs: 50 });
    assert.equal(code, 2);
    assert.match(out, /no answer within 0 s/);
  });

  it('refuses a client secret credential whose secret is not in the environment, naming the variable', async () => {
    const config = configFor(sandbox, 'type: clientSecret\n    clientId: 0f0f0f0f-1111-4222-8333-444444444444\n    tenantId: 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    const { code, out } = await run({ config, settings: readCliSettings({}), caPem: sandbox.caPem });
    assert.equal(code, 2);
    assert.match(out, /credential: cannot be built: AZURE_CLIENT_SECRET: must hold the client secret/);
  });

  it('refuses a workload identity whose token file does not exist, naming the variable, before asking for a token', async () => {
    const config = configFor(sandbox, 'type: workloadIdentity\n    clientId: 0f0f0f0f-1111-4222-8333-444444444444\n    tenantId: 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    const missing = path.join(os.tmpdir(), 'countersign-no-such-dir', 'azure-identity-token');
    const { code, out } = await run({ config, settings: readCliSettings({ AZURE_FEDERATED_TOKEN_FILE: missing }), caPem: sandbox.caPem });
    assert.equal(code, 2);
    assert.match(out, new RegExp(`credential: cannot be built: AZURE_FEDERATED_TOKEN_FILE: names ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, which does not exist`));
    assert.doesNotMatch(out, /^token:/m);
  });

  it('checks the sandbox the bot would use when no subscription is configured', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, sandbox.caPem);
    try {
      const env = { ARM_SANDBOX_URL: sandbox.url, ARM_SANDBOX_CA_FILE: caFile, ARM_SANDBOX_SUBSCRIPTION_ID: sandbox.subscriptionId };
      const { code, out } = await run({ config: loadConfig(EXAMPLE_CONFIG), settings: readCliSettings(env) });
      assert.equal(code, 0, out);
      assert.match(out, /target: +SANDBOX at https:\/\/127\.0\.0\.1/);
      assert.match(out, /credential: sandbox token/);
      assert.match(out, /identity: +not an Entra token/);
      // The real command, as an operator runs it.
      const child = await runCommand(['azure', 'check', EXAMPLE_CONFIG], env);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /read: +OK: subscription/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each try of the read COUNTERSIGN_AZURE_TIMEOUT, as the bot does, and refuses one under 1s', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, sandbox.caPem);
    try {
      const env = { ARM_SANDBOX_URL: sandbox.url, ARM_SANDBOX_CA_FILE: caFile, ARM_SANDBOX_SUBSCRIPTION_ID: sandbox.subscriptionId, COUNTERSIGN_AZURE_TIMEOUT: '1s' };
      sandbox.faults.stall({ method: 'GET', pathContains: '/subscriptions/', ms: 60_000, count: 10 });
      const { code, out } = await run({ config: loadConfig(EXAMPLE_CONFIG), settings: readCliSettings(env) });
      assert.equal(code, 2, out);
      assert.match(out, /read: +failed: .*no answer within 1 s \(COUNTERSIGN_AZURE_TIMEOUT\) to GET \/subscriptions\//);
      sandbox.reset();
      assert.throws(() => readCliSettings({ ...env, COUNTERSIGN_AZURE_TIMEOUT: '500ms' }).readAzureTimeout(), /COUNTERSIGN_AZURE_TIMEOUT: must be a duration of at least 1s/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the subscription the bot would use when a running sandbox is named without ARM_SANDBOX_SUBSCRIPTION_ID', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-check-'));
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, sandbox.caPem);
    try {
      // The two lines docs/development.md has a user copy from the standalone sandbox, and nothing else.
      const env = { ARM_SANDBOX_URL: sandbox.url, ARM_SANDBOX_CA_FILE: caFile };
      const { code, out } = await run({ config: loadConfig(EXAMPLE_CONFIG), settings: readCliSettings(env) });
      assert.equal(code, 0, out);
      assert.match(out, new RegExp(`target: +SANDBOX at ${sandbox.url} \\(subscription ${SANDBOX_SUBSCRIPTION_ID};`));
      assert.match(out, new RegExp(`read: +OK: subscription ${SANDBOX_SUBSCRIPTION_ID} "Countersign sandbox"`));
      const child = await runCommand(['azure', 'check', EXAMPLE_CONFIG], { ...env, ARM_SANDBOX_SUBSCRIPTION_ID: undefined });
      assert.equal(child.status, 0, child.stderr + child.stdout);
      assert.match(child.stdout, /read: +OK: subscription 00000000-0000-0000-0000-00000000c0de/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gets a real managed identity token from a local token endpoint (as App Service provides one) and reads with it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-mi-'));
    const asked: string[] = [];
    const tokens = http.createServer((req, res) => {
      asked.push(`${req.url} ${String(req.headers['x-identity-header'])}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: managedIdentityToken.token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), token_type: 'Bearer', resource: sandbox.url }));
    });
    await new Promise<void>((resolve) => tokens.listen(0, '127.0.0.1', resolve));
    try {
      const config = path.join(dir, 'countersign.yaml');
      fs.writeFileSync(
        config,
        [
          'version: 1',
          'tenants: [6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d]',
          'azure:',
          `  subscriptionId: "${sandbox.subscriptionId}"`,
          `  endpoint: "${sandbox.url}"`,
          '  credential:',
          '    type: managedIdentity',
          '    clientId: 0f0f0f0f-1111-4222-8333-444444444444',
          'roles:',
          '  ops: [11111111-1111-4111-8111-111111111111]',
          'commands:',
          '  - name: groups',
          '    description: List resource groups',
          '    sensitive: false',
          '    operation: { kind: listResourceGroups }',
          '',
        ].join('\n'),
      );
      const caFile = path.join(dir, 'ca.pem');
      fs.writeFileSync(caFile, sandbox.caPem);
      const child = await runCommand(['azure', 'check', config], {
        // The sandbox's certificate, trusted the way an operator would trust a proxy's.
        NODE_EXTRA_CA_CERTS: caFile,
        IDENTITY_ENDPOINT: `http://127.0.0.1:${(tokens.address() as AddressInfo).port}/msi/token`,
        IDENTITY_HEADER: 'local-identity-header',
        ARM_SANDBOX_URL: undefined,
      });
      assert.equal(child.status, 0, child.stderr + child.stdout);
      assert.match(child.stdout, /identity: +managed identity .*userAssignedIdentities\/countersign/);
      assert.match(child.stdout, /read: +OK/);
      assert.ok(asked.length > 0 && asked.every((a) => a.includes('client_id=0f0f0f0f-1111-4222-8333-444444444444') && a.endsWith(' local-identity-header')), asked.join('\n'));
    } finally {
      tokens.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads users and apps from their tokens too', () => {
    assert.equal(describeIdentity(entraToken({ upn: 'ops@contoso.com', oid: 'o-1', tid: 't-1', appid: 'a-1' })), 'user ops@contoso.com (client id a-1, object id o-1, tenant t-1)');
    assert.equal(describeIdentity(entraToken({ appid: 'a-2', oid: 'o-2', tid: 't-2' })), 'app a-2 (object id o-2, tenant t-2)');
  });
});
