/**
 * Azure Resource Manager in memory, for tests of the use cases: what-if answers, target snapshots
 * and executions that a test programs (fail the next one, end it unknown, hold it until released,
 * change the target so a snapshot drifts), with every call recorded. It keeps the AzureGateway's
 * promises that matter to the app: an execution calls onStarted once ARM "accepted" it, reports
 * progress, and ends in an outcome (ARM errors are outcomes, not throws).
 */
import type { AzureGateway, ExecutionHooks, SnapshotOperation } from '../../src/app/ports';
import type { TargetSnapshot } from '../../src/domain/drift';
import type {
  ArmError,
  ArmOperationRef,
  ChangeOperation,
  ExecutionOutcome,
  OperationProgress,
  QueryOperation,
  QueryResult,
  WhatIfSummary,
} from '../../src/domain/operation';

type DeployOperation = Extract<ChangeOperation, { kind: 'deployTemplate' }>;

/** How the next execution (or resume) goes. */
export interface ExecutionScript {
  outcome?: 'succeeded' | 'failed' | 'unknown';
  error?: ArmError;
  summary?: string;
  /** Reported through onProgress after onStarted, in order. */
  progress?: OperationProgress[];
  /** Waits after onStarted until `release()`: the operation is running in Azure. */
  hold?: boolean;
  /** The gateway itself throws (not an ARM outcome): what a bug or a lost connection looks like. */
  throws?: Error;
  /** ARM never answers the send (no onStarted): with `hold`, a run that dies before Azure took the operation. */
  notAccepted?: boolean;
  /** Stops right before the operation is sent until `resumeSend()`: a run paused between its claim and the send. */
  pauseBeforeSend?: boolean;
}

export interface ExecutionCall {
  mode: 'execute' | 'resume';
  op: ChangeOperation;
  ref?: ArmOperationRef;
  correlationId?: string;
}

/** The resource id, scope or resource group an operation acts on: how targets are keyed here. */
function targetKey(op: ChangeOperation | QueryOperation): string {
  if ('resourceId' in op && op.resourceId) return op.resourceId;
  if ('scope' in op && op.scope) return op.scope;
  if ('resourceGroup' in op && op.resourceGroup) return op.resourceGroup;
  return op.subscriptionId;
}

export class MemoryAzure implements AzureGateway {
  readonly executions: ExecutionCall[] = [];
  readonly whatIfCalls: DeployOperation[] = [];
  readonly snapshotCalls: SnapshotOperation[] = [];
  readonly cancelCalls: DeployOperation[] = [];
  readonly queries: QueryOperation[] = [];
  /** The targets as ARM would show them, by targetKey; an unknown target exists with no facts. */
  readonly targets = new Map<string, TargetSnapshot>();
  /** What-if answers by resource group; an unknown one creates a single resource. */
  readonly whatIfs = new Map<string, WhatIfSummary>();
  private readonly scripts: ExecutionScript[] = [];
  private snapshotFailure: Error | undefined;
  private snapshotThrottles = 0;
  private snapshotThrottleMessage = '';
  private cancelRefusal: Error | undefined;
  private held: { resolve: () => void }[] = [];
  private heldWaiters: (() => void)[] = [];
  private operationCount = 0;
  private paused: (() => void) | undefined;
  /** The reasons the caller withheld a send for (hooks.maySend), in order. */
  readonly withheld: string[] = [];

  constructor(readonly sandbox = true) {}

  /** Programs the next execution or resume (scripts are used in the order given). */
  nextExecution(script: ExecutionScript): this {
    this.scripts.push(script);
    return this;
  }

  /** Sets the target as ARM shows it from now on: a change after approval is drift. */
  setTarget(key: string, snapshot: TargetSnapshot): this {
    this.targets.set(key, snapshot);
    return this;
  }

  /** The next snapshot read fails with ARM's error. */
  failNextSnapshot(message = 'AuthorizationFailed: the client cannot read the target'): this {
    this.snapshotFailure = new Error(message);
    return this;
  }

  /** The next `count` snapshot reads fail for a passing reason (throttled: `transient`, as the gateway marks it). */
  throttleSnapshots(count: number, message = 'TooManyRequests: Azure Resource Manager is throttling the requests'): this {
    this.snapshotThrottles = count;
    this.snapshotThrottleMessage = message;
    return this;
  }

  /** The next cancel is refused (e.g. the deployment already finished). */
  refuseNextCancel(message = 'DeploymentNotCancellable: the deployment already finished'): this {
    this.cancelRefusal = new Error(message);
    return this;
  }

  /** Resolves once an execution is held (running in Azure, waiting for release). */
  whenHeld(): Promise<void> {
    if (this.held.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push(resolve));
  }

  /** Lets the execution stopped before its send (pauseBeforeSend) go on to it. */
  resumeSend(): void {
    const paused = this.paused;
    this.paused = undefined;
    paused?.();
  }

