/**
 * Process settings from the environment: the one place that reads environment variables and maps them
 * to options (everything about commands, roles and policy lives in the YAML config file instead).
 * Each process has its reader: the bot (`readSettings`), the `countersign` command (`readCliSettings`)
 * and the standalone ARM sandbox (`readSandboxSettings`); everything else receives options.
 *
 * An empty variable means "not set", for every variable: `COUNTERSIGN_CONFIG=` is the default config.
 * Each variable is read by its name written out, through `variable()` (or as a property of `env`):
 * test/settings/settings.test.ts finds them all by that spelling and reads each one empty as unset.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isLoopbackHost, LOOPBACK_TEXT } from './loopback';

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
  /**
   * COUNTERSIGN_INSECURE_NO_AUTH=true: with no MicrosoftAppId, run against a real Azure subscription
   * all the same (authentication off, loopback only). Without it such a start is refused: anyone who
   * can reach loopback could act as anyone, approvers included.
   */
  insecureNoAuth: boolean;
  /** Public base URL of the bot, used in links it hands out (download links). */
  publicUrl: string;
  /**
   * Whether COUNTERSIGN_PUBLIC_URL gave `publicUrl`; otherwise it is the address listened on, which
   * only a browser on this machine can open (the start warns a bot served to Teams of it).
   */
  publicUrlSet: boolean;
  logLevel: string;
  /**
   * How long an execution's claim holds without renewal: the run executing an operation renews it while
   * it runs; after a crash another run resumes the operation once it expired.
   */
  executionLeaseMs: number;
  /** Where requests and the audit trail live: SQLite (one instance) or PostgreSQL (several). */
  store: StoreSettings;
  /**
   * How long a write waits for another process to release the database's write lock (SQLite), or in
   * all for locks other sessions hold (PostgreSQL, also every statement's lock_timeout), before it
   * fails and the person is told nothing changed (COUNTERSIGN_STORE_LOCK_WAIT, default 5s). Asynchronous.
   */
  storeLockWaitMs: number;
  /**
   * How long an audit download or HTTP export may send nothing (its reader not reading) before it
   * is cut off and recorded as broken off (COUNTERSIGN_AUDIT_EXPORT_IDLE, default 2m).
   */
  auditExportIdleMs: number;
  /** Request forms in progress held in memory at most (least recently used dropped first). */
  dialogStateMaxEntries: number;
  /** How long a form in progress is kept after the person's last message. */
  dialogStateTtlMs: number;
  /** New requests one person may make per hour. */
  requestsPerPersonPerHour: number;
  /**
   * How many instances serve the bot at once (COUNTERSIGN_INSTANCES, default 1): each keeps to its
   * share of Teams' per-conversation rate limits, the limits divided by this number.
   */
  instances: number;
  /**
   * How long one call to the Bot Connector (a message, a card update, starting a chat) may take
   * before it fails (COUNTERSIGN_TEAMS_SEND_TIMEOUT, default 15s).
   */
  teamsSendTimeoutMs: number;
  /**
   * How long one try of a call to Azure Resource Manager may go unanswered before it fails as a broken
   * connection (COUNTERSIGN_AZURE_TIMEOUT, default 30s): reads are tried again, writes found out.
   */
  azureTimeoutMs: number;
  /**
   * Application Insights connection string (APPLICATIONINSIGHTS_CONNECTION_STRING): traces and metrics
   * go there through OpenTelemetry; empty means telemetry is off.
   */
  applicationInsightsConnectionString: string;
  /** Sandbox mode only: an ARM sandbox already running, instead of one started in process. */
  armSandbox: ArmSandboxEnv;
  /** The Azure identity's secrets and ids, for the credential the config names. */
  azureCredentialEnv: AzureCredentialEnv;
  /** Values the logs must never show (the app password, the Azure client secret). */
  secrets: string[];
}

