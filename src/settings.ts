/**
 * Process settings from the environment: one place maps environment variables to options
 * (everything about commands, roles and policy lives in the YAML config file instead).
 */
import path from 'node:path';

export type MicrosoftAppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

export interface Settings {
  /** HTTP port of the bot (POST /api/messages). */
  port: number;
  /** Address to listen on. Without a Microsoft app id only loopback addresses are allowed. */
  host: string;
  /** Path of the YAML config (commands, policy, roles, tenants, Azure). */
  configPath: string;
  /** Directory holding the SQLite database and signing keys. */
  dataDir: string;
  microsoftApp: {
    id: string;
    type: MicrosoftAppType;
    tenantId: string;
    /** Client secret of the bot's app registration (MultiTenant / SingleTenant). */
    password: string;
  };
  /** Public base URL of the bot, used in links it hands out (download links). */
  publicUrl: string;
  logLevel: string;
  /**
   * How long an execution's claim holds without renewal: the run executing an operation renews it while
   * it runs; after a crash another run resumes the operation once it expired.
   */
  executionLeaseMs: number;
  /**
   * How long a write waits for another process to release the database's write lock before it fails
   * and the person is told nothing changed (COUNTERSIGN_STORE_LOCK_WAIT, default 5s). Asynchronous.
   */
  storeLockWaitMs: number;
}

export class SettingsError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SettingsError';
  }
}

const APP_TYPES: MicrosoftAppType[] = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'];

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const port = Number(env.PORT ?? '3978');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SettingsError('PORT', `must be a port number from 0 to 65535, got "${env.PORT}"`);
  }
  const type = (env.MicrosoftAppType || 'MultiTenant') as MicrosoftAppType;
  if (!APP_TYPES.includes(type)) {
    throw new SettingsError('MicrosoftAppType', `must be one of ${APP_TYPES.join(', ')}, got "${type}"`);
  }
  const appId = env.MicrosoftAppId ?? '';
  const tenantId = env.MicrosoftAppTenantId ?? '';
  if (appId && type !== 'MultiTenant' && !tenantId) {
    throw new SettingsError('MicrosoftAppTenantId', `is required when MicrosoftAppType is ${type}`);
  }
  const host = env.COUNTERSIGN_HOST || '127.0.0.1';
  return {
    port,
    host,
    configPath: path.resolve(env.COUNTERSIGN_CONFIG || 'config/countersign.example.yaml'),
    dataDir: path.resolve(env.COUNTERSIGN_DATA_DIR || 'data'),
    microsoftApp: { id: appId, type, tenantId, password: env.MicrosoftAppPassword ?? '' },
    publicUrl: (env.COUNTERSIGN_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/$/, ''),
    logLevel: env.LOG_LEVEL || 'info',
    executionLeaseMs: readLease(env.COUNTERSIGN_EXECUTION_LEASE),
    storeLockWaitMs: readDuration('COUNTERSIGN_STORE_LOCK_WAIT', env.COUNTERSIGN_STORE_LOCK_WAIT, 5000, 0),
  };
}

/** `1500ms`, `30s`, `2m`; at least one second, so renewals (every third of it) stay meaningful. */
function readLease(text: string | undefined): number {
  if (!text) return 60_000;
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!(ms >= 1000)) throw new SettingsError('COUNTERSIGN_EXECUTION_LEASE', `must be a duration of at least 1s such as 60s, 2m or 1500ms, got "${text}"`);
  return ms;
}

/** `250ms`, `5s`, `1m`, at least `minMs`. */
function readDuration(variable: string, text: string | undefined, fallbackMs: number, minMs: number): number {
  if (!text) return fallbackMs;
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!(ms >= minMs)) throw new SettingsError(variable, `must be a duration such as 5s, 1m or 250ms (at least ${minMs} ms), got "${text}"`);
  return ms;
}

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
