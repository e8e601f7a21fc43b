/**
 * What stops a start before anything is opened, and why the bot could not listen: each says the
 * setting to change. Only the composition root (src/composition-root.ts) uses them.
 */
import type { CountersignConfig } from '../config/load';
import { isLoopbackHost, LOOPBACK_TEXT } from '../loopback';
import { SettingsError, type Settings } from '../settings';

export class StartupError extends Error {}

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