/** Where an ARM sandbox already running listens (what src/sandbox/main.ts prints). */
export interface ArmSandboxEnv {
  /** ARM_SANDBOX_URL */
  url?: string;
  /** ARM_SANDBOX_CA_FILE: the certificate PEM to trust. */
  caFile?: string;
  /** ARM_SANDBOX_SUBSCRIPTION_ID */
  subscriptionId?: string;
}

/** What the Azure credentials take from the environment (never from the config file): secrets, and ids. */
export interface AzureCredentialEnv {
  AZURE_CLIENT_SECRET?: string;
  AZURE_FEDERATED_TOKEN_FILE?: string;
  AZURE_CLIENT_ID?: string;
  AZURE_TENANT_ID?: string;
}

/** What the `countersign` command reads from the environment (the rest comes from its arguments). */
export interface CliSettings {
  /** COUNTERSIGN_CONFIG, else the example config, as an absolute path. */
  configPath: string;
  /** COUNTERSIGN_DATA_DIR, else `data`; relative to the command's working directory. */
  dataDir: string;
  /** Whether the data directory came from COUNTERSIGN_DATA_DIR (error messages say where it came from). */
  dataDirFromEnv: boolean;
  /** USER, else USERNAME: who runs a command, when the operating system cannot tell. */
  user?: string;
  /**
   * A running ARM sandbox (read when a command needs it: a half-set ARM_SANDBOX_URL/ARM_SANDBOX_CA_FILE
   * pair stops `azure check`, not `audit verify` or `--help`). Throws SettingsError.
   */
  readArmSandbox(): ArmSandboxEnv;
  /** COUNTERSIGN_AZURE_TIMEOUT, as the bot reads it (read when `azure check` needs it). Throws SettingsError. */
  readAzureTimeout(): number;
  azureCredentialEnv: AzureCredentialEnv;
  /** The store the bot uses (read when a command needs it: a bad store setting does not stop `config check`). */
  readStore(): StoreSettings;
}

/** The standalone ARM sandbox (`node --import tsx src/sandbox/main.ts`). */
export interface SandboxProcessOptions {
  /** ARM_SANDBOX_PORT, default 0: any free port. */
  port: number;
  /** ARM_SANDBOX_HOST, default 127.0.0.1. */
  host: string;
  /** ARM_SANDBOX_CA_FILE: where to write the certificate PEM clients must trust (default: not written). */
  caFile?: string;
  /** ARM_SANDBOX_STEP_MS: time per deployment operation, ms (default: the sandbox's 400). */
  stepMs?: number;
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
  /**
   * COUNTERSIGN_DATABASE_TOKEN_SCOPE: the scope the Entra token is asked for (default: public Azure's,
   * https://ossrdbms-aad.database.windows.net/.default; a sovereign cloud has its own).
   */
  entraScope?: string;
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
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The config the bot loads when COUNTERSIGN_CONFIG is not set (relative to the working directory). */
export const DEFAULT_CONFIG_PATH = 'config/countersign.example.yaml';
const DEFAULT_DATA_DIR = 'data';

/** A variable's value; an empty one is not set. */
function variable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function configPath(env: NodeJS.ProcessEnv): string {
  return path.resolve(variable(env, 'COUNTERSIGN_CONFIG') ?? DEFAULT_CONFIG_PATH);
}

function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = variable(env, name);
  // In digits: Number() would read " " as 0 (a random port), "0x50" as 80 and "8e3" as 8000.
  const port = text === undefined ? fallback : /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SettingsError(name, `must be a port number from 0 to 65535, in digits, got "${text}"`);
  return port;
}

/** The URL a variable holds, or a SettingsError saying what it must be. */
function urlIn(variable: string, text: string, expected: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new SettingsError(variable, `must be ${expected}, got "${text}"`);
  }
}

/**
 * The address people reach Countersign at (audit download links are built on it): an http(s) URL
 * with a host and no query or fragment, its trailing slash dropped.
 */
function readPublicUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const url = urlIn('COUNTERSIGN_PUBLIC_URL', text, 'an http(s) URL such as https://countersign.example.com');
  if (!['http:', 'https:'].includes(url.protocol) || !url.hostname) throw new SettingsError('COUNTERSIGN_PUBLIC_URL', `must be an http(s) URL with a host, such as https://countersign.example.com, got "${text}"`);
  if (url.search || url.hash || url.username || url.password) throw new SettingsError('COUNTERSIGN_PUBLIC_URL', `must have no query, fragment or credentials (links are built on it), got "${text}"`);
  return text.replace(/\/+$/, '');
}

/**
 * What is wrong with the links a bot served to Teams (MicrosoftAppId set) hands out, if anything: an
 * auditor's `audit export` link is built on COUNTERSIGN_PUBLIC_URL, and Teams reaches such a bot only
 * over https at its public address. Without the variable the link names the address listened on
 * (`http://0.0.0.0:8080`), which no auditor's browser can open; over plain http its single-use token
 * crosses the network in the clear. Undefined without an app id (the local trial: links on loopback).
 */
export function publicUrlWarning(settings: Pick<Settings, 'microsoftApp' | 'publicUrl' | 'publicUrlSet'>): string | undefined {
  if (!settings.microsoftApp.id) return undefined;
  if (!settings.publicUrlSet) {
    return `COUNTERSIGN_PUBLIC_URL is not set, so the audit download links Countersign hands out in Teams name the address it listens on, ${settings.publicUrl}, which auditors cannot open: set it to the bot's public https URL (the host of its messaging endpoint, such as https://countersign.example.com)`;
  }
  const url = new URL(settings.publicUrl);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return `COUNTERSIGN_PUBLIC_URL is ${settings.publicUrl}, plain http: the single-use token of every audit download link Countersign hands out would cross the network in the clear; give its https URL`;
  }
  return undefined;
}

/**
 * APPLICATIONINSIGHTS_CONNECTION_STRING: `Key=Value` pairs separated by `;`, an InstrumentationKey
 * among them (what the Azure Monitor exporter needs); empty turns telemetry off. Checked here so that
 * a wrong value is named as this variable, not as the exporter's own words at start.
 */
function readConnectionString(text: string | undefined): string {
  const value = (text ?? '').trim();
  if (!value) return '';
  const pairs = value.split(';').filter((p) => p.trim() !== '').map((p) => /^\s*([A-Za-z]+)\s*=\s*(.+?)\s*$/.exec(p));
  const shown = value.length > 24 ? `${value.slice(0, 24)}…` : value;
  if (pairs.some((p) => !p) || !pairs.some((p) => p![1].toLowerCase() === 'instrumentationkey')) {
    throw new SettingsError('APPLICATIONINSIGHTS_CONNECTION_STRING', `must be an Application Insights connection string (InstrumentationKey=<key>;IngestionEndpoint=https://…, as the resource's Overview shows it), got "${shown}"; leave it unset for no telemetry`);
  }
  return value;
}

/** COUNTERSIGN_INSECURE_NO_AUTH: `true` or `false` (unset: false). */
function readInsecureNoAuth(text: string | undefined): boolean {
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new SettingsError('COUNTERSIGN_INSECURE_NO_AUTH', `must be true or false, got "${text.slice(0, 40)}"`);
}

function readArmSandbox(env: NodeJS.ProcessEnv): ArmSandboxEnv {
  const url = variable(env, 'ARM_SANDBOX_URL');
  const caFile = variable(env, 'ARM_SANDBOX_CA_FILE');
  const subscriptionId = variable(env, 'ARM_SANDBOX_SUBSCRIPTION_ID');
  // A running sandbox is used only with its certificate: one without the other would silently start another.
  if (url && !caFile) throw new SettingsError('ARM_SANDBOX_CA_FILE', `must name the certificate PEM of the sandbox at ARM_SANDBOX_URL=${url} (the standalone sandbox prints both lines); unset ARM_SANDBOX_URL to start one in-process`);
  if (caFile && !url) throw new SettingsError('ARM_SANDBOX_URL', `must be set with ARM_SANDBOX_CA_FILE=${caFile}: the URL of the running sandbox whose certificate that is`);
  if (caFile && !existsSync(caFile)) throw new SettingsError('ARM_SANDBOX_CA_FILE', `names ${path.resolve(caFile)}, which does not exist`);
  if (subscriptionId && !GUID.test(subscriptionId)) {
    throw new SettingsError('ARM_SANDBOX_SUBSCRIPTION_ID', `must be a subscription id (a GUID, as the standalone sandbox prints it), got "${subscriptionId.slice(0, 80)}"`);
  }
  return { ...(url ? { url } : {}), ...(caFile ? { caFile } : {}), ...(subscriptionId ? { subscriptionId } : {}) };
}

