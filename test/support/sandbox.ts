/**
 * The ARM sandbox for tests: fast timing, loopback, an ephemeral port, and a gateway built exactly as
 * production builds it (real SDK clients, the sandbox's certificate trusted per client).
 */
import type { AzureGateway, ExecutionHooks } from '../../src/app/ports';
import { createAzureGateway, sandboxCredential, type AzureGatewayOptions } from '../../src/azure';
import type { ArmOperationRef, OperationProgress } from '../../src/domain/operation';
import { startArmSandbox, type ArmSandbox, type ArmSandboxOptions } from '../../src/sandbox';

export const FAST_TIMING = { deploymentStepMs: 15, operationMs: 10, retryAfterSeconds: 0 };

export async function startTestSandbox(options: ArmSandboxOptions = {}): Promise<ArmSandbox> {
  return startArmSandbox({ host: '127.0.0.1', port: 0, ...options, timing: { ...FAST_TIMING, ...options.timing } });
}

/** The gateway options the tests use against the sandbox (short polls and retries). */
export function gatewayOptionsFor(sandbox: ArmSandbox, pollIntervalMs = 10): AzureGatewayOptions {
  return {
    subscriptionId: sandbox.subscriptionId,
    credential: sandboxCredential(),
    endpoint: sandbox.url,
    caPem: sandbox.caPem,
    sandbox: true,
    pollIntervalMs,
    retry: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  };
}

export function gatewayFor(sandbox: ArmSandbox, pollIntervalMs = 10): AzureGateway {
  return createAzureGateway(gatewayOptionsFor(sandbox, pollIntervalMs));
}

/** ExecutionHooks that remember what they were told, and in which order. */
export class RecordingHooks implements ExecutionHooks {
  readonly started: ArmOperationRef[] = [];
  readonly progress: OperationProgress[] = [];
  readonly events: string[] = [];

  constructor(
    private readonly onStartedCheck?: (ref: ArmOperationRef) => void | Promise<void>,
    readonly signal?: AbortSignal,
  ) {}

  async onStarted(ref: ArmOperationRef): Promise<void> {
    this.events.push('started');
    this.started.push(ref);
    await this.onStartedCheck?.(ref);
  }

  onProgress(progress: OperationProgress): void {
    this.events.push(`progress:${progress.state}:${progress.done ?? ''}/${progress.total ?? ''}`);
    this.progress.push(progress);
  }
}

export function ids(sandbox: ArmSandbox) {
  const sub = `/subscriptions/${sandbox.subscriptionId}`;
  return {
    subscription: sub,
    group: (name: string) => `${sub}/resourceGroups/${name}`,
    site: `${sub}/resourceGroups/production-api-service/providers/Microsoft.Web/sites/api-service`,
    plan: `${sub}/resourceGroups/production-api-service/providers/Microsoft.Web/serverfarms/api-service-plan`,
    vm: `${sub}/resourceGroups/production-vm/providers/Microsoft.Compute/virtualMachines/batch-worker-01`,
    scaleSet: `${sub}/resourceGroups/production-vm/providers/Microsoft.Compute/virtualMachineScaleSets/batch-pool`,
    storage: `${sub}/resourceGroups/staging-old/providers/Microsoft.Storage/storageAccounts/stagingoldlogs`,
  };
}

/** A small web-app template: a plan and a site, named from parameters. */
export function webAppTemplate(): Record<string, unknown> {
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    parameters: {
      siteName: { type: 'string' },
      capacity: { type: 'int', defaultValue: 1, minValue: 1, maxValue: 10 },
    },
    variables: { planName: "[concat(parameters('siteName'), '-plan')]" },
    resources: [
      {
        type: 'Microsoft.Web/sites',
        apiVersion: '2023-12-01',
        name: "[parameters('siteName')]",
        location: '[resourceGroup().location]',
        dependsOn: ["[resourceId('Microsoft.Web/serverfarms', variables('planName'))]"],
        tags: { environment: 'production' },
        properties: {
          serverFarmId: "[resourceId('Microsoft.Web/serverfarms', variables('planName'))]",
          httpsOnly: true,
        },
      },
      {
        type: 'Microsoft.Web/serverfarms',
        apiVersion: '2023-12-01',
        name: "[variables('planName')]",
        location: '[resourceGroup().location]',
        sku: { name: 'P1v3', capacity: "[parameters('capacity')]" },
        properties: { reserved: true },
      },
    ],
    outputs: {
      url: { type: 'string', value: "[format('https://{0}.azurewebsites.net', parameters('siteName'))]" },
    },
  };
}
