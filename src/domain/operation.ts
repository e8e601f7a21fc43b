/**
 * The Azure Resource Manager operations Countersign knows how to run, described as plain data.
 * A catalog command resolves (with the requester's parameters) to exactly one OperationSpec; the
 * approval binds to the canonical hash of that spec, so what executes is exactly what was approved.
 */

export type TagOperation = 'Merge' | 'Replace' | 'Delete';

/** Operations that change something: always sensitive, always approved by a second person. */
export type ChangeOperation =
  | {
      kind: 'deployTemplate';
      subscriptionId: string;
      resourceGroup: string;
      deploymentName: string;
      /** The ARM template itself (by value, so the hash binds to its content). */
      template: Record<string, unknown>;
      /** Deployment parameters, as plain values (wrapped as {value} when sent to ARM). */
      parameters: Record<string, unknown>;
      mode: 'Incremental' | 'Complete';
    }
  | {
      kind: 'createResourceGroup';
      subscriptionId: string;
      resourceGroup: string;
      location: string;
      tags: Record<string, string>;
    }
  | { kind: 'deleteResourceGroup'; subscriptionId: string; resourceGroup: string }
  | {
      kind: 'setTags';
      subscriptionId: string;
      /** A subscription, resource group or resource id. */
      scope: string;
      tags: Record<string, string>;
      operation: TagOperation;
    }
  | { kind: 'deleteResource'; subscriptionId: string; resourceId: string; apiVersion: string }
  | {
      kind: 'resourceAction';
      subscriptionId: string;
      resourceId: string;
      /** The provider's POST action, e.g. restart, start, stop, powerOff. */
      action: string;
      apiVersion: string;
    }
  | {
      /** Sets the resource's `sku.capacity` (instances of a plan, a scale set): its only change, whatever the kind's name suggests. */
      kind: 'scaleResource';
      subscriptionId: string;
      resourceId: string;
      capacity: number;
      apiVersion: string;
    };

/** Operations that only read: answered at once, no approval. */
export type QueryOperation =
  | { kind: 'listResourceGroups'; subscriptionId: string }
  | {
      kind: 'listResources';
      subscriptionId: string;
      resourceGroup?: string;
      resourceType?: string;
      tag?: { name: string; value?: string };
    }
  | { kind: 'showResource'; subscriptionId: string; resourceId: string; apiVersion: string }
  | { kind: 'listDeployments'; subscriptionId: string; resourceGroup: string }
  | { kind: 'deploymentOperations'; subscriptionId: string; resourceGroup: string; deploymentName: string }
  | {
      kind: 'whatIfDeployment';
      subscriptionId: string;
      resourceGroup: string;
      template: Record<string, unknown>;
      parameters: Record<string, unknown>;
      mode: 'Incremental' | 'Complete';
    };

export type OperationSpec = ChangeOperation | QueryOperation;
export type ChangeKind = ChangeOperation['kind'];
export type QueryKind = QueryOperation['kind'];

export const CHANGE_KINDS: readonly ChangeKind[] = [
  'deployTemplate',
  'createResourceGroup',
  'deleteResourceGroup',
  'setTags',
  'deleteResource',
  'resourceAction',
  'scaleResource',
];
export const QUERY_KINDS: readonly QueryKind[] = [
  'listResourceGroups',
  'listResources',
  'showResource',
  'listDeployments',
  'deploymentOperations',
  'whatIfDeployment',
];

export function isChangeOperation(op: OperationSpec): op is ChangeOperation {
  return (CHANGE_KINDS as readonly string[]).includes(op.kind);
}

/** Where an operation lands, as shown on cards and recorded in the audit trail. */
export interface Target {
  subscriptionId: string;
  resourceGroup?: string;
  resourceId?: string;
}

const RG_IN_ID = /\/resourcegroups\/([^/]+)/i;
const SUBSCRIPTION_IN_ID = /^\/subscriptions\/([^/]+)/i;

export function targetOf(op: OperationSpec): Target {
  const t: Target = { subscriptionId: op.subscriptionId };
  if ('resourceGroup' in op && op.resourceGroup) t.resourceGroup = op.resourceGroup;
  const id = 'resourceId' in op ? op.resourceId : 'scope' in op ? op.scope : undefined;
  if (id) {
    // Azure acts where the id says: a command whose id names a subscription (from a parameter, or
    // written in the config) other than the configured one is shown, and recorded, with that one.
    const subscription = SUBSCRIPTION_IN_ID.exec(id)?.[1];
    if (subscription) t.subscriptionId = subscription;
    const rg = RG_IN_ID.exec(id);
    if (rg) t.resourceGroup = rg[1];
    if (id.includes('/providers/')) t.resourceId = id;
  }
  return t;
}

