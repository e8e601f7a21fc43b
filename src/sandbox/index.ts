/** The local ARM sandbox: start it in process, or run src/sandbox/main.ts as its own process. */
export { startArmSandbox, type ArmSandbox, type ArmSandboxOptions } from './server';
export { DEFAULT_SUBSCRIPTION_ID as SANDBOX_SUBSCRIPTION_ID } from './seed';
export type { SandboxTiming } from './context';
