/**
 * What stops a start before anything is opened, and why the bot could not listen: each says the
 * setting to change. Only the composition root (src/composition-root.ts) uses them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CountersignConfig } from '../config/load';
import { isLoopbackHost, LOOPBACK_TEXT } from '../loopback';
import { DEFAULT_CONFIG_PATH, SettingsError, type Settings } from '../settings';

export class StartupError extends Error {}

/** The example config as installed: beside src/ (a checkout) or dist/ (the deployment package), in config/. */
const EXAMPLE_CONFIG = path.resolve(__dirname, '..', '..', DEFAULT_CONFIG_PATH);

/**
 * A config file that is not there: named with where its name came from (COUNTERSIGN_CONFIG, or the
 * default under the working directory, which a bot started from another folder does not find) and
 * what to do, rather than as a config that cannot be read. `cwd` is the working directory the default
 * was taken from.
 */
export function checkConfigFile(settings: Pick<Settings, 'configPath' | 'configFromEnv'>, cwd: string = process.cwd()): void {
  const file = settings.configPath;
  if (existsSync(file)) return;
  // The example's deploy commands name their templates relative to it (config/templates/): copied alone, they are not found.
  const templates = path.join(path.dirname(EXAMPLE_CONFIG), 'templates');
  const why = "the example's deploy commands name their templates relative to the config file";
  const help = 'What each key means: docs/configuration.md; countersign config check <file> checks a config without starting.';
  const said = settings.configFromEnv
    ? `the config file ${file} is missing: its name came from COUNTERSIGN_CONFIG (a relative name is taken from the working directory, ${cwd}). Set COUNTERSIGN_CONFIG to your config file, or make that file from the example: copy ${EXAMPLE_CONFIG} to ${file} (and ${templates} to ${path.join(path.dirname(file), 'templates')}: ${why}), then edit it. ${help}`
    : `the config file ${file} is missing: COUNTERSIGN_CONFIG is not set, so the bot looked for the default, ${DEFAULT_CONFIG_PATH}, in the working directory ${cwd}. Start it from the folder Countersign is installed in (${path.dirname(path.dirname(EXAMPLE_CONFIG))}), where the example is; or copy ${EXAMPLE_CONFIG} to a file of your own (and ${templates} to a templates folder beside it: ${why}), edit it, and set COUNTERSIGN_CONFIG to it. ${help}`;
  throw new StartupError(said);
}

/** Refuses to run unauthenticated anywhere but loopback: without an app id anyone could post activities. */
export function checkListenAddress(settings: Settings): void {
  if (!settings.microsoftApp.id && !isLoopbackHost(settings.host)) {
    throw new StartupError(
      `Refusing to listen on ${settings.host} without MicrosoftAppId: with no app id, Bot Framework authentication is off and anyone could post activities as anyone. Set MicrosoftAppId (and MicrosoftAppPassword / MicrosoftAppType / MicrosoftAppTenantId), or listen on ${LOOPBACK_TEXT}, such as 127.0.0.1.`,
    );
  }
}

/**
 * COUNTERSIGN_INSTANCES divides Teams' per-conversation rate limits among instances sharing one
 * PostgreSQL database. The SQLite store serves one instance (a second on its data directory is
 * refused), so any other count there only slows every card update and reply for nothing.
 */
export function checkInstances(settings: Settings): void {
  if (settings.store.kind !== 'sqlite' || settings.instances === 1) return;
  throw new SettingsError(
    'COUNTERSIGN_INSTANCES',
    `is ${settings.instances}, but the store is SQLite, which one instance serves (a second on its data directory is refused): each conversation would get 1/${settings.instances} of Teams' rate limits for nothing. Leave it unset (1), or run the instances on PostgreSQL (COUNTERSIGN_STORE=postgres, docs/postgresql.md)`,
  );
}

/**
 * Authentication off (no MicrosoftAppId) is for trying Countersign on the ARM sandbox: against a real
 * subscription, anyone who can reach loopback (another user or process on the host, a proxy there,
 * a web page by DNS rebinding) could request as one person and approve as another, and Azure would
 * run it. Refused unless COUNTERSIGN_INSECURE_NO_AUTH=true says that is meant.
 */
export function checkAuthenticationOff(settings: Settings, config: CountersignConfig): void {
  if (settings.microsoftApp.id || config.azure.sandbox || settings.insecureNoAuth) return;
  throw new StartupError(
    `Refusing to start against Azure subscription ${config.azure.subscriptionId} without MicrosoftAppId: with no app id, Bot Framework authentication is off, and anyone who can reach ${settings.host} could ask as one person and approve as another. Set MicrosoftAppId (and MicrosoftAppPassword / MicrosoftAppType / MicrosoftAppTenantId); or leave azure.subscriptionId empty for the ARM sandbox; or, to try a real subscription unauthenticated on this machine knowingly, set COUNTERSIGN_INSECURE_NO_AUTH=true.`,
  );
}

/**
 * Why the bot could not listen, naming the setting to change: Node's own words ("getaddrinfo
 * ENOTFOUND 0.0.0.0x", "listen EADDRINUSE") name neither PORT nor COUNTERSIGN_HOST.
 */
export function listenError(err: NodeJS.ErrnoException, settings: Settings): Error {
  const { port, host } = settings;
  switch (err.code) {
    case 'EADDRINUSE':
      return new SettingsError('PORT', `${port} on ${host} is already in use by another program (EADDRINUSE): stop it, or set PORT to a free port`);
    case 'EACCES':
      return new SettingsError('PORT', `${port} needs privileges this process does not have (EACCES): set PORT to a port above 1023`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new SettingsError('COUNTERSIGN_HOST', `"${host}" is not an address of this machine to listen on (${err.code}): give one of its IP addresses, 0.0.0.0 (every IPv4 address), :: or 127.0.0.1`);
    default:
      return err;
  }
}
