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
    /** OpenID metadata URL for channel tokens (`BotOpenIdMetadata`); empty: botbuilder's default. */
    openIdMetadataUrl: string;
  };
  /** Public base URL of the bot, used in links it hands out (download links). */
  publicUrl: string;
  logLevel: string;
  /**
   * How long an execution's claim holds without renewal: the run executing an operation renews it while
   * it runs; after a crash another run resumes the operation once it expired.
   */
  executionLeaseMs: number;
  /** Request forms in progress held in memory at most (least recently used dropped first). */
  dialogStateMaxEntries: number;
  /** How long a form in progress is kept after the person's last message. */
  dialogStateTtlMs: number;
  /** New requests one person may make per hour. */
  requestsPerPersonPerHour: number;
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
    microsoftApp: { id: appId, type, tenantId, password: env.MicrosoftAppPassword ?? '', openIdMetadataUrl: env.BotOpenIdMetadata ?? '' },
    publicUrl: (env.COUNTERSIGN_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/$/, ''),
    logLevel: env.LOG_LEVEL || 'info',
    executionLeaseMs: readLease(env.COUNTERSIGN_EXECUTION_LEASE),
    dialogStateMaxEntries: readCount('COUNTERSIGN_DIALOG_STATE_MAX', env.COUNTERSIGN_DIALOG_STATE_MAX, 10_000),
    dialogStateTtlMs: readDuration('COUNTERSIGN_DIALOG_STATE_TTL', env.COUNTERSIGN_DIALOG_STATE_TTL, 30 * 60_000),
    requestsPerPersonPerHour: readCount('COUNTERSIGN_REQUESTS_PER_HOUR', env.COUNTERSIGN_REQUESTS_PER_HOUR, 20),
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

/** A whole number of at least 1. */
function readCount(variable: string, text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 1) throw new SettingsError(variable, `must be a whole number of at least 1, got "${text}"`);
  return n;
}

/** `90s`, `30m`, `2h`; at least one second. */
function readDuration(variable: string, text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'] : NaN;
  if (!(ms >= 1000)) throw new SettingsError(variable, `must be a duration of at least 1s such as 90s, 30m or 2h, got "${text}"`);
  return ms;
}

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
