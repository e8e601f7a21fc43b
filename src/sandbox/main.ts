/**
 * Runs the ARM sandbox as its own process (the local start command launches it); its settings
 * (read by readSandboxSettings, src/settings/sandbox.ts):
 *   ARM_SANDBOX_PORT     port to listen on (default 0: any free port)
 *   ARM_SANDBOX_HOST     address (default 127.0.0.1)
 *   ARM_SANDBOX_CA_FILE  where to write the certificate PEM clients must trust (default: not written)
 *   ARM_SANDBOX_STEP_MS  time per deployment operation, ms (default 400)
 * Prints ARM_SANDBOX_URL=..., ARM_SANDBOX_SUBSCRIPTION_ID=... and ARM_SANDBOX_CA_FILE=... once listening.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readSandboxSettings } from '../settings';
import { startArmSandbox } from './server';

async function main(): Promise<void> {
  const options = readSandboxSettings();
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
