/**
 * `countersign azure check`: which Azure identity Countersign would use, and whether it can read the
 * subscription it manages, before anyone clicks Approve. It builds the credential exactly as the bot
 * does (azure.credential in the config, secrets from the environment), asks it for an ARM token, tells
 * who the token names (from its claims), and reads the subscription with the real SDK pipeline.
 *
 * Exit 0: the identity can read the subscription. 1: the config is wrong. 2: no token, or the read was
 * refused (the reason in words, e.g. the missing action and scope).
 */
import fs from 'node:fs';
import { createCredential, sandboxCredential, toArmError, describeArmError, type TokenCredential } from '../azure';
import { AZURE_ENDPOINT, createArmClients } from '../azure/clients';
import { checkCredentialFiles } from '../azure/credential-check';
import { armErrorFromResponse } from '../azure/errors';
import type { CountersignConfig } from '../config/load';
import { readCliSettings, type ArmSandboxEnv, type CliSettings } from '../settings';
import { SANDBOX_SUBSCRIPTION_ID, startArmSandbox } from '../sandbox';

export interface AzureCheckOptions {
  config: CountersignConfig;
  /**
   * The environment as the settings read it: a running ARM sandbox, the Azure credential's variables
   * (default: this process's). A half-set ARM sandbox pair throws SettingsError, as it stops the bot.
   */
  settings?: Pick<CliSettings, 'readArmSandbox' | 'readAzureTimeout' | 'azureCredentialEnv'>;
  /** A credential to use instead of the one the config describes (tests). */
  credential?: TokenCredential;
  /** A certificate to trust for the endpoint (tests against the sandbox with a configured subscription). */
  caPem?: string;
  /** How long to wait for a token, ms (default 30 s: managed identity endpoints can be slow to answer). */
  tokenTimeoutMs?: number;
  write(line: string): void;
}

const SUBSCRIPTION_API = '2022-12-01';

const CREDENTIAL_WORDS: Record<string, string> = {
  default: 'DefaultAzureCredential (environment variables, workload identity, managed identity, then developer sign-ins such as az login)',
  managedIdentity: 'managed identity',
  clientSecret: 'app registration with a client secret (AZURE_CLIENT_SECRET)',
  workloadIdentity: 'workload identity (federated token from AZURE_FEDERATED_TOKEN_FILE)',
};

/** Runs the check and returns the exit code. */
export async function checkAzure(options: AzureCheckOptions): Promise<number> {
  const { config, write } = options;
  const settings = options.settings ?? readCliSettings();
  const target = await resolveTarget(config, settings.readArmSandbox(), options.caPem);
  // Each try of the read gets the bot's time (COUNTERSIGN_AZURE_TIMEOUT), and so does the token.
  const timeoutMs = settings.readAzureTimeout();
  try {
    write(`target:     ${target.description}`);
    let credential = options.credential;
    if (!credential) {
      if (target.sandbox) credential = sandboxCredential();
      else {
        try {
          checkCredentialFiles(config.azure.credential, settings.azureCredentialEnv);
          credential = createCredential(config.azure.credential, settings.azureCredentialEnv);
        } catch (err) {
          write(`credential: cannot be built: ${(err as Error).message}`);
          return 2;
        }
      }
    }
    write(`credential: ${target.sandbox ? 'sandbox token (the ARM sandbox accepts any bearer token)' : describeCredential(config)}`);
    const scope = `${target.endpoint}/.default`;
    let token;
    try {
      token = await withTimeout(credential.getToken(scope), options.tokenTimeoutMs ?? timeoutMs);
    } catch (err) {
      write(`token:      could not get a token for ${scope}: ${(err as Error).message}`);
      return 2;
    }
    if (!token) {
      write(`token:      the credential returned no token for ${scope}`);
      return 2;
    }
    write(`identity:   ${describeIdentity(token.token)}`);
    write(`token:      for ${scope}, expires ${new Date(token.expiresOnTimestamp).toISOString()}`);
    const clients = createArmClients({
      subscriptionId: target.subscriptionId,
      credential,
      endpoint: target.endpoint,
      ...(target.caPem ? { caPem: target.caPem } : {}),
      retry: { maxRetries: 2 },
      timeoutMs,
    });
    try {
      const answer = await clients.send({ method: 'GET', url: `/subscriptions/${target.subscriptionId}?api-version=${SUBSCRIPTION_API}` });
      if (answer.status !== 200) {
        write(`read:       refused: ${describeArmError(armErrorFromResponse(answer.status, answer.body, answer.headers['retry-after']))}`);
        return 2;
      }
      const sub = answer.body as { displayName?: string; state?: string; tenantId?: string };
      write(`read:       OK: subscription ${target.subscriptionId} "${sub.displayName ?? ''}" (${sub.state ?? 'state unknown'}) in tenant ${sub.tenantId ?? 'unknown'}`);
      return 0;
    } catch (err) {
      write(`read:       failed: ${describeArmError(toArmError(err))}`);
      return 2;
    }
  } finally {
    await target.close();
  }
}