function readAzureCredentialEnv(env: NodeJS.ProcessEnv): AzureCredentialEnv {
  // Each name written out, not looped over: test/settings finds the variables by their spelling.
  const values: AzureCredentialEnv = {
    AZURE_CLIENT_SECRET: variable(env, 'AZURE_CLIENT_SECRET'),
    AZURE_FEDERATED_TOKEN_FILE: variable(env, 'AZURE_FEDERATED_TOKEN_FILE'),
    AZURE_CLIENT_ID: variable(env, 'AZURE_CLIENT_ID'),
    AZURE_TENANT_ID: variable(env, 'AZURE_TENANT_ID'),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

/** The secret values of the settings and environment, for the logger's scrubbing. */
export function secretValues(env: NodeJS.ProcessEnv, appPassword: string): string[] {
  return [...new Set([appPassword, variable(env, 'MicrosoftAppPassword'), variable(env, 'AZURE_CLIENT_SECRET')])].filter((s): s is string => !!s);
}

/**
 * Where channel tokens' signing keys are found: an https URL (http only on this machine's loopback,
 * as src/loopback.ts decides it, for a local stand-in). A wrong one would let the bot start and
 * answer every activity 503 for good.
 */
function readOpenIdMetadata(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const url = urlIn('BotOpenIdMetadata', text, "the https URL of the Bot Framework's OpenID metadata, such as https://login.botframework.com/v1/.well-known/openidconfiguration");
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) || !url.hostname) {
    throw new SettingsError('BotOpenIdMetadata', `must be an https URL (http only on ${LOOPBACK_TEXT}), got "${text}"`);
  }
  return text;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const port = readPort(env, 'PORT', 3978);
  const type = (variable(env, 'MicrosoftAppType') ?? 'MultiTenant') as MicrosoftAppType;
  if (!APP_TYPES.includes(type)) {
    throw new SettingsError('MicrosoftAppType', `must be one of ${APP_TYPES.join(', ')}, got "${type}"`);
  }
  const appId = variable(env, 'MicrosoftAppId') ?? '';
  const tenantId = variable(env, 'MicrosoftAppTenantId') ?? '';
  const password = variable(env, 'MicrosoftAppPassword') ?? '';
  if (appId) checkBotIdentity(type, appId, tenantId, password);
  const host = variable(env, 'COUNTERSIGN_HOST') ?? '127.0.0.1';
  // An address to listen on, not a URL's host: the brackets of [::1] are a URL's (Node's listen looks the bracketed form up as a name).
  if (/^\[.*\]$/.test(host)) throw new SettingsError('COUNTERSIGN_HOST', `is an address to listen on: write ${host.slice(1, -1)} without the brackets a URL puts around an IPv6 address`);
  const openIdMetadataUrl = readOpenIdMetadata(variable(env, 'BotOpenIdMetadata'));
  const publicUrl = readPublicUrl(variable(env, 'COUNTERSIGN_PUBLIC_URL'));
  return {
    port,
    host,
    configPath: configPath(env),
    dataDir: path.resolve(variable(env, 'COUNTERSIGN_DATA_DIR') ?? DEFAULT_DATA_DIR),
    microsoftApp: { id: appId, type, tenantId, password, openIdMetadataUrl: openIdMetadataUrl ?? '' },
    insecureNoAuth: readInsecureNoAuth(variable(env, 'COUNTERSIGN_INSECURE_NO_AUTH')),
    publicUrl: publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    publicUrlSet: publicUrl !== undefined,
    logLevel: readLogLevel(variable(env, 'LOG_LEVEL')),
    executionLeaseMs: readLease(variable(env, 'COUNTERSIGN_EXECUTION_LEASE')),
    dialogStateMaxEntries: readCount('COUNTERSIGN_DIALOG_STATE_MAX', variable(env, 'COUNTERSIGN_DIALOG_STATE_MAX'), 10_000, 1_000_000),
    dialogStateTtlMs: readDuration('COUNTERSIGN_DIALOG_STATE_TTL', variable(env, 'COUNTERSIGN_DIALOG_STATE_TTL'), 30 * 60_000, { examples: '30m, 45m or 2h' }),
    storeLockWaitMs: readDuration('COUNTERSIGN_STORE_LOCK_WAIT', variable(env, 'COUNTERSIGN_STORE_LOCK_WAIT'), 5000, { minMs: 0, examples: '5s, 10s or 500ms' }),
    auditExportIdleMs: readDuration('COUNTERSIGN_AUDIT_EXPORT_IDLE', variable(env, 'COUNTERSIGN_AUDIT_EXPORT_IDLE'), 120_000, { minMs: 1000, examples: '2m, 30s or 10m' }),
    requestsPerPersonPerHour: readCount('COUNTERSIGN_REQUESTS_PER_HOUR', variable(env, 'COUNTERSIGN_REQUESTS_PER_HOUR'), 20, 1_000_000_000),
    instances: readCount('COUNTERSIGN_INSTANCES', variable(env, 'COUNTERSIGN_INSTANCES'), 1, 100),
    teamsSendTimeoutMs: readTeamsSendTimeout(variable(env, 'COUNTERSIGN_TEAMS_SEND_TIMEOUT')),
    azureTimeoutMs: readAzureTimeout(env),
    store: readStoreSettings(env),
    armSandbox: readArmSandbox(env),
    azureCredentialEnv: readAzureCredentialEnv(env),
    secrets: secretValues(env, password),
    applicationInsightsConnectionString: readConnectionString(variable(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING')),
  };
}

export function readCliSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  const dataDir = variable(env, 'COUNTERSIGN_DATA_DIR');
  const user = variable(env, 'USER') ?? variable(env, 'USERNAME');
  return {
    configPath: configPath(env),
    dataDir: dataDir ?? DEFAULT_DATA_DIR,
    dataDirFromEnv: dataDir !== undefined,
    ...(user ? { user } : {}),
    readArmSandbox: () => readArmSandbox(env),
    readAzureTimeout: () => readAzureTimeout(env),
    azureCredentialEnv: readAzureCredentialEnv(env),
    readStore: () => readStoreSettings(env),
  };
}

function readAzureTimeout(env: NodeJS.ProcessEnv): number {
  return readDuration('COUNTERSIGN_AZURE_TIMEOUT', variable(env, 'COUNTERSIGN_AZURE_TIMEOUT'), 30_000, { maxMs: 600_000, maxText: '10m: one call to ARM that long is lost, not slow', examples: '30s, 60s or 2m' });
}

export function readSandboxSettings(env: NodeJS.ProcessEnv = process.env): SandboxProcessOptions {
  const port = readPort(env, 'ARM_SANDBOX_PORT', 0);
  const stepText = variable(env, 'ARM_SANDBOX_STEP_MS');
  // In digits, as the ports are: Number() would read " " as 0 (deployments that finish at once) and 1e3 as 1000.
  const stepMs = stepText === undefined ? undefined : /^\s*\d+\s*$/.test(stepText) ? Number(stepText) : NaN;
  if (stepMs !== undefined && !(stepMs >= 0 && stepMs <= TIMER_MAX_MS)) throw new SettingsError('ARM_SANDBOX_STEP_MS', `must be a whole number of milliseconds, in digits, such as 400, got "${stepText}"`);
  const caFile = variable(env, 'ARM_SANDBOX_CA_FILE');
  return {
    port,
    host: variable(env, 'ARM_SANDBOX_HOST') ?? '127.0.0.1',
    ...(caFile ? { caFile: path.resolve(caFile) } : {}),
    ...(stepMs !== undefined ? { stepMs } : {}),
  };
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * The part of a database URL whose %-escapes do not decode (a password holding a bare %, the most
 * common cause): the driver would say only "URI malformed". Undefined when every part decodes, or
 * when the text is no URL at all (the store says so, naming the form it expects).
 */
function undecodableUrlPart(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const parts: [string, string][] = [['user name', u.username], ['password', u.password], ['host', u.hostname], ['database name', u.pathname]];
  for (const [part, text] of parts) {
    try {
      decodeURIComponent(text);
    } catch {
      return part;
    }
  }
  return undefined;
}

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
  const undecodable = url ? undecodableUrlPart(url) : undefined;
  if (undecodable) {
    // The value is not shown: it may hold a password.
    throw new SettingsError(
      env.COUNTERSIGN_DATABASE_URL ? 'COUNTERSIGN_DATABASE_URL' : 'DATABASE_URL',
      `the ${undecodable} in the URL holds a % that is not percent-encoding (a % and two hex digits of UTF-8): write a % itself as %25`,
    );
  }
  const port = env.PGPORT ? (/^\s*\d+\s*$/.test(env.PGPORT) ? Number(env.PGPORT) : NaN) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new SettingsError('PGPORT', `must be a port number from 1 to 65535, in digits, got "${env.PGPORT}"`);
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
  if (poolSize !== undefined && !(/^\d+$/.test(env.COUNTERSIGN_DATABASE_POOL_SIZE!.trim()) && Number.isInteger(poolSize) && poolSize >= 1 && poolSize <= 100)) {
    throw new SettingsError('COUNTERSIGN_DATABASE_POOL_SIZE', `must be a whole number of connections from 1 to 100, in digits, got "${env.COUNTERSIGN_DATABASE_POOL_SIZE}"`);
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
      ...optional('entraScope', readTokenScope(env.COUNTERSIGN_DATABASE_TOKEN_SCOPE)),
      migrate,
      ...optional('poolSize', poolSize),
    },
  };
}

