import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { createCredential, CredentialConfigError } from '../../src/azure';
import { checkCredentialFiles } from '../../src/azure/credential-check';
import { startCountersign } from '../../src/composition-root';
import { loadConfig } from '../../src/config/load';
import { readSettings } from '../../src/settings';
import { EXAMPLE_CONFIG } from '../support/people';

describe('choosing the credential Countersign calls ARM with', () => {
  it('gives the sandbox a fixed local token, without any identity service', async () => {
    const token = await createCredential({ type: 'sandbox' }).getToken('https://management.azure.com/.default');
    assert.equal(token?.token, 'sandbox');
    assert.ok((token?.expiresOnTimestamp ?? 0) > Date.now());
  });

  it('uses a user-assigned managed identity when a client id is given', () => {
    const credential = createCredential({ type: 'managedIdentity', clientId: '7c1d0a1e-0000-4000-8000-000000000001' });
    assert.ok(credential instanceof ManagedIdentityCredential);
  });

  it('takes the client secret from AZURE_CLIENT_SECRET only, and names what is missing', () => {
    const config = { type: 'clientSecret' as const, tenantId: 't', clientId: 'c' };
    assert.throws(() => createCredential(config, {}), (e: Error) => e instanceof CredentialConfigError && /^AZURE_CLIENT_SECRET:/.test(e.message));
    assert.throws(() => createCredential({ type: 'clientSecret', clientId: 'c' }, { AZURE_CLIENT_SECRET: 's' }), /azure\.credential\.tenantId: is required/);
    assert.ok(createCredential(config, { AZURE_CLIENT_SECRET: 'not-a-real-secret' }) instanceof ClientSecretCredential);
  });

  it('needs the federated token file for workload identity', () => {
    assert.throws(
      () => createCredential({ type: 'workloadIdentity', clientId: 'c', tenantId: 't' }, {}),
      (e: Error) => /^AZURE_FEDERATED_TOKEN_FILE:/.test(e.message),
    );
    const credential = createCredential({ type: 'workloadIdentity', clientId: 'c', tenantId: 't' }, { AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/token' });
    assert.ok(credential instanceof WorkloadIdentityCredential);
  });
});

describe('a credential the environment cannot give, at start', function () {
  this.timeout(30_000);
  const APP = { MicrosoftAppId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', MicrosoftAppPassword: 'not-a-real-secret', COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com', PORT: '0' };
  const withCredential = (credential: object) => {
    const example = loadConfig(EXAMPLE_CONFIG);
    return { ...example, azure: { ...example.azure, sandbox: false, subscriptionId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', credential } };
  };

  it('names a workload identity token file that does not exist', () => {
    const config = { type: 'workloadIdentity' as const, clientId: 'c', tenantId: 't' };
    assert.throws(
      () => checkCredentialFiles(config, { AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' }, () => false),
      (e: Error) => e instanceof CredentialConfigError && e.message.startsWith('AZURE_FEDERATED_TOKEN_FILE: names /var/run/secrets/azure/tokens/azure-identity-token, which does not exist'),
    );
    checkCredentialFiles(config, { AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' }, () => true);
    checkCredentialFiles({ type: 'managedIdentity' }, { AZURE_FEDERATED_TOKEN_FILE: '/nowhere' }, () => false);
  });

  it('stops the start naming the variable, before the data directory or its database is made', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-credential-'));
    try {
      const dataDir = path.join(dir, 'data');
      const cases: [object, Record<string, string>, RegExp][] = [
        [{ type: 'workloadIdentity', clientId: '0f0f0f0f-1111-4222-8333-444444444444', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }, { AZURE_FEDERATED_TOKEN_FILE: path.join(dir, 'no-token') }, /^AZURE_FEDERATED_TOKEN_FILE: names .*no-token, which does not exist/],
        [{ type: 'clientSecret', clientId: '0f0f0f0f-1111-4222-8333-444444444444', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }, {}, /^AZURE_CLIENT_SECRET: /],
      ];
      for (const [credential, env, expected] of cases) {
        const settings = readSettings({ ...APP, COUNTERSIGN_DATA_DIR: dataDir, ...env });
        await assert.rejects(startCountersign({ settings, config: withCredential(credential) as never }), (e: Error) => e instanceof CredentialConfigError && expected.test(e.message));
        assert.equal(existsSync(dataDir), false, `${JSON.stringify(credential)}: the start made ${dataDir}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
