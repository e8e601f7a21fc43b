/**
 * Runs the ARM sandbox as its own process (the local start command launches it):
 *   ARM_SANDBOX_PORT     port to listen on (default 0: any free port)
 *   ARM_SANDBOX_HOST     address (default 127.0.0.1)
 *   ARM_SANDBOX_CA_FILE  where to write the certificate PEM clients must trust (default: not written)
 *   ARM_SANDBOX_STEP_MS  time per deployment operation, ms (default 400)
 * Prints ARM_SANDBOX_URL=..., ARM_SANDBOX_SUBSCRIPTION_ID=... and ARM_SANDBOX_CA_FILE=... once listening.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startArmSandbox } from './server';

export interface SandboxProcessOptions {
  port: number;
  host: string;
  caFile?: string;
  stepMs?: number;
}

export function readSandboxEnv(env: NodeJS.ProcessEnv = process.env): SandboxProcessOptions {
  const port = Number(env.ARM_SANDBOX_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`ARM_SANDBOX_PORT: must be a port number from 0 to 65535, got "${env.ARM_SANDBOX_PORT}"`);
  }
  const stepMs = env.ARM_SANDBOX_STEP_MS === undefined ? undefined : Number(env.ARM_SANDBOX_STEP_MS);
  if (stepMs !== undefined && !(stepMs >= 0)) throw new Error(`ARM_SANDBOX_STEP_MS: must be a number of milliseconds, got "${env.ARM_SANDBOX_STEP_MS}"`);
  return {
    port,
    host: env.ARM_SANDBOX_HOST || '127.0.0.1',
    ...(env.ARM_SANDBOX_CA_FILE ? { caFile: path.resolve(env.ARM_SANDBOX_CA_FILE) } : {}),
    ...(stepMs !== undefined ? { stepMs } : {}),
  };
}

async function main(): Promise<void> {
  const options = readSandboxEnv();
  const sandbox = await startArmSandbox({
    host: options.host,
    port: options.port,
    ...(options.stepMs !== undefined ? { timing: { deploymentStepMs: options.stepMs } } : {}),
  });
  if (options.caFile) {
    fs.mkdirSync(path.dirname(options.caFile), { recursive: true });
    fs.writeFileSync(options.caFile, sandbox.caPem);
  }
  process.stdout.write(
    `ARM_SANDBOX_URL=${sandbox.url}\nARM_SANDBOX_SUBSCRIPTION_ID=${sandbox.subscriptionId}\n` +
      (options.caFile ? `ARM_SANDBOX_CA_FILE=${options.caFile}\n` : ''),
  );
  const stop = () => {
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`ARM sandbox did not start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