interface Target {
  sandbox: boolean;
  subscriptionId: string;
  endpoint: string;
  caPem?: string;
  description: string;
  close(): Promise<void>;
}

async function resolveTarget(config: CountersignConfig, running: ArmSandboxEnv, caPem: string | undefined): Promise<Target> {
  const none = async () => undefined;
  if (!config.azure.sandbox) {
    const endpoint = (config.azure.endpoint ?? AZURE_ENDPOINT).replace(/\/+$/, '');
    return { sandbox: false, subscriptionId: config.azure.subscriptionId, endpoint, ...(caPem ? { caPem } : {}), description: `subscription ${config.azure.subscriptionId} at ${endpoint}`, close: none };
  }
  if (running.url && running.caFile) {
    // The subscription the bot would use with the same settings (src/composition-root.ts): the
    // sandbox's own unless ARM_SANDBOX_SUBSCRIPTION_ID names another.
    const subscriptionId = running.subscriptionId ?? SANDBOX_SUBSCRIPTION_ID;
    return {
      sandbox: true,
      subscriptionId,
      endpoint: running.url.replace(/\/+$/, ''),
      caPem: fs.readFileSync(running.caFile, 'utf8'),
      description: `SANDBOX at ${running.url} (subscription ${subscriptionId}; no Azure subscription is configured)`,
      close: none,
    };
  }
  // The bot would start its own sandbox: so does the check, to exercise the same path.
  const sandbox = await startArmSandbox({ host: '127.0.0.1', port: 0 });
  return {
    sandbox: true,
    subscriptionId: sandbox.subscriptionId,
    endpoint: sandbox.url,
    caPem: sandbox.caPem,
    description: `SANDBOX started for this check at ${sandbox.url} (no Azure subscription is configured)`,
    close: () => sandbox.close(),
  };
}

function describeCredential(config: CountersignConfig): string {
  const c = config.azure.credential;
  const words = CREDENTIAL_WORDS[c.type] ?? c.type;
  const which = c.type === 'managedIdentity' ? (c.clientId ? `user-assigned, client id ${c.clientId}` : 'system-assigned') : c.clientId ? `client id ${c.clientId}` : '';
  return `${c.type}: ${words}${which ? ` (${which})` : ''}${c.tenantId ? `, tenant ${c.tenantId}` : ''}`;
}

/** Who an Entra access token names, from its claims (the token is not verified here, only read). */
export function describeIdentity(token: string): string {
  const parts = token.split('.');
  if (parts.length !== 3) return 'not an Entra token (no claims to read)';
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'not an Entra token (its claims cannot be read)';
  }
  const text = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const appId = text('appid') ?? text('azp');
  const user = text('upn') ?? text('preferred_username') ?? text('unique_name');
  const managed = text('xms_mirid');
  const kind = managed ? `managed identity ${managed}` : user ? `user ${user}` : appId ? `app ${appId}` : 'unknown principal';
  const details = [
    appId && !kind.startsWith('app') ? `client id ${appId}` : undefined,
    text('oid') ? `object id ${text('oid')}` : undefined,
    text('tid') ? `tenant ${text('tid')}` : undefined,
  ].filter(Boolean);
  return details.length ? `${kind} (${details.join(', ')})` : kind;
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
