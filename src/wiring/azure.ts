/**
 * The Azure layer as the composition root (src/composition-root.ts) wires it: the ARM gateway (against
 * Azure, or the ARM sandbox when no subscription is configured), Microsoft Graph when a role lists an
 * Entra group, and the Azure Monitor telemetry. Each is loaded only when first needed.
 */
import fs from 'node:fs';
import type { Directory } from '../app/ports';
import type { StoppableAzureGateway } from '../azure/gateway';
import { lazyAzureGateway } from '../azure/lazy-gateway';
import type { CountersignConfig } from '../config/load';
import type { Logger } from '../log/context';
import { DEFAULT_SUBSCRIPTION_ID as SANDBOX_SUBSCRIPTION_ID } from '../sandbox/seed';
import type { Settings } from '../settings';
import type { Telemetry } from '../telemetry';

/** Loaded only when telemetry is on: OpenTelemetry and the Azure Monitor distro cost start-up time otherwise. */
export function startTelemetry(connectionString: string): Telemetry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startAzureMonitor } = require('../azure/monitor-telemetry') as typeof import('../azure/monitor-telemetry');
  return startAzureMonitor(connectionString);
}

export async function buildAzure(
  config: CountersignConfig,
  settings: Settings,
  closers: (() => Promise<void>)[],
  log: Logger,
): Promise<{ azure: StoppableAzureGateway; subscriptionId: string }> {
  if (!config.azure.sandbox) {
    // The credential was checked at start, before the store was opened; the SDK itself loads on first use.
    const azure = lazyAzureGateway(false, () =>
      azureLayer().createAzureGateway({
        subscriptionId: config.azure.subscriptionId,
        credential: azureLayer().createCredential(config.azure.credential, settings.azureCredentialEnv),
        sandbox: false,
        timeoutMs: settings.azureTimeoutMs,
        ...(config.azure.endpoint ? { endpoint: config.azure.endpoint } : {}),
      }),
    );
    return { azure, subscriptionId: config.azure.subscriptionId };
  }
  // No subscription configured: the same SDK code against the local ARM sandbox.
  let endpoint = settings.armSandbox.url;
  let caPem = settings.armSandbox.caFile ? fs.readFileSync(settings.armSandbox.caFile, 'utf8') : undefined;
  let subscriptionId = settings.armSandbox.subscriptionId;
  if (!endpoint || !caPem) {
    // Loaded only here: the in-process sandbox (its certificate code above all) costs start-up time
    // that a bot talking to Azure, or to a sandbox of its own process, never needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startArmSandbox } = require('../sandbox/server') as typeof import('../sandbox/server');
    const sandbox = await startArmSandbox({ host: '127.0.0.1', port: 0 });
    closers.push(() => sandbox.close());
    endpoint = sandbox.url;
    caPem = sandbox.caPem;
    subscriptionId = sandbox.subscriptionId;
    log.info({ endpoint }, 'ARM sandbox started in-process');
  }
  const sub = subscriptionId ?? SANDBOX_SUBSCRIPTION_ID;
  const sandboxAt = { endpoint, caPem };
  const azure = lazyAzureGateway(true, () =>
    azureLayer().createAzureGateway({ subscriptionId: sub, credential: azureLayer().sandboxCredential(), ...sandboxAt, sandbox: true, timeoutMs: settings.azureTimeoutMs }),
  );
  return { azure, subscriptionId: sub };
}

/**
 * The Azure layer (the ARM and identity SDKs, Microsoft Graph), loaded when first needed: the bot
 * can answer before it has loaded them (src/azure/lazy-gateway.ts).
 */
export function azureLayer(): typeof import('../azure') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../azure') as typeof import('../azure');
}

/** Microsoft Graph, with the identity used for Azure, when a role lists an Entra group (docs/entra-groups.md). */
export function graphDirectory(config: CountersignConfig, settings: Settings): Directory | undefined {
  const roles = config.access.roles;
  if (roles.groupsOf(roles.names).length === 0) return undefined;
  const { GraphDirectory, createCredential } = azureLayer();
  return new GraphDirectory({
    credential: createCredential(config.azure.credential, settings.azureCredentialEnv),
    endpoint: config.directory.graphEndpoint,
    cacheLifetimeMs: config.directory.cacheLifetimeSeconds * 1000,
  });
}