/** An ARM id in words: `vm-web-01 (Microsoft.Compute/virtualMachines) in resource group production-vm`. */
/**
 * A resource's ARM id in words: its own name and full type, and for a nested one its parents
 * ("staging (Microsoft.Web/sites/slots) of shop", not "shop", which a delete of the slot does not touch).
 * The id as it is when it is no resource id.
 */
export function resourceIdWords(id: string): string {
  const m = /^.*\/providers\/([^/]+)\/(.+?)\/*$/i.exec(id);
  const parts = m?.[2].split('/') ?? [];
  if (!m || parts.length < 2 || parts.length % 2 !== 0 || parts.some((p) => p === '')) return id;
  const types = parts.filter((_, i) => i % 2 === 0);
  const names = parts.filter((_, i) => i % 2 === 1);
  const parents = names.slice(0, -1);
  return `${names.at(-1)} (${m[1]}/${types.join('/')})${parents.length > 0 ? ` of ${parents.join('/')}` : ''}`;
}

function armIdWords(id: string): string {
  const rg = RG_IN_ID.exec(id)?.[1];
  if (/\/providers\//i.test(id)) {
    const words = resourceIdWords(id);
    return words === id ? id : `${words}${rg ? ` in resource group ${rg}` : ''}`;
  }
  if (rg && /\/resourcegroups\/[^/]+$/i.test(id)) return `resource group ${rg}`;
  return id;
}

/**
 * The resource an operation acts on and needs to exist in Azure, in words: a delete, an action or a
 * scale of nothing would be approved for nothing, and a typo in a name would read as done; a tag write
 * on nothing would be approved and only then refused by Azure. Undefined for the others: a deployment
 * or a group's creation makes its target.
 */
export function requiredTarget(op: ChangeOperation): string | undefined {
  // Every kind named (no default): a new kind must say whether its target has to exist.
  switch (op.kind) {
    case 'deleteResourceGroup':
      return `resource group ${op.resourceGroup}`;
    case 'deleteResource':
    case 'resourceAction':
    case 'scaleResource':
      return armIdWords(op.resourceId);
    case 'setTags':
      return armIdWords(op.scope);
    case 'deployTemplate':
    case 'createResourceGroup':
      return undefined;
    default: {
      // A kind not named above does not compile here.
      const unnamed: never = op;
      return unnamed;
    }
  }
}

// ---- What Azure reports back -------------------------------------------------------------------

export type WhatIfChangeType = 'Create' | 'Delete' | 'Ignore' | 'Deploy' | 'NoChange' | 'Modify' | 'Unsupported';

export interface WhatIfChange {
  resourceId: string;
  changeType: WhatIfChangeType;
  /** Property paths that change (for Modify), e.g. "properties.siteConfig.alwaysOn". */
  changedPaths?: string[];
}

/** The what-if result, reduced to what an approver reads and what drift detection compares. */
export interface WhatIfSummary {
  status: string;
  changes: WhatIfChange[];
  error?: string;
  /** With `error`: it was a passing one (throttled, ARM's own failure, the connection), so trying again may work. */
  transient?: boolean;
}

/** The ARM identifiers of a started operation, recorded as soon as they are known. */
export interface ArmOperationRef {
  /** x-ms-correlation-request-id of the call that started it. */
  correlationId?: string;
  /** Azure-AsyncOperation or Location URL being polled, when there is one. */
  pollUrl?: string;
  /** Serialized SDK poller state (resume after restart). */
  resumeState?: string;
  /** ARM resource ids the operation creates or acts on (deployment id, resource group id, ...). */
  resourceIds: string[];
}

export interface ArmError {
  code: string;
  message: string;
  /** ARM's nested details, flattened to readable lines. */
  details?: string[];
  httpStatus?: number;
}

export interface OperationProgress {
  /** Current provisioningState or async operation status. */
  state: string;
  done?: number;
  total?: number;
}

export type ExecutionOutcome =
  | { status: 'succeeded'; ref: ArmOperationRef; outputs?: Record<string, unknown>; withheldOutputs?: string[]; summary?: string }
  | { status: 'failed'; ref: ArmOperationRef; error: ArmError }
  | { status: 'unknown'; ref: ArmOperationRef; error: ArmError };

/** A read-only answer, already shaped as rows for a card or a text reply. */
export interface QueryResult {
  title: string;
  columns: string[];
  rows: string[][];
  /** True when there were more rows than shown. */
  truncated?: boolean;
}
