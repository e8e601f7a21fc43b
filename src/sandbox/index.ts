/** The local ARM sandbox: start it in process, or run src/sandbox/main.ts as its own process. */
export { startArmSandbox, type ArmSandbox, type ArmSandboxOptions, type RecordedRequest } from './server';
export { DEFAULT_TIMING, type SandboxTiming } from './context';
export { SandboxFaults, type AmbiguousFault, type DeploymentFailureFault, type RequestMatch, type ResourceDrift, type SlowDeploymentFault, type StallFault, type ThrottleFault } from './faults';
export { DEFAULT_SUBSCRIPTION_ID, DEFAULT_SUBSCRIPTION_ID as SANDBOX_SUBSCRIPTION_ID, DEFAULT_TENANT_ID, defaultSeed, type SandboxSeed, type SeedGroup } from './seed';
export type { SandboxState, StoredDeployment, StoredResource, StoredResourceGroup } from './state';
export type { ArmErrorBody } from './http';
