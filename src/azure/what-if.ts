/**
 * What-if of a template deployment, reduced to what an approver reads and what drift detection compares:
 * each resource's change type and, for modifications, the property paths that change.
 */
import type { WhatIfOperationResult, WhatIfPropertyChange } from '@azure/arm-resourcesdeployments';
import type { WhatIfChange, WhatIfChangeType, WhatIfSummary } from '../domain/operation';
import { describeArmError, fromBody, isPassing, toArmError } from './errors';
import type { GatewayContext } from './operations/context';
import { wrapParameters } from './operations/deploy-template';

export interface WhatIfRequest {
  resourceGroup: string;
  /** What-if needs a deployment name; it creates no deployment. */
  deploymentName: string;
  template: Record<string, unknown>;
  parameters: Record<string, unknown>;
  mode: 'Incremental' | 'Complete';
}

/** Runs what-if; ARM's refusal (invalid template, missing permission...) rejects with the SDK's error. */
export async function runWhatIf(req: WhatIfRequest, ctx: GatewayContext): Promise<WhatIfSummary> {
  const poller = ctx.clients.deployments.deployments.whatIf(
    req.resourceGroup,
    req.deploymentName,
    { properties: { mode: req.mode, template: req.template, parameters: wrapParameters(req.parameters) } },
    { updateIntervalInMs: ctx.pollIntervalMs },
  );
  return summarize(await poller.pollUntilDone());
}

/** Like runWhatIf, but a failure becomes a summary with status Failed and the error in words. */
export async function whatIfSummary(req: WhatIfRequest, ctx: GatewayContext): Promise<WhatIfSummary> {
  try {
    return await runWhatIf(req, ctx);
  } catch (e) {
    const error = toArmError(e);
    return { status: 'Failed', changes: [], error: [describeArmError(error), ...(error.details ?? [])].join('\n'), ...(isPassing(error) ? { transient: true } : {}) };
  }
}

/** The change types Countersign knows: one Azure adds later (or any other text) is not cast into them. */
const CHANGE_TYPES: ReadonlySet<string> = new Set<WhatIfChangeType>(['Create', 'Delete', 'Ignore', 'Deploy', 'NoChange', 'Modify', 'Unsupported']);

/**
 * What-if's result as Countersign shows it. A change of a type it does not know is shown as one Azure
 * cannot predict (the card looked its words up by type and failed to render, so the request could not be made).
 */
export function summarize(result: WhatIfOperationResult): WhatIfSummary {
  const changes: WhatIfChange[] = (result.changes ?? []).map((c) => {
    const changeType: WhatIfChangeType = CHANGE_TYPES.has(c.changeType) ? (c.changeType as WhatIfChangeType) : 'Unsupported';
    const change: WhatIfChange = { resourceId: c.resourceId ?? '(unknown resource)', changeType };
    const paths = changedPaths(c.delta ?? []);
    if (c.changeType === 'Modify' && paths.length) change.changedPaths = paths;
    return change;
  });
  return {
    status: result.status ?? 'Succeeded',
    changes,
    ...(result.error ? { error: describeArmError(fromBody(result.error, undefined)) } : {}),
  };
}

/** Leaf paths of a what-if delta; array elements are written path[index]. NoEffect changes are left out. */
export function changedPaths(delta: WhatIfPropertyChange[], prefix = ''): string[] {
  return delta.flatMap((d) => {
    if (d.propertyChangeType === 'NoEffect') return [];
    const path = prefix ? (/^\d+$/.test(d.path) ? `${prefix}[${d.path}]` : `${prefix}.${d.path}`) : d.path;
    return d.children?.length ? changedPaths(d.children, path) : [path];
  });
}
