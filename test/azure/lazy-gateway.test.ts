import assert from 'node:assert/strict';
import type { StoppableAzureGateway } from '../../src/azure/gateway';
import { checkCredentialConfig, CredentialConfigError } from '../../src/azure/credential-check';
import { lazyAzureGateway } from '../../src/azure/lazy-gateway';

describe('the Azure layer, loaded on first use', () => {
  it('builds the gateway on the first call that needs Azure, once, and passes every call through', async () => {
    const calls: string[] = [];
    let loads = 0;
    const real = {
      sandbox: true,
      whatIf: async () => (calls.push('whatIf'), { changes: [] }),
      execute: async () => (calls.push('execute'), { status: 'succeeded' }),
      resume: async () => (calls.push('resume'), { status: 'succeeded' }),
      snapshot: async () => (calls.push('snapshot'), { exists: true }),
      cancel: async () => void calls.push('cancel'),
      query: async () => (calls.push('query'), { rows: [] }),
      stopWaiting: () => void calls.push('stopWaiting'),
    } as unknown as StoppableAzureGateway;
    const gateway = lazyAzureGateway(true, () => {
      loads++;
      return real;
    });
    gateway.stopWaiting();
    assert.equal(loads, 0, 'nothing is loaded before Azure is needed, nor to stop waiting for it');
    assert.equal(gateway.sandbox, true);
    const op = {} as never;
    await gateway.whatIf(op);
    await gateway.execute(op, {} as never);
    await gateway.resume(op, {} as never, {} as never);
    await gateway.snapshot(op);
    await gateway.cancel(op);
    await gateway.query(op);
    gateway.stopWaiting();
    assert.equal(loads, 1);
    assert.deepEqual(calls, ['whatIf', 'execute', 'resume', 'snapshot', 'cancel', 'query', 'stopWaiting']);
  });

  it('still refuses, at start and without the SDK, a credential the config and environment cannot give', () => {
    assert.throws(() => checkCredentialConfig({ type: 'clientSecret', tenantId: 't', clientId: 'c' }, {}), (err: Error) => err instanceof CredentialConfigError && /AZURE_CLIENT_SECRET/.test(err.message));
    assert.throws(() => checkCredentialConfig({ type: 'clientSecret', clientId: 'c' }, { AZURE_CLIENT_SECRET: 's' }), /azure\.credential\.tenantId/);
    assert.throws(() => checkCredentialConfig({ type: 'workloadIdentity' }, {}), /AZURE_FEDERATED_TOKEN_FILE/);
    assert.throws(() => checkCredentialConfig({ type: 'bogus' as never }, {}), /unknown credential type "bogus"/);
    checkCredentialConfig({ type: 'managedIdentity' }, {});
    checkCredentialConfig({ type: 'clientSecret', tenantId: 't', clientId: 'c' }, { AZURE_CLIENT_SECRET: 's' });
  });
});
