/**
 * The ARM sandbox: the bot's way to a sandbox already running (ARM_SANDBOX_URL, ARM_SANDBOX_CA_FILE,
 * ARM_SANDBOX_SUBSCRIPTION_ID), and the standalone sandbox process's own settings.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GUID, readPort, SettingsError, TIMER_MAX_MS, variable } from './values';

/** Where an ARM sandbox already running listens (what src/sandbox/main.ts prints). */
export interface ArmSandboxEnv {
  /** ARM_SANDBOX_URL */
  url?: string;
  /** ARM_SANDBOX_CA_FILE: the certificate PEM to trust. */
  caFile?: string;
  /** ARM_SANDBOX_SUBSCRIPTION_ID */
  subscriptionId?: string;
}

export function readArmSandbox(env: NodeJS.ProcessEnv): ArmSandboxEnv {
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
