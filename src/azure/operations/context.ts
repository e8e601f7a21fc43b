/**
 * What each operation module needs: the clients, the poll interval, and the execution it reports into
 * (the correlation trace, the caller's hooks, and the latest ARM ref for the outcome).
 */
import type { ExecutionHooks } from '../../app/ports';
import type { ArmOperationRef, ChangeOperation, ExecutionOutcome } from '../../domain/operation';
import type { ArmClients } from '../clients';
import { toArmError } from '../errors';
import { callHook, CallTrace, outcomeOfError } from '../trace';
import { DEFAULT_STATUS_PATIENCE_MS, StatusReads } from './status-reads';

export interface GatewayContext {
  clients: ArmClients;
  /** Delay between polls of a running operation unless ARM's Retry-After says otherwise. */
  pollIntervalMs: number;
  /** How long an accepted operation's status may stay unreadable before its outcome is unknown (status-reads.ts). */
  statusPatienceMs?: number;
}

/** The caller's hooks, carrying the given correlation id (hooks may be class instances: no spreading). */
export function withCorrelation(hooks: ExecutionHooks, correlationId: string | undefined): ExecutionHooks {
  if (!correlationId) return hooks;
  return {
    onStarted: (ref) => hooks.onStarted(ref),
    onProgress: (progress) => hooks.onProgress(progress),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.beforeFirstSend ? { beforeFirstSend: () => hooks.beforeFirstSend!() } : {}),
    ...(hooks.maySend ? { maySend: () => hooks.maySend!() } : {}),
    correlationId,
  };
}

export type ChangeOf<K extends ChangeOperation['kind']> = Extract<ChangeOperation, { kind: K }>;

/** One execution of one approved operation. */
export class Execution {
  readonly trace: CallTrace;
  ref: ArmOperationRef;

  private readonly pollIntervalMs: number;
  private readonly statusPatienceMs: number;

  constructor(
    readonly hooks: ExecutionHooks,
    readonly resourceIds: string[],
    ctx: Pick<GatewayContext, 'pollIntervalMs' | 'statusPatienceMs'>,
    /** The ref an earlier run recorded, when this execution resumes it. */
    resumed?: ArmOperationRef,
  ) {
    this.pollIntervalMs = ctx.pollIntervalMs;
    this.statusPatienceMs = ctx.statusPatienceMs ?? DEFAULT_STATUS_PATIENCE_MS;
    this.trace = new CallTrace(hooks.signal, ctx.pollIntervalMs, hooks.correlationId ?? resumed?.correlationId);
    this.ref = resumed ? { ...resumed, resourceIds: [...new Set([...resumed.resourceIds, ...resourceIds])] } : this.trace.ref(resourceIds);
  }

  /** How the reads of this accepted operation's status are tried again when they fail. */
  statusReads(describe: string): StatusReads {
    return new StatusReads(this.pollIntervalMs, this.statusPatienceMs, this.hooks.signal, describe);
  }

  /** ARM accepted the operation: record the ref with the caller before waiting for it. */
  async started(ref: ArmOperationRef = this.ref): Promise<void> {
    this.ref = ref;
    await callHook(() => this.hooks.onStarted(ref));
  }

  succeeded(summary: string, extra: { outputs?: Record<string, unknown>; withheldOutputs?: string[]; resourceIds?: string[] } = {}): ExecutionOutcome {
    const ref = extra.resourceIds ? { ...this.ref, resourceIds: extra.resourceIds } : this.ref;
    return { status: 'succeeded', ref, summary, ...(extra.outputs ? { outputs: extra.outputs } : {}), ...(extra.withheldOutputs?.length ? { withheldOutputs: extra.withheldOutputs } : {}) };
  }

  failed(error: unknown): ExecutionOutcome {
    return outcomeOfError(error, this.ref, this.trace);
  }

  /** A failure before the operation was sent (a read it needs): nothing can have changed. */
  notSent(error: unknown): ExecutionOutcome {
    return { status: 'failed', ref: this.ref, error: toArmError(error, this.trace.response) };
  }

  /** An outcome nobody can know: never reported as success, never as a failure either. */
  unknown(code: string, message: string): ExecutionOutcome {
    return { status: 'unknown', ref: this.ref, error: { code, message } };
  }

  /**
   * A resume about to send the operation for the first time asks the caller first (hooks.beforeFirstSend):
   * a reason not to stops it here, nothing sent.
   */
  async sendFirst(send: () => Promise<ExecutionOutcome>): Promise<ExecutionOutcome> {
    const reason = await this.hooks.beforeFirstSend?.();
    if (reason === undefined) return send();
    return { status: 'failed', ref: this.ref, error: { code: 'NotSentOnResume', message: `Not executed: ${reason.replace(/[.\s]+$/, '')}. Nothing was sent to Azure; ask again.` } };
  }
}
