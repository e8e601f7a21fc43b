/**
 * Which identity Countersign uses to call Azure Resource Manager. The config names the kind; secrets come
 * from the environment only (AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE), never from the config file.
 */
import type { AzureCredentialEnv } from '../settings';
import { checkCredentialConfig, type CredentialConfig } from './credential-check';
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';

export { CredentialConfigError, type CredentialConfig } from './credential-check';

/** The token the ARM sandbox accepts: it only checks that a bearer token is present. */
export function sandboxCredential(): TokenCredential {
  return {
    getToken: async () => ({ token: 'sandbox', expiresOnTimestamp: Date.now() + 3600_000 }),
  };
}

/** `env`: the AZURE_* variables as the settings read them (readSettings' azureCredentialEnv). */
export function createCredential(config: CredentialConfig, env: AzureCredentialEnv = {}): TokenCredential {
  checkCredentialConfig(config, env);
  const { clientId, tenantId } = config;
  switch (config.type) {
    case 'sandbox':
      return sandboxCredential();
    case 'default':
      // DefaultAzureCredential tries, in order: environment, workload identity, managed identity, then
      // developer sign-ins (VS Code, Azure CLI, PowerShell, azd); a client id pins the identity.
      return new DefaultAzureCredential({
        ...(tenantId ? { tenantId } : {}),
        ...(clientId ? { managedIdentityClientId: clientId, workloadIdentityClientId: clientId } : {}),
      });
    case 'managedIdentity':
      // No client id: the system-assigned identity of the host.
      return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    case 'clientSecret': {
      // checkCredentialConfig made sure all three are there.
      return new ClientSecretCredential(tenantId!, clientId!, env.AZURE_CLIENT_SECRET!);
    }
    case 'workloadIdentity': {
      const tokenFilePath = env.AZURE_FEDERATED_TOKEN_FILE!;
      const resolvedClient = clientId ?? env.AZURE_CLIENT_ID;
      const resolvedTenant = tenantId ?? env.AZURE_TENANT_ID;
      return new WorkloadIdentityCredential({
        tokenFilePath,
        ...(resolvedClient ? { clientId: resolvedClient } : {}),
        ...(resolvedTenant ? { tenantId: resolvedTenant } : {}),
      });
    }
    default: {
      const unknown: never = config.type;
      throw new Error(`unknown credential type "${String(unknown)}"`);
    }
  }
}
