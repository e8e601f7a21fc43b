/**
 * Whether a credential can be built from the config and the environment, said before any Azure
 * package is loaded: the bot checks this at start and loads the Azure SDK on its first use of Azure.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AzureCredentialEnv } from '../settings';

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

const TYPES: readonly CredentialType[] = ['default', 'managedIdentity', 'clientSecret', 'workloadIdentity', 'sandbox'];

/** Throws CredentialConfigError naming the key or variable that is missing or wrong. */
export function checkCredentialConfig(config: CredentialConfig, env: AzureCredentialEnv = {}): void {
  if (!TYPES.includes(config.type)) throw new CredentialConfigError('azure.credential.type', `unknown credential type "${String(config.type)}"`);
  if (config.type === 'clientSecret') {
    if (!config.tenantId) throw new CredentialConfigError('azure.credential.tenantId', 'is required for a clientSecret credential');
    if (!config.clientId) throw new CredentialConfigError('azure.credential.clientId', 'is required for a clientSecret credential');
    if (!env.AZURE_CLIENT_SECRET) throw new CredentialConfigError('AZURE_CLIENT_SECRET', 'must hold the client secret of the app registration');
  }
  if (config.type === 'workloadIdentity' && !env.AZURE_FEDERATED_TOKEN_FILE) {
    throw new CredentialConfigError('AZURE_FEDERATED_TOKEN_FILE', 'must name the projected service-account token file for workload identity');
  }
}

/**
 * The files the credential will read are there: a workload identity whose token file is missing (its
 * volume not mounted, the path mistyped) would otherwise start, pass its probes, and fail every call to
 * Azure. Checked at start and by `countersign azure check`; `exists` is the file system's (tests give another).
 */
export function checkCredentialFiles(config: CredentialConfig, env: AzureCredentialEnv = {}, exists: (file: string) => boolean = existsSync): void {
  const file = env.AZURE_FEDERATED_TOKEN_FILE;
  if (config.type === 'workloadIdentity' && file && !exists(file)) {
    throw new CredentialConfigError(
      'AZURE_FEDERATED_TOKEN_FILE',
      `names ${path.resolve(file)}, which does not exist: it must be the service-account token file projected for workload identity (the volume the Azure workload identity webhook mounts)`,
    );
  }
}
