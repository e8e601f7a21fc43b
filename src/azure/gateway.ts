/**
 * The AzureGateway the use cases call: each change kind goes to its own module, what-if and queries to
 * theirs. Clients are built once per subscription (operations carry their subscription id).
 */
import type { TokenCredential } from '@azure/identity';
import type { AzureGateway, ExecutionHooks, SnapshotOperation } from '../app/ports';
import type { TargetSnapshot } from '../domain/drift';
import { storable } from '../domain/storable-text';
import type { ArmOperationRef, ChangeOperation, ExecutionOutcome, QueryOperation, QueryResult, WhatIfSummary } from '../domain/operation';
import { createArmClients, type RetrySettings } from './clients';
import type { GatewayContext } from './operations/context';
import { deleteResource } from './operations/delete-resource';
import { cancelDeployment, deployTemplate } from './operations/deploy-template';
import { resourceAction } from './operations/resource-action';
import { reconcileUnreadable, resumeOperation } from './operations/resume';
import { createResourceGroup, deleteResourceGroup } from './operations/resource-groups';
import { scaleResource } from './operations/scale-resource';
import { setTags } from './operations/set-tags';
import { runQuery } from './queries';
import { outsideSendFence, withSendFence } from './send-fence';
import { snapshotTarget } from './snapshot';
import { whatIfSummary } from './what-if';

export interface AzureGatewayOptions {
  /** The subscription Countersign manages (operations name theirs; this one is built eagerly). */
  subscriptionId: string;
  credential: TokenCredential;
  /** ARM endpoint; default https://management.azure.com. The sandbox's URL in sandbox mode. */
  endpoint?: string;
  /** Certificate to trust for `endpoint` (the sandbox's PEM), for these clients only. */
  caPem?: string;
  /** True when `endpoint` is the local ARM sandbox. */
  sandbox: boolean;
  /** Delay between polls of a running operation unless ARM's Retry-After says otherwise (default 2000 ms, the SDK's). */
  pollIntervalMs?: number;
  /** The SDK's retry policy for 429, 5xx and connection errors (default: the SDK's). */
  retry?: RetrySettings;
  /** How long one try of an ARM call may go unanswered (default 30 s; clients.ts). */
  timeoutMs?: number;
  /**
   * How long an accepted operation's status may stay unreadable (429s, 5xx, broken connections)
   * before its outcome is unknown (default 15 minutes; operations/status-reads.ts).
   */
  statusPatienceMs?: number;
}

/** The gateway as the composition root holds it: at a stop, every call still waiting for ARM can be given up. */
export interface StoppableAzureGateway extends AzureGateway {
  /** Every ARM call still waiting for an answer fails at once, and every later one before it is sent. */
  stopWaiting(): void;
}

export function createAzureGateway(options: AzureGatewayOptions): StoppableAzureGateway {
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const stopping = new AbortController();
  const contexts = new Map<string, GatewayContext>();
  const contextFor = (subscriptionId: string): GatewayContext => {
    const key = subscriptionId.toLowerCase();
    let ctx = contexts.get(key);
    if (!ctx) {
      const clients = createArmClients({
        subscriptionId,
        credential: options.credential,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.caPem ? { caPem: options.caPem } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        stopping: stopping.signal,
      });
      ctx = { clients, pollIntervalMs, ...(options.statusPatienceMs !== undefined ? { statusPatienceMs: options.statusPatienceMs } : {}) };
      contexts.set(key, ctx);
    }
    return ctx;
  };
  contextFor(options.subscriptionId);

  return {
    sandbox: options.sandbox,
    stopWaiting: () => stopping.abort(),

    // A what-if (a POST), the reads and a cancel are no execution's writes, even when a resumed
    // execution's drift check makes them: they go unchecked by its send fence.
    // What ARM answers is kept with the request: its text made storable in every store (domain/storable-text.ts).
    whatIf(op: Extract<ChangeOperation, { kind: 'deployTemplate' }>): Promise<WhatIfSummary> {
      return outsideSendFence(() => whatIfSummary(op, contextFor(op.subscriptionId))).then(storable);
    },

    // An answer ARM gave but that could not be read (a 2xx whose body was cut short) is no outcome:
    // the target is read back (reconcileUnreadable), never reported failed.
    // Every write of an execution asks hooks.maySend right before it leaves (send-fence.ts).
    execute(op: ChangeOperation, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
      const ctx = contextFor(op.subscriptionId);
      return withSendFence(hooks.maySend?.bind(hooks), async () => reconcileUnreadable(op, await send(op, hooks, ctx), hooks, ctx)).then(storable);
    },

    resume(op: ChangeOperation, ref: ArmOperationRef, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
      const ctx = contextFor(op.subscriptionId);
      return withSendFence(hooks.maySend?.bind(hooks), async () => reconcileUnreadable(op, await resumeOperation(op, ref, hooks, ctx), hooks, ctx)).then(storable);
    },

    snapshot(op: SnapshotOperation): Promise<TargetSnapshot> {
      return outsideSendFence(() => snapshotTarget(op, contextFor(op.subscriptionId))).then(storable);
    },

    cancel(op: Extract<ChangeOperation, { kind: 'deployTemplate' }>): Promise<void> {
      return outsideSendFence(() => cancelDeployment(op, contextFor(op.subscriptionId)));
    },

    query(op: QueryOperation): Promise<QueryResult> {
      return outsideSendFence(() => runQuery(op, contextFor(op.subscriptionId)));
    },
  };
}

/** Sends the operation to ARM, by kind, and follows it to its end. */
function send(op: ChangeOperation, hooks: ExecutionHooks, ctx: GatewayContext): Promise<ExecutionOutcome> {
  switch (op.kind) {
    case 'deployTemplate':
      return deployTemplate(op, hooks, ctx);
    case 'createResourceGroup':
      return createResourceGroup(op, hooks, ctx);
    case 'deleteResourceGroup':
      return deleteResourceGroup(op, hooks, ctx);
    case 'setTags':
      return setTags(op, hooks, ctx);
    case 'deleteResource':
      return deleteResource(op, hooks, ctx);
    case 'resourceAction':
      return resourceAction(op, hooks, ctx);
    case 'scaleResource':
      return scaleResource(op, hooks, ctx);
  }
}