/**
 * An OAuth scope for the database's Entra token: an https URL ending in /.default (a sovereign cloud's
 * https://ossrdbms-aad.database.usgovcloudapi.net/.default). Undefined when unset.
 */
function readTokenScope(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const scope = text.trim();
  let url: URL | undefined;
  try {
    url = new URL(scope);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || !url.pathname.endsWith('/.default') || url.search || url.hash) {
    throw new SettingsError('COUNTERSIGN_DATABASE_TOKEN_SCOPE', `must be the https scope of the cloud's Azure Database for PostgreSQL, ending in /.default, such as https://ossrdbms-aad.database.usgovcloudapi.net/.default, got "${text}"`);
  }
  return scope;
}

/**
 * `1500ms`, `30s`, `2m`, `1h`: at least one second, so renewals (every third of it) stay meaningful;
 * at most an hour, the longest a crashed execution should wait to be taken over (past 24.8 days the
 * renewal timer would fire every millisecond).
 */
function readLease(text: string | undefined): number {
  return readDuration('COUNTERSIGN_EXECUTION_LEASE', text, 60_000, { maxMs: 3_600_000, maxText: '1h: after a crash the execution waits that long to be taken over', examples: '60s, 2m or 1500ms' });
}

/** pino's levels, most to least severe, and `silent` (nothing logged). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of pino's levels (default `info`): anything else would stop the logger with pino's own words. */
function readLogLevel(text: string | undefined): string {
  if (text === undefined) return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new SettingsError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return text;
}

