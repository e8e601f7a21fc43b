/**
 * What Azure takes from the environment: the credential's variables (AZURE_*), how long a call to
 * ARM may take (COUNTERSIGN_AZURE_TIMEOUT), and the Application Insights connection string.
 */
import { readDuration, SettingsError, variable } from './values';

/** What the Azure credentials take from the environment (never from the config file): secrets, and ids. */
export interface AzureCredentialEnv {
  AZURE_CLIENT_SECRET?: string;
  AZURE_FEDERATED_TOKEN_FILE?: string;
  AZURE_CLIENT_ID?: string;
  AZURE_TENANT_ID?: string;
}

export function readAzureCredentialEnv(env: NodeJS.ProcessEnv): AzureCredentialEnv {
  // Each name written out, not looped over: test/settings finds the variables by their spelling.
  const values: AzureCredentialEnv = {
    AZURE_CLIENT_SECRET: variable(env, 'AZURE_CLIENT_SECRET'),
    AZURE_FEDERATED_TOKEN_FILE: variable(env, 'AZURE_FEDERATED_TOKEN_FILE'),
    AZURE_CLIENT_ID: variable(env, 'AZURE_CLIENT_ID'),
    AZURE_TENANT_ID: variable(env, 'AZURE_TENANT_ID'),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

export function readAzureTimeout(env: NodeJS.ProcessEnv): number {
  return readDuration('COUNTERSIGN_AZURE_TIMEOUT', variable(env, 'COUNTERSIGN_AZURE_TIMEOUT'), 30_000, { maxMs: 600_000, maxText: '10m: one call to ARM that long is lost, not slow', examples: '30s, 60s or 2m' });
}

/**
 * APPLICATIONINSIGHTS_CONNECTION_STRING: `Key=Value` pairs separated by `;`, an InstrumentationKey
 * among them (what the Azure Monitor exporter needs); empty turns telemetry off. Checked here so that
 * a wrong value is named as this variable, not as the exporter's own words at start.
 */
export function readConnectionString(text: string | undefined): string {
  const value = (text ?? '').trim();
  if (!value) return '';
  const pairs = value.split(';').filter((p) => p.trim() !== '').map((p) => /^\s*([A-Za-z]+)\s*=\s*(.+?)\s*$/.exec(p));
  const shown = value.length > 24 ? `${value.slice(0, 24)}…` : value;
  if (pairs.some((p) => !p) || !pairs.some((p) => p![1].toLowerCase() === 'instrumentationkey')) {
    throw new SettingsError('APPLICATIONINSIGHTS_CONNECTION_STRING', `must be an Application Insights connection string (InstrumentationKey=<key>;IngestionEndpoint=https://…, as the resource's Overview shows it), got "${shown}"; leave it unset for no telemetry`);
  }
  return value;
}
