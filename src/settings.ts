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
  /** Where requests and the audit trail live: SQLite (one instance) or PostgreSQL (several). */
  store: StoreSettings;
}

export type StoreSettings = { kind: 'sqlite' } | { kind: 'postgres'; postgres: PostgresSettings };

/** The PostgreSQL connection, from a URL and/or the libpq variables (PG*), as node and psql users expect. */
export interface PostgresSettings {
  /** COUNTERSIGN_DATABASE_URL, else DATABASE_URL (postgres://user@host:5432/db?sslmode=verify-full). */
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** PGPASSWORD; absent with Microsoft Entra authentication. */
  password?: string;
  /** PGSSLMODE (a sslmode in the URL wins). */
  sslMode?: 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  /** PGSSLROOTCERT: a PEM file of the certificate authorities to trust. */
  sslRootCertFile?: string;
  applicationName?: string;
  /** COUNTERSIGN_DATABASE_SCHEMA (default: the role's search_path, usually public). */
  schema?: string;
  /** `password` (PGPASSWORD or the URL's) or `entra`: a Microsoft Entra token of the app's identity is the password. */
  auth: 'password' | 'entra';
  /** COUNTERSIGN_DATABASE_CLIENT_ID: the user-assigned managed identity whose token is the password. */
  entraClientId?: string;
  /** COUNTERSIGN_DATABASE_MIGRATE: auto (when this role owns the schema), always, never. */
  migrate: 'auto' | 'always' | 'never';
  /** COUNTERSIGN_DATABASE_POOL_SIZE (default 10). */
  poolSize?: number;
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
    store: readStoreSettings(env),
  };
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * SQLite unless COUNTERSIGN_STORE=postgres: PostgreSQL is never inferred from PG* variables being set,
 * so an operator always knows which store holds the audit trail.
 */
export function readStoreSettings(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  const kind = env.COUNTERSIGN_STORE || 'sqlite';
  if (kind === 'sqlite') return { kind };
  if (kind !== 'postgres') throw new SettingsError('COUNTERSIGN_STORE', `must be sqlite or postgres, got "${kind}"`);
  const url = env.COUNTERSIGN_DATABASE_URL || env.DATABASE_URL || undefined;
  if (!url && !env.PGHOST) {
    throw new SettingsError('COUNTERSIGN_STORE', 'is postgres but no database is named: set COUNTERSIGN_DATABASE_URL (or DATABASE_URL), or PGHOST with PGDATABASE and PGUSER');
  }
  const port = env.PGPORT ? Number(env.PGPORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new SettingsError('PGPORT', `must be a port number, got "${env.PGPORT}"`);
  const sslMode = env.PGSSLMODE || undefined;
  if (sslMode !== undefined && !(SSL_MODES as readonly string[]).includes(sslMode)) {
    throw new SettingsError('PGSSLMODE', `must be one of ${SSL_MODES.join(', ')}, got "${sslMode}"`);
  }
  const auth = env.COUNTERSIGN_DATABASE_AUTH || 'password';
  if (auth !== 'password' && auth !== 'entra') throw new SettingsError('COUNTERSIGN_DATABASE_AUTH', `must be password or entra, got "${auth}"`);
  if (auth === 'entra' && env.PGPASSWORD) {
    throw new SettingsError('PGPASSWORD', 'is set but COUNTERSIGN_DATABASE_AUTH is entra (the password is a Microsoft Entra token): remove one of them');
  }
  const migrate = env.COUNTERSIGN_DATABASE_MIGRATE || 'auto';
  if (migrate !== 'auto' && migrate !== 'always' && migrate !== 'never') {
    throw new SettingsError('COUNTERSIGN_DATABASE_MIGRATE', `must be auto, always or never, got "${migrate}"`);
  }
  const poolSize = env.COUNTERSIGN_DATABASE_POOL_SIZE ? Number(env.COUNTERSIGN_DATABASE_POOL_SIZE) : undefined;
  if (poolSize !== undefined && !(Number.isInteger(poolSize) && poolSize >= 1)) {
    throw new SettingsError('COUNTERSIGN_DATABASE_POOL_SIZE', `must be a whole number of connections, at least 1, got "${env.COUNTERSIGN_DATABASE_POOL_SIZE}"`);
  }
  const optional = <K extends keyof PostgresSettings>(key: K, value: PostgresSettings[K] | '' | undefined) => (value === undefined || value === '' ? {} : { [key]: value });
  return {
    kind,
    postgres: {
      ...optional('url', url),
      ...optional('host', env.PGHOST),
      ...optional('port', port),
      ...optional('user', env.PGUSER),
      ...optional('database', env.PGDATABASE),
      ...optional('password', env.PGPASSWORD),
      ...optional('sslMode', sslMode as PostgresSettings['sslMode']),
      ...optional('sslRootCertFile', env.PGSSLROOTCERT),
      ...optional('applicationName', env.PGAPPNAME),
      ...optional('schema', env.COUNTERSIGN_DATABASE_SCHEMA),
      auth,
      ...optional('entraClientId', env.COUNTERSIGN_DATABASE_CLIENT_ID || env.AZURE_CLIENT_ID),
      migrate,
      ...optional('poolSize', poolSize),
    },
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

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
