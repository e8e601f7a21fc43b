/**
 * Maps the environment to the values that fill the Teams manifest template's ${{PLACEHOLDERS}}.
 * The names match what the bot itself reads (MicrosoftAppId, COUNTERSIGN_PUBLIC_URL), so one .env
 * file serves both the bot and the packaging step.
 */
import { createHash } from 'node:crypto';
import { readPublicUrl, SettingsError } from '../../src/settings';

/** Placeholder name (as written in the template, without `${{ }}`) to its value. */
export type ManifestValues = Record<
  | 'TEAMS_APP_ID'
  | 'BOT_ID'
  | 'BOT_DOMAIN'
  | 'APP_VERSION'
  | 'DEVELOPER_WEBSITE_URL'
  | 'PRIVACY_URL'
  | 'TERMS_OF_USE_URL',
  string
>;

const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
/** The Teams app version: three dot-separated numbers, as the store and admin center require. */
const APP_VERSION = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** Namespace of Countersign's derived Teams app ids (a fixed random UUID; never change it). */
const TEAMS_APP_ID_NAMESPACE = '4f7d6c1e-2b8a-4e35-9c0d-5a1e7b3f9d24';

/** RFC 9562 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The Teams app id for a bot when TEAMS_APP_ID is not set. Derived, not random, so packaging the
 * same bot again yields the same app: an upload then updates the app instead of adding a twin.
 */
export function deriveTeamsAppId(botId: string): string {
  return uuidV5(botId.toLowerCase(), TEAMS_APP_ID_NAMESPACE);
}

function httpsUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingsError(variable, `must be an absolute https URL, got "${value}"`);
  }
  if (url.protocol !== 'https:') {
    throw new SettingsError(variable, `must use https (Teams only talks to https bots), got "${value}"`);
  }
  return url;
}

export function readManifestValues(env: NodeJS.ProcessEnv, packageVersion: string): ManifestValues {
  const botId = (env.MicrosoftAppId ?? '').trim();
  if (!botId) {
    throw new SettingsError(
      'MicrosoftAppId',
      "is required: the bot's Microsoft App ID (for a UserAssignedMSI bot, the managed identity's client id; " +
        'the Bicep deployment prints it as the output botAppId)',
    );
  }
  if (!GUID.test(botId)) {
    throw new SettingsError('MicrosoftAppId', `must be a GUID, got "${botId}"`);
  }

  const teamsAppId = (env.TEAMS_APP_ID ?? '').trim() || deriveTeamsAppId(botId);
  if (!GUID.test(teamsAppId)) {
    throw new SettingsError('TEAMS_APP_ID', `must be a GUID, got "${teamsAppId}"`);
  }

  const publicUrlText = (env.COUNTERSIGN_PUBLIC_URL ?? '').trim();
  if (!publicUrlText) {
    throw new SettingsError(
      'COUNTERSIGN_PUBLIC_URL',
      "is required: the bot's public https base URL (its host goes into validDomains), e.g. https://countersign-prod.azurewebsites.net",
    );
  }
  // As the bot reads it (a query, fragment or credentials refused), so no package is built for an
  // address the bot would refuse to start with; then https, which Teams requires.
  const botPublicUrl = readPublicUrl(publicUrlText);
  const publicUrl = httpsUrl('COUNTERSIGN_PUBLIC_URL', botPublicUrl ?? publicUrlText);

  const appVersion = (env.TEAMS_APP_VERSION ?? '').trim() || packageVersion;
  if (!APP_VERSION.test(appVersion)) {
    const source = env.TEAMS_APP_VERSION ? 'TEAMS_APP_VERSION' : 'TEAMS_APP_VERSION (defaulted from package.json version)';
    throw new SettingsError(source, `must look like 1.2.3, got "${appVersion}"`);
  }

  const website = httpsUrl('TEAMS_DEVELOPER_URL', (env.TEAMS_DEVELOPER_URL ?? '').trim() || publicUrl.origin).href;
  const privacy = httpsUrl('TEAMS_PRIVACY_URL', (env.TEAMS_PRIVACY_URL ?? '').trim() || website).href;
  const terms = httpsUrl('TEAMS_TERMS_URL', (env.TEAMS_TERMS_URL ?? '').trim() || website).href;

  return {
    TEAMS_APP_ID: teamsAppId.toLowerCase(),
    BOT_ID: botId.toLowerCase(),
    BOT_DOMAIN: publicUrl.hostname,
    APP_VERSION: appVersion,
    DEVELOPER_WEBSITE_URL: website,
    PRIVACY_URL: privacy,
    TERMS_OF_USE_URL: terms,
  };
}
