/**
 * The request/response shapes the sandbox handlers work with, and ARM-shaped errors.
 * Handlers return a SandboxResponse or throw an ArmHttpError; the server turns either into bytes.
 */

/** ARM's error body: `{ error: ArmErrorBody }`. */
export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details?: ArmErrorBody[];
}

export interface SandboxRequest {
  method: string;
  /** Decoded path, duplicate slashes collapsed, no trailing slash. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** https://host:port of this sandbox, used to build polling URLs. */
  baseUrl: string;
  correlationId: string;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** The truncatedBody fault: the JSON body is written cut off halfway. */
  truncated?: boolean;
}

export class ArmHttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ArmErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${error.code}: ${error.message}`);
    this.name = 'ArmHttpError';
  }
}

/** The errors ARM returns, with ARM's own wording so that clients see what they would see in Azure. */
export const armErrors = {
  authenticationMissing: () =>
    new ArmHttpError(401, {
      code: 'AuthenticationFailed',
      message: "Authentication failed. The 'Authorization' header is missing.",
    }),
  authenticationMalformed: () =>
    new ArmHttpError(401, {
      code: 'InvalidAuthenticationToken',
      message: "The access token is invalid. The 'Authorization' header must use the Bearer scheme.",
    }),
  missingApiVersion: () =>
    new ArmHttpError(400, {
      code: 'MissingApiVersionParameter',
      message: 'The api-version query parameter (?api-version=) is required for all requests.',
    }),
  authorizationFailed: (principal: string, action: string, scope: string) =>
    new ArmHttpError(403, {
      code: 'AuthorizationFailed',
      message:
        `The client '${principal}' with object id '${principal}' does not have authorization to perform action ` +
        `'${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    }),
  subscriptionNotFound: (subscriptionId: string) =>
    new ArmHttpError(404, { code: 'SubscriptionNotFound', message: `The subscription '${subscriptionId}' could not be found.` }),
  resourceGroupNotFound: (name: string) =>
    new ArmHttpError(404, { code: 'ResourceGroupNotFound', message: `Resource group '${name}' could not be found.` }),
  resourceNotFound: (type: string, name: string, resourceGroup: string) =>
    new ArmHttpError(404, {
      code: 'ResourceNotFound',
      message:
        `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. ` +
        'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
    }),
  deploymentNotFound: (name: string) =>
    new ArmHttpError(404, { code: 'DeploymentNotFound', message: `Deployment '${name}' could not be found.` }),
  unknownRoute: (method: string, path: string) =>
    new ArmHttpError(404, {
      code: 'NoRegisteredProviderFound',
      message: `The ARM sandbox does not emulate ${method} ${path}.`,
    }),
  unsupportedAction: (type: string, action: string, apiVersion: string) =>
    new ArmHttpError(404, {
      code: 'InvalidResourceType',
      message: `The resource type '${type}/${action}' could not be found in the namespace '${type.split('/')[0]}' for api version '${apiVersion}'.`,
    }),
  badRequest: (code: string, message: string, details?: ArmErrorBody[]) =>
    new ArmHttpError(400, { code, message, ...(details ? { details } : {}) }),
  conflict: (code: string, message: string) => new ArmHttpError(409, { code, message }),
  preconditionFailed: (etag: string) =>
    new ArmHttpError(412, {
      code: 'PreconditionFailed',
      message: `The resource was changed since it was read: its etag is now ${etag}.`,
    }),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ArmHttpError(
      429,
      {
        code: 'TooManyRequests',
        message: `Number of requests for this subscription exceeded the limit. Please try again after '${retryAfterSeconds}' seconds.`,
      },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  serviceUnavailable: (retryAfterSeconds: number) =>
    new ArmHttpError(
      503,
      { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable. Please try again later.' },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  internalServerError: () =>
    new ArmHttpError(500, {
      code: 'InternalServerError',
      message: 'Encountered internal server error. Diagnostic information: timestamp, activity id and correlation id are in the headers.',
    }),
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SandboxResponse {
  return { status, body, headers };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Body of a PUT/PATCH/POST, required to be a JSON object. */
export function objectBody(req: SandboxRequest): Record<string, unknown> {
  if (!isRecord(req.body)) {
    throw armErrors.badRequest('InvalidRequestContent', 'The request content was invalid and could not be deserialized: a JSON object is required.');
  }
  return req.body;
}

export function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw armErrors.badRequest('InvalidRequestContent', `'${field}' must be an object of strings.`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw armErrors.badRequest('InvalidRequestContent', `'${field}.${k}' must be a string.`);
    out[k] = v;
  }
  return out;
}