/** A whole number from 1 to `max`, written in digits (not 1e9 or 0x50). */
function readCount(variable: string, text: string | undefined, fallback: number, max: number): number {
  if (!text) return fallback;
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new SettingsError(variable, `must be a whole number from 1 to ${max.toLocaleString('en-US')}, in digits, got "${text}"`);
  return n;
}

/**
 * `250ms`, `90s`, `30m`, `2h`, `1d`; at least `minMs` (one second unless said otherwise). A wrong value is
 * answered with `examples`: values of the setting's own scale (a wait of seconds is not offered hours).
 */
/** The longest a timer waits (Node runs one set longer at once, every millisecond). */
const TIMER_MAX_MS = 2_147_483_647;

function readDuration(variable: string, text: string | undefined, fallback: number, { minMs = 1000, maxMs = 24 * 3_600_000, maxText = '24h', examples }: { minMs?: number; maxMs?: number; maxText?: string; examples: string }): number {
  if (!text) return fallback;
  // The units of the YAML config's durations too (d included), and ms: a setting written as the config writes it is taken.
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'] : NaN;
  const least = minMs === 0 ? '' : ` of at least ${minMs % 1000 === 0 ? `${minMs / 1000}s` : `${minMs}ms`}`;
  if (!(ms >= minMs)) throw new SettingsError(variable, `must be a duration${least} such as ${examples} (a whole number followed by ms, s, m, h or d), got "${text}"`);
  if (ms > Math.min(maxMs, TIMER_MAX_MS)) throw new SettingsError(variable, `must be at most ${maxText} (such as ${examples}), got "${text}"`);
  return ms;
}

