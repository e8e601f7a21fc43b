import assert from 'node:assert/strict';
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { createCredential, CredentialConfigError } from '../../src/azure';

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
