/** JSON Schema of the YAML config. Unknown keys are errors, so a typo never goes unnoticed. */
import { CHANGE_KINDS, QUERY_KINDS, type OperationSpec } from '../domain/operation';
import { RISK_LEVELS } from '../domain/risk';
import { WEEKDAYS } from '../domain/schedule';

const stringList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
const GUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** A role member: a person's Entra object id, or `group:` and an Entra group's object id. */
const ROLE_MEMBER_PATTERN = `^(group:)?${GUID.slice(1)}`;
export const DURATION_PATTERN = '^[1-9][0-9]*(s|m|h|d)$';
const duration = { type: 'string', pattern: DURATION_PATTERN } as const;
/** A reminder point: a percentage of the time to live left (1% to 99%), or a duration before expiry. */
export const REMINDER_POINT_PATTERN = '^([1-9][0-9]?%|[1-9][0-9]*(s|m|h|d))$';

/** How approvers are reached (a command's policy, or defaults). */
const reach = {
  notify: {
    type: 'object',
    additionalProperties: false,
    properties: { approvers: { enum: ['personal', 'none'] }, channels: stringList },
  },
  reminders: {
    type: 'object',
    additionalProperties: false,
    required: ['at'],
    properties: {
      at: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'string', pattern: REMINDER_POINT_PATTERN } },
      max: { type: 'integer', minimum: 1, maximum: 10 },
    },
  },
  escalation: {
    type: 'object',
    additionalProperties: false,
    required: ['role', 'after'],
    properties: { role: { type: 'string', minLength: 1 }, after: duration },
  },
} as const;

export const CLOCK_TIME_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
const clockTime = { type: 'string', pattern: CLOCK_TIME_PATTERN } as const;

/** A maintenance window: on these days, from..to wall-clock time in the zone. */
const window = {
  type: 'object',
  additionalProperties: false,
  required: ['days', 'from', 'to', 'zone'],
  properties: {
    days: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...WEEKDAYS] } },
    from: clockTime,
    to: clockTime,
    zone: { type: 'string', minLength: 1 },
  },
} as const;

const parameter = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    description: { type: 'string' },
    type: { enum: ['string', 'enum', 'integer'] },
    allowed: { type: 'array', minItems: 1, items: { type: ['string', 'number'] } },
    pattern: { type: 'string' },
    min: { type: 'integer' },
    max: { type: 'integer' },
    default: { type: ['string', 'number'] },
  },
} as const;

const policy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    approvals: { type: 'integer', minimum: 1, maximum: 10 },
    approverRoles: { ...stringList, minItems: 1 },
    /** A quorum: approvals from each of several roles at once (instead of approvals + approverRoles). */
    requirements: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['role'],
        properties: { role: { type: 'string', minLength: 1 }, count: { type: 'integer', minimum: 1, maximum: 10 } },
      },
    },
    reason: {
      type: 'object',
      additionalProperties: false,
      properties: { required: { type: 'boolean' }, minLength: { type: 'integer', minimum: 1, maximum: 200 } },
    },
    requesterRoles: stringList,
    ttl: duration,
    conversations: {
      type: 'object',
      additionalProperties: false,
      properties: {
        types: { type: 'array', minItems: 1, items: { enum: ['personal', 'groupChat', 'channel'] } },
        ids: stringList,
      },
    },
    windows: { type: 'array', minItems: 1, maxItems: 20, items: window },
    maxScheduleAhead: duration,
    breakGlass: {
      type: 'object',
      additionalProperties: false,
      required: ['allowed', 'roles', 'reviewWithin'],
      properties: {
        allowed: { type: 'boolean' },
        roles: { ...stringList, minItems: 1 },
        reviewWithin: duration,
        notify: stringList,
        maxUses: { type: 'object', additionalProperties: false, required: ['count', 'per'], properties: { count: { type: 'integer', minimum: 1, maximum: 100 }, per: duration } },
      },
    },
    ...reach,
  },
} as const;

