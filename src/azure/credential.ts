/**
 * Which identity Countersign uses to call Azure Resource Manager. The config names the kind; secrets come
 * from the environment only (AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE), never from the config file.
 */
import type { AzureCredentialEnv } from '../settings';
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';

export type CredentialType = 'default' | 'managedIdentity' | 'clientSecret' | 'workloadIdentity' | 'sandbox';

export interface CredentialConfig {
  type: CredentialType;
  /** User-assigned managed identity, app registration or workload identity client id. */
  clientId?: string;
  tenantId?: string;
}

export class CredentialConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'CredentialConfigError';
  }
}

/** The token the ARM sandbox accepts: it only checks that a bearer token is present. */
export function sandboxCredential(): TokenCredential {
  return {
    getToken: async () => ({ token: 'sandbox', expiresOnTimestamp: Date.now() + 3600_000 }),
  };
}

/** `env`: the AZURE_* variables as the settings read them (readSettings' azureCredentialEnv). */
export function createCredential(config: CredentialConfig, env: AzureCredentialEnv = {}): TokenCredential {
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
      if (!tenantId) throw new CredentialConfigError('azure.credential.tenantId', 'is required for a clientSecret credential');
      if (!clientId) throw new CredentialConfigError('azure.credential.clientId', 'is required for a clientSecret credential');
      const secret = env.AZURE_CLIENT_SECRET;
      if (!secret) throw new CredentialConfigError('AZURE_CLIENT_SECRET', 'must hold the client secret of the app registration');
      return new ClientSecretCredential(tenantId, clientId, secret);
    }
    case 'workloadIdentity': {
      const tokenFilePath = env.AZURE_FEDERATED_TOKEN_FILE;
      if (!tokenFilePath) {
        throw new CredentialConfigError('AZURE_FEDERATED_TOKEN_FILE', 'must name the projected service-account token file for workload identity');
      }
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
      throw new CredentialConfigError('azure.credential.type', `unknown credential type "${String(unknown)}"`);
    }
  }
}
