/**
 * What a start says in the log of a setup that runs but is risky or cannot work as meant:
 * authentication off, Teams served against the ARM sandbox, PostgreSQL without TLS, a bot whose own
 * tenant is not allowed, commands nobody may ask, approve or be sent, a command whose name begins
 * another's, a subscription azure.environments leaves out, a data directory or database
 * other users of the machine may read. Called by the composition root
 * (src/composition-root.ts) once the bot listens.
 */
import { unlistedSubscriptionWarnings } from '../config/environments';
import type { CountersignConfig } from '../config/load';
import { nameOverlapWarnings } from '../domain/catalog';
import { breakGlassUnusableWarning, nobodyMayAskWarning, stuckRequesterWarning, unapprovableWarning, unreachedWarning } from '../domain/policy-text';
import type { Logger } from '../log/context';
import { publicUrlWarning, type Settings } from '../settings';
import type { OpenedStore } from '../store/open-store';
import { openToOtherUsers } from '../store/private-files';

export function warnOfRiskyStart(
  log: Logger,
  settings: Settings,
  config: CountersignConfig,
  azure: { sandbox: boolean },
  subscriptionId: string,
  opened: OpenedStore | undefined,
): void {
  if (!settings.microsoftApp.id && !azure.sandbox) {
    log.error(
      { host: settings.host, subscriptionId },
      'Bot Framework authentication is OFF (no MicrosoftAppId) against a real Azure subscription, because COUNTERSIGN_INSECURE_NO_AUTH=true: anyone who can reach loopback can act as anyone',
    );
  } else if (!settings.microsoftApp.id) {
    log.warn({ host: settings.host }, 'Bot Framework authentication is OFF because MicrosoftAppId is empty; listening on loopback only');
  } else if (azure.sandbox) {
    // Served to Teams, yet nothing an approval runs reaches Azure: a config whose subscription was never set.
    log.warn({ config: config.file }, 'Countersign serves Teams (MicrosoftAppId is set) but runs every operation against the ARM sandbox, because azure.subscriptionId is empty in the config: nothing approved reaches Azure (cards say SANDBOX). Set azure.subscriptionId to act on Azure');
  }
  // Links are built on the public URL: for a bot served to Teams, one an auditor cannot open, or over plain http, is said now.
  const linkProblem = publicUrlWarning(settings);
  if (linkProblem) log.warn({ publicUrl: settings.publicUrl }, linkProblem);
  if (opened?.unencryptedHost) {
    log.warn(
      { host: opened.unencryptedHost },
      `the PostgreSQL connection to ${opened.unencryptedHost} is not encrypted: PGSSLMODE (or the URL's sslmode) is unset, disable, allow or prefer, and Countersign then connects without TLS (it cannot fall back as psql does); set PGSSLMODE=verify-full`,
    );
  }
  // Made 0700 and 0600 by Countersign; one made before (or by hand) is left as it is, and named.
  for (const open of openToOtherUsers(settings.dataDir, opened?.kind === 'sqlite' ? opened.where : undefined)) {
    log.warn({ path: open.path, mode: open.mode }, open.problem);
  }
  // A single-tenant bot (SingleTenant, UserAssignedMSI) is reached only from its own tenant: were that
  // tenant not allowed, every activity would be refused, the bot otherwise healthy.
  const identity = settings.microsoftApp;
  if (identity.id && identity.type !== 'MultiTenant' && !config.access.tenantAllowed(identity.tenantId)) {
    log.warn(
      { tenantId: identity.tenantId, tenants: config.tenants },
      `MicrosoftAppTenantId ${identity.tenantId} is not among the config's tenants: a ${identity.type} bot is reached only from its own tenant, so every activity will be refused (tenant-not-allowed); add it to tenants`,
    );
  }
  for (const command of config.catalog.commands) {
    const nobody = nobodyMayAskWarning(command, config.access.roles);
    if (nobody) log.warn({ command: command.name, problem: nobody }, 'nobody may ask for a command');
    const problem = unapprovableWarning(command, config.access.roles);
    if (problem) log.warn({ command: command.name, problem }, 'a command can never be approved');
    const stuck = stuckRequesterWarning(command, config.access.roles);
    if (stuck) log.warn({ command: command.name, problem: stuck }, 'someone may ask for a command but never have it approved');
    const unreached = unreachedWarning(command, config.access.roles);
    if (unreached) log.warn({ command: command.name, problem: unreached }, 'nobody is sent a command\'s requests');
    const glass = breakGlassUnusableWarning(command, config.access.roles);
    if (glass) log.warn({ command: command.name, problem: glass }, 'nobody may use a command\'s break-glass');
    for (const overlap of nameOverlapWarnings(command, config.catalog.commands)) log.warn({ command: command.name, problem: overlap }, 'a command\'s name is the start of another\'s');
  }
  // Not the sandbox's own subscription: with azure.subscriptionId empty, nothing reaches Azure.
  for (const { subscription, problem } of unlistedSubscriptionWarnings(config.subscriptionEnvironments, config.azure.subscriptionId, config.catalog.commands)) {
    log.warn({ subscriptionId: subscription, problem }, 'a subscription Countersign acts in is in no environment of azure.environments');
  }
}
