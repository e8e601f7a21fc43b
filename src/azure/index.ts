/** The Azure layer: identity, the ARM gateway over the real SDK, error translation and RBAC actions. */
export { createAzureGateway, type AzureGatewayOptions } from './gateway';
export { createCredential, sandboxCredential, CredentialConfigError } from './credential';
export type { TokenCredential } from '@azure/identity';
export { describeArmError, toArmError } from './errors';
export { requiredActions } from './permissions';
export { MAX_ROWS } from './queries';
export { entraDatabasePassword, POSTGRES_ENTRA_SCOPE } from './postgres-token';
export { GraphDirectory } from './graph-directory';