/**
 * A healthy Bot Connector answers in well under a second; 15 s (the time Bot Framework itself gives a
 * bot to answer an activity) means the call is lost, not slow. At most 25 s: a card update must end
 * while its card version is still claimed (30 s, src/teams/notifier.ts), and the stop's grace for
 * messages is 20 s.
 */
function readTeamsSendTimeout(text: string | undefined): number {
  if (!text) return 15_000;
  const m = /^(\d+)(ms|s)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!(ms >= 1000 && ms <= 25_000)) throw new SettingsError('COUNTERSIGN_TEAMS_SEND_TIMEOUT', `must be a duration from 1s to 25s such as 15s or 5000ms (a whole number followed by ms or s), got "${text}"`);
  return ms;
}

/**
 * The Bot Framework identity, checked whole at start: botbuilder takes a wrong one without a word
 * (a MultiTenant app without its secret, an app or tenant id that is no GUID) and the bot then
 * passes its probes while every token it asks for, and every token it is sent, is refused.
 */
function checkBotIdentity(type: MicrosoftAppType, appId: string, tenantId: string, password: string): void {
  if (!GUID.test(appId)) {
    throw new SettingsError('MicrosoftAppId', `must be the bot's app id, a GUID (the client id of its app registration or managed identity), got "${appId.slice(0, 80)}"`);
  }
  if (type !== 'MultiTenant' && !tenantId) throw new SettingsError('MicrosoftAppTenantId', `is required when MicrosoftAppType is ${type}`);
  if (tenantId && !GUID.test(tenantId)) {
    throw new SettingsError('MicrosoftAppTenantId', `must be a tenant id, a GUID: the Directory (tenant) ID of the bot's app registration, got "${tenantId.slice(0, 80)}"`);
  }
  if (type === 'UserAssignedMSI') {
    if (password) throw new SettingsError('MicrosoftAppPassword', 'must not be set when MicrosoftAppType is UserAssignedMSI: the managed identity has no secret; unset it');
  } else if (!password.trim()) {
    throw new SettingsError('MicrosoftAppPassword', `is required when MicrosoftAppType is ${type}: the client secret of the app registration MicrosoftAppId names`);
  } else if (/^@Microsoft\.KeyVault\(/i.test(password.trim())) {
    // App Service passes the reference's own text when it cannot resolve it (no access to the vault, no such secret).
    throw new SettingsError('MicrosoftAppPassword', 'is an App Service Key Vault reference that was not resolved (App Service passes the reference itself when it cannot read the secret): give the web app\'s identity the Key Vault Secrets User role on the vault and check the secret\'s URI, then restart');
  }
}

/** The SQLite file inside the data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'countersign.db');
}
