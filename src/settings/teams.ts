/**
 * The Bot Framework identity (MicrosoftAppId, MicrosoftAppType, MicrosoftAppTenantId,
 * MicrosoftAppPassword, BotOpenIdMetadata), authentication off knowingly (COUNTERSIGN_INSECURE_NO_AUTH),
 * and how long a call to Teams may take (COUNTERSIGN_TEAMS_SEND_TIMEOUT).
 */
import { isLoopbackHost, LOOPBACK_TEXT } from '../loopback';
import { GUID, SettingsError, urlIn } from './values';

export type MicrosoftAppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

export const APP_TYPES: MicrosoftAppType[] = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'];

/**
 * The Bot Framework identity, checked whole at start: botbuilder takes a wrong one without a word
 * (a MultiTenant app without its secret, an app or tenant id that is no GUID) and the bot then
 * passes its probes while every token it asks for, and every token it is sent, is refused.
 */
export function checkBotIdentity(type: MicrosoftAppType, appId: string, tenantId: string, password: string): void {
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

/**
 * Where channel tokens' signing keys are found: an https URL (http only on this machine's loopback,
 * as src/loopback.ts decides it, for a local stand-in). A wrong one would let the bot start and
 * answer every activity 503 for good.
 */
export function readOpenIdMetadata(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const url = urlIn('BotOpenIdMetadata', text, "the https URL of the Bot Framework's OpenID metadata, such as https://login.botframework.com/v1/.well-known/openidconfiguration");
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) || !url.hostname) {
    throw new SettingsError('BotOpenIdMetadata', `must be an https URL (http only on ${LOOPBACK_TEXT}), got "${text}"`);
  }
  return text;
}

/** COUNTERSIGN_INSECURE_NO_AUTH: `true` or `false` (unset: false). */
export function readInsecureNoAuth(text: string | undefined): boolean {
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new SettingsError('COUNTERSIGN_INSECURE_NO_AUTH', `must be true or false, got "${text.slice(0, 40)}"`);
}

/**
 * A healthy Bot Connector answers in well under a second; 15 s (the time Bot Framework itself gives a
 * bot to answer an activity) means the call is lost, not slow. At most 25 s: the stop's grace for
 * messages is 20 s (a card update's version stays claimed while it travels, its claim renewed:
 * src/teams/notifier.ts).
 */
export function readTeamsSendTimeout(text: string | undefined): number {
  if (!text) return 15_000;
  const m = /^(\d+)(ms|s)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!(ms >= 1000 && ms <= 25_000)) throw new SettingsError('COUNTERSIGN_TEAMS_SEND_TIMEOUT', `must be a duration from 1s to 25s such as 15s or 5000ms (a whole number followed by ms or s), got "${text}"`);
  return ms;
}
