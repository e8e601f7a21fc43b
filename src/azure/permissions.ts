/**
 * The Azure RBAC actions Countersign's identity needs for each catalog operation: the call itself, plus
 * the reads ARM authorizes while the SDK follows a long-running operation (deployment operation
 * statuses, subscription operation results, a provider's operation statuses), the reads of the target
 * that drift detection and resuming after a restart make, and cancelling a running deployment. The
 * Bicep custom role is tested against this list.
 *
 * Not derivable from the operation, and so not listed: a Complete-mode deployment also deletes, and
 * needs `{type}/delete` for, whatever the group holds that the template does not mention.
 */
import type { ChangeOperation, QueryOperation } from '../domain/operation';
import { resourceTypeOf } from './resource-ids';

const DEPLOYMENTS = 'Microsoft.Resources/deployments';
const GROUPS = 'Microsoft.Resources/subscriptions/resourceGroups';
/** Where ARM answers polls of group deletes and what-if (Location: /subscriptions/{s}/operationresults/...). */
const SUBSCRIPTION_OPERATION_RESULTS = 'Microsoft.Resources/subscriptions/operationresults/read';

/** Providers that name their operation-status endpoint differently from `{namespace}/locations/operations`. */
const PROVIDER_STATUS_READ: Record<string, string> = {
  'microsoft.web': 'Microsoft.Web/locations/operationResults/read',
};

class PermissionDerivationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermissionDerivationError';
  }
}

export function requiredActions(op: ChangeOperation | QueryOperation): string[] {
  return unique(actionsFor(op));
}

function actionsFor(op: ChangeOperation | QueryOperation): string[] {
  switch (op.kind) {
    case 'deployTemplate':
      return [
        `${DEPLOYMENTS}/write`,
        `${DEPLOYMENTS}/read`,
        `${DEPLOYMENTS}/operationstatuses/read`,
        `${DEPLOYMENTS}/operations/read`,
        // The approver sees a what-if before deciding, and execution compares it again.
        `${DEPLOYMENTS}/whatIf/action`,
        SUBSCRIPTION_OPERATION_RESULTS,
        // The requester or an approver may stop it from the card.
        `${DEPLOYMENTS}/cancel/action`,
        ...templateResourceTypes(op.template).map((t) => `${t}/write`),
      ];
    case 'createResourceGroup':
      return [`${GROUPS}/write`, `${GROUPS}/read`];
    case 'deleteResourceGroup':
      // The group's resources are read when approval is asked for and again before the delete (drift).
      return [`${GROUPS}/delete`, SUBSCRIPTION_OPERATION_RESULTS, `${GROUPS}/read`, `${GROUPS}/resources/read`];
    case 'setTags':
      return ['Microsoft.Resources/tags/write', 'Microsoft.Resources/tags/read'];
    case 'deleteResource': {
      const t = resourceTypeOf(op.resourceId);
      return [`${t.type}/delete`, providerStatusRead(t.namespace), `${t.type}/read`];
    }
    case 'resourceAction': {
      const t = resourceTypeOf(op.resourceId);
      return [`${t.type}/${op.action}/action`, providerStatusRead(t.namespace), `${t.type}/read`];
    }
    case 'scaleResource': {
      const t = resourceTypeOf(op.resourceId);
      return [`${t.type}/read`, `${t.type}/write`, providerStatusRead(t.namespace)];
    }
    case 'listResourceGroups':
      return [`${GROUPS}/read`];
    case 'listResources':
      return [op.resourceGroup ? `${GROUPS}/resources/read` : 'Microsoft.Resources/subscriptions/resources/read'];
    case 'showResource':
      return [`${resourceTypeOf(op.resourceId).type}/read`];
    case 'listDeployments':
      return [`${DEPLOYMENTS}/read`];
    case 'deploymentOperations':
      return [`${DEPLOYMENTS}/operations/read`];
    case 'whatIfDeployment':
      // ARM asks of a what-if the permissions of the deployment itself, write on every resource included.
      return [
        `${DEPLOYMENTS}/whatIf/action`,
        SUBSCRIPTION_OPERATION_RESULTS,
        ...templateResourceTypes(op.template).map((t) => `${t}/write`),
      ];
  }
}

/** The read ARM checks when following a provider's asynchronous operation. */
function providerStatusRead(namespace: string): string {
  return PROVIDER_STATUS_READ[namespace.toLowerCase()] ?? `${namespace}/locations/operations/read`;
}

/** Full types of the template's resources, e.g. Microsoft.Web/sites. A type given as an expression cannot be known. */
function templateResourceTypes(template: Record<string, unknown>): string[] {
  const resources = Array.isArray(template.resources) ? template.resources : [];
  return resources.map((r, i) => {
    const type = typeof r === 'object' && r !== null ? (r as Record<string, unknown>).type : undefined;
    if (typeof type !== 'string' || !type.includes('/') || type.startsWith('[')) {
      throw new PermissionDerivationError(
        `template resource ${i} has type ${JSON.stringify(type)}: the RBAC action needs a literal type such as "Microsoft.Web/sites"`,
      );
    }
    return type;
  });
}

/** Case-insensitive, as RBAC compares actions; first spelling kept. */
function unique(actions: string[]): string[] {
  const seen = new Map<string, string>();
  for (const a of actions) if (!seen.has(a.toLowerCase())) seen.set(a.toLowerCase(), a);
  return [...seen.values()];
}
