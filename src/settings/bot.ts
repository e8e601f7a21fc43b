/** The bot's settings (`node dist/main.js`, `countersign start`): every variable it reads, checked at start. */
import path from 'node:path';
import { isLoopbackHost } from '../loopback';
import { type AzureCredentialEnv, readAzureCredentialEnv, readAzureTimeout, readConnectionString } from './azure';
import { configPath, DEFAULT_DATA_DIR, pathVariable } from './files';
import { checkVariableNames } from './names';
import { type ArmSandboxEnv, readArmSandbox } from './sandbox';
import { readStoreSettings, type StoreSettings } from './store';
import { APP_TYPES, checkBotIdentity, type MicrosoftAppType, readInsecureNoAuth, readOpenIdMetadata, readTeamsSendTimeout } from './teams';
import { readCount, readDuration, readPort, SettingsError, urlIn, variable } from './values';

export interface Settings {
  /** HTTP port of the bot (POST /api/messages). */
  port: number;
  /** Address to listen on. Without a Microsoft app id only loopback addresses are allowed. */
  host: string;
  /** Path of the YAML config (commands, policy, roles, tenants, Azure). */
  configPath: string;
  /** Whether the config path came from COUNTERSIGN_CONFIG (else it is the default): a start that cannot find it says which. */
  configFromEnv: boolean;
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
  /**
   * How many download-link and HTTP API audit exports this instance runs at once; one more is
   * answered 429 and recorded (COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE, default 2).
   */
  auditExportsAtOnce: number;
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

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  checkVariableNames(env);
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
    configFromEnv: pathVariable(env, 'COUNTERSIGN_CONFIG') !== undefined,
    dataDir: path.resolve(pathVariable(env, 'COUNTERSIGN_DATA_DIR') ?? DEFAULT_DATA_DIR),
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
    auditExportsAtOnce: readCount('COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE', variable(env, 'COUNTERSIGN_AUDIT_EXPORTS_AT_ONCE'), 2, 100),
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

/** The secret values of the settings and environment, for the logger's scrubbing. */
export function secretValues(env: NodeJS.ProcessEnv, appPassword: string): string[] {
  return [...new Set([appPassword, variable(env, 'MicrosoftAppPassword'), variable(env, 'AZURE_CLIENT_SECRET')])].filter((s): s is string => !!s);
}

/**
 * The address people reach Countersign at (audit download links are built on it): an http(s) URL
 * with a host and no query or fragment, its trailing slash (and any space around it) dropped. The
 * Teams app packaging (`npm run package:teams`) reads it with this too, so a package is never built
 * for an address the bot would refuse to start with.
 */
export function readPublicUrl(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const url = urlIn('COUNTERSIGN_PUBLIC_URL', text, 'an http(s) URL such as https://countersign.example.com');
  if (!['http:', 'https:'].includes(url.protocol) || !url.hostname) throw new SettingsError('COUNTERSIGN_PUBLIC_URL', `must be an http(s) URL with a host, such as https://countersign.example.com, got "${text}"`);
  if (url.search || url.hash || url.username || url.password) throw new SettingsError('COUNTERSIGN_PUBLIC_URL', `must have no query, fragment or credentials (links are built on it), got "${text}"`);
  return text.trim().replace(/\/+$/, '');
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
