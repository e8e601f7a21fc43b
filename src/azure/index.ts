/** The Azure layer: identity, the ARM gateway over the real SDK, error translation and RBAC actions. */
export { createAzureGateway, type AzureGatewayOptions } from './gateway';
export { createCredential, sandboxCredential, CredentialConfigError, type CredentialConfig, type CredentialType } from './credential';
export { ArmRequestError, describeArmError, toArmError } from './errors';
export { requiredActions, templateResourceTypes, PermissionDerivationError } from './permissions';
export { MAX_ROWS } from './queries';
export type { RetrySettings } from './clients';
export { entraDatabasePassword, DatabaseTokenError, POSTGRES_ENTRA_SCOPE } from './postgres-token';