  /** Whether an execution is stopped before its send (pauseBeforeSend). */
  get pausedBeforeSend(): boolean {
    return this.paused !== undefined;
  }

  /** Lets every held execution finish. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) h.resolve();
  }

  async whatIf(op: DeployOperation): Promise<WhatIfSummary> {
    this.whatIfCalls.push(op);
    const known = this.whatIfs.get(op.resourceGroup);
    if (known) return structuredClone(known);
    return { status: 'Succeeded', changes: [{ resourceId: `/subscriptions/${op.subscriptionId}/resourceGroups/${op.resourceGroup}/providers/Microsoft.Web/sites/app`, changeType: 'Create' }] };
  }

  async snapshot(op: SnapshotOperation): Promise<TargetSnapshot> {
    this.snapshotCalls.push(op);
    const failure = this.snapshotFailure;
    this.snapshotFailure = undefined;
    if (failure) throw failure;
    if (this.snapshotThrottles > 0) {
      this.snapshotThrottles -= 1;
      throw Object.assign(new Error(this.snapshotThrottleMessage), { transient: true });
    }
    return structuredClone(this.targets.get(targetKey(op)) ?? { exists: true, facts: {} });
  }

  execute(op: ChangeOperation, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    this.executions.push({ mode: 'execute', op, ...(hooks.correlationId ? { correlationId: hooks.correlationId } : {}) });
    return this.run(op, hooks, undefined);
  }

  resume(op: ChangeOperation, ref: ArmOperationRef, hooks: ExecutionHooks): Promise<ExecutionOutcome> {
    this.executions.push({ mode: 'resume', op, ref, ...(hooks.correlationId ? { correlationId: hooks.correlationId } : {}) });
    return this.run(op, hooks, ref);
  }

  async cancel(op: DeployOperation): Promise<void> {
    this.cancelCalls.push(op);
    const refusal = this.cancelRefusal;
    this.cancelRefusal = undefined;
    if (refusal) throw refusal;
  }

  async query(op: QueryOperation): Promise<QueryResult> {
    this.queries.push(op);
    return { title: `${op.kind} ${targetKey(op)}`, columns: ['name'], rows: [['one'], ['two']] };
  }

  /** Every operation ARM took (a first send, fresh or on a resume). */
  readonly sent: ChangeOperation[] = [];

  /** Executions started fresh (not resumed). */
  get started(): ExecutionCall[] {
    return this.executions.filter((e) => e.mode === 'execute');
  }

  private async run(op: ChangeOperation, hooks: ExecutionHooks, resumed: ArmOperationRef | undefined): Promise<ExecutionOutcome> {
    const script = this.scripts.shift() ?? {};
    if (script.throws) throw script.throws;
    // Resumed with no ARM answer recorded: as the real gateway, the operation is sent for the first
    // time now, once the caller's last check (beforeFirstSend) lets it.
    const firstSend = !resumed || !(resumed.pollUrl || resumed.resumeState);
    if (resumed && firstSend) {
      const reason = await hooks.beforeFirstSend?.();
      if (reason !== undefined) return { status: 'failed', ref: resumed, error: { code: 'NotSentOnResume', message: `Not executed: ${reason}. Nothing was sent to Azure; ask again.` } };
    }
    const ref: ArmOperationRef = firstSend
      ? {
          ...(hooks.correlationId ? { correlationId: hooks.correlationId } : {}),
          pollUrl: `https://management.azure.test/operations/op-${++this.operationCount}`,
          resourceIds: [`/subscriptions/${op.subscriptionId}/operations/${targetKey(op)}`],
        }
      : resumed!;
    if (script.pauseBeforeSend) await new Promise<void>((resolve) => (this.paused = resolve));
    if (firstSend && !script.notAccepted) {
      // As the real gateway's HTTP client, the last thing before the operation leaves (send-fence.ts).
      const withheld = hooks.maySend?.();
      if (withheld !== undefined) {
        this.withheld.push(withheld);
        throw new Error(`${op.kind} was not sent to Azure Resource Manager: ${withheld}`);
      }
      this.sent.push(op);
      await hooks.onStarted(ref);
    }
    for (const p of script.progress ?? []) await hooks.onProgress(p);
    if (script.hold) {
      await new Promise<void>((resolve) => {
        this.held.push({ resolve });
        const waiters = this.heldWaiters;
        this.heldWaiters = [];
        for (const w of waiters) w();
      });
    }
    const outcome = script.outcome ?? 'succeeded';
    if (outcome === 'succeeded') return { status: 'succeeded', ref, ...(script.summary ? { summary: script.summary } : {}) };
    const error = script.error ?? (outcome === 'failed' ? { code: 'Conflict', message: 'the resource is locked' } : { code: 'PollTimeout', message: 'ARM stopped answering' });
    return { status: outcome, ref, error };
  }
}