const command = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'operation'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$' },
    description: { type: 'string', minLength: 1 },
    sensitive: { type: 'boolean' },
    risk: { enum: [...RISK_LEVELS] },
    parameters: { type: 'array', items: parameter },
    operation: {
      type: 'object',
      required: ['kind'],
      properties: { kind: { enum: [...CHANGE_KINDS, ...QUERY_KINDS] } },
    },
    policy,
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'tenants', 'roles', 'commands'],
  properties: {
    version: { const: 1 },
    tenants: { type: 'array', minItems: 1, items: { type: 'string', pattern: GUID } },
    azure: {
      type: 'object',
      additionalProperties: false,
      properties: {
        subscriptionId: { type: 'string', pattern: `^$|${GUID}` },
        endpoint: { type: 'string', pattern: '^https://' },
        /** Environment name → the subscriptions that are it (names and one subscription in one environment: checked when built). */
        environments: {
          type: 'object',
          minProperties: 1,
          additionalProperties: { type: 'array', minItems: 1, items: { type: 'string', pattern: GUID } },
        },
        credential: {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { enum: ['default', 'managedIdentity', 'clientSecret', 'workloadIdentity'] },
            clientId: { type: 'string' },
            tenantId: { type: 'string' },
          },
        },
      },
    },
    roles: {
      type: 'object',
      minProperties: 1,
      additionalProperties: { type: 'array', items: { type: 'string', pattern: ROLE_MEMBER_PATTERN } },
    },
    directory: {
      type: 'object',
      additionalProperties: false,
      properties: { cacheLifetime: duration, graphEndpoint: { type: 'string', pattern: '^https?://' } },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: { approvals: { type: 'integer', minimum: 1, maximum: 10 }, ttl: duration, maxScheduleAhead: duration, ...reach },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        auditorRoles: stringList,
        checkpointInterval: duration,
        checkpointEveryRecords: { type: 'integer', minimum: 1, maximum: 1000000 },
        http: {
          type: 'object',
          additionalProperties: false,
          required: ['issuer', 'audience', 'role'],
          properties: {
            issuer: { type: 'string', pattern: '^https://' },
            audience: { type: 'string', minLength: 1 },
            role: { type: 'string', minLength: 1 },
            jwksUri: { type: 'string', pattern: '^https://' },
            jwksFile: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    delegation: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, maxDuration: duration },
    },
    commands: { type: 'array', minItems: 1, items: command },
  },
} as const;

/**
 * Fields each operation kind needs in the config (besides kind), and the optional ones: every kind of
 * the domain (CHANGE_KINDS, QUERY_KINDS) must be here, or its commands' fields would go unchecked.
 */
export const OPERATION_FIELDS: Record<OperationSpec['kind'], { required: string[]; optional: string[] }> = {
  deployTemplate: { required: ['resourceGroup', 'template'], optional: ['parameters', 'mode', 'deploymentName'] },
  createResourceGroup: { required: ['resourceGroup', 'location'], optional: ['tags'] },
  deleteResourceGroup: { required: ['resourceGroup'], optional: [] },
  setTags: { required: ['scope', 'tags'], optional: ['operation'] },
  deleteResource: { required: ['resourceId', 'apiVersion'], optional: [] },
  resourceAction: { required: ['resourceId', 'action', 'apiVersion'], optional: [] },
  scaleResource: { required: ['resourceId', 'capacity', 'apiVersion'], optional: [] },
  listResourceGroups: { required: [], optional: [] },
  listResources: { required: [], optional: ['resourceGroup', 'resourceType', 'tag'] },
  showResource: { required: ['resourceId', 'apiVersion'], optional: [] },
  listDeployments: { required: ['resourceGroup'], optional: [] },
  deploymentOperations: { required: ['resourceGroup', 'deploymentName'], optional: [] },
  whatIfDeployment: { required: ['resourceGroup', 'template'], optional: ['parameters', 'mode'] },
};

/** Command words Countersign answers itself; a catalog command cannot take them. */
export const RESERVED_COMMANDS = ['help', 'pending', 'status', 'audit', 'cancel', 'delegate', 'delegations', 'revoke', 'break-glass'];
