/**
 * What ties one execution together: the correlation id sent to ARM (ARM records it on deployments and
 * in the activity log), the final answer to the starting request, and the ARM operation reference handed
 * to ExecutionHooks.onStarted. Hook failures are kept apart from Azure failures: a hook that fails
 * (the ref could not be saved) propagates to the caller instead of posing as an Azure outcome.
 */
import { randomUUID } from 'node:crypto';
import type { ArmOperationRef, ExecutionOutcome } from '../domain/operation';
import { headerRecord } from './clients';
import type { HttpHeaders } from '@azure/core-rest-pipeline';
import { isIndeterminate, toArmError, type CapturedResponse } from './errors';
import { SendWithheldError } from './send-fence';

export interface SdkCallOptions {
  requestOptions: { headers: Record<string, string> };
  onResponse: (raw: { status: number; headers: HttpHeaders; parsedBody?: unknown; bodyAsText?: string | null }) => void;
  abortSignal?: AbortSignal;
  updateIntervalInMs?: number;
}

export class CallTrace {
  readonly correlationId: string;
  /** ARM's final answer (after the SDK's retries) to the request that started the operation. */
  response: CapturedResponse | undefined;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly pollIntervalMs: number,
    /** The execution's own correlation id, recorded before any call (a fresh one otherwise). */
    correlationId?: string,
  ) {
    this.correlationId = correlationId ?? randomUUID();
  }

  /** Options for an SDK call: our correlation id goes out, ARM's answer is remembered. */
  options(): SdkCallOptions {
    return {
      requestOptions: { headers: { 'x-ms-correlation-request-id': this.correlationId } },
      onResponse: (raw) => {
        this.response = { status: raw.status, headers: headerRecord(raw.headers), body: raw.parsedBody ?? raw.bodyAsText };
      },
      ...(this.signal ? { abortSignal: this.signal } : {}),
      updateIntervalInMs: this.pollIntervalMs,
    };
  }

  ref(resourceIds: string[], extra: Partial<ArmOperationRef> = {}): ArmOperationRef {
    return { correlationId: this.correlationId, resourceIds, ...extra };
  }
}

/** A failure of the caller's hook, carried through our catch blocks untouched. */
export class HookFailure extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
    this.name = 'HookFailure';
  }
}

export async function callHook(fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw new HookFailure(e);
  }
}

/** The ref of an accepted long-running operation, from the poller's serialized state. */
export function refFromPollerState(trace: CallTrace, serialized: string, resourceIds: string[]): ArmOperationRef {
  const parsed = JSON.parse(serialized) as { state?: { config?: { operationLocation?: string } } };
  const pollUrl = parsed.state?.config?.operationLocation;
  return trace.ref(resourceIds, { resumeState: serialized, ...(pollUrl ? { pollUrl } : {}) });
}

/** The outcome for an error: failed when ARM said no, unknown when nobody can tell (5xx, lost connection). */
export function outcomeOfError(error: unknown, ref: ArmOperationRef, trace?: CallTrace): ExecutionOutcome {
  if (error instanceof HookFailure) throw error.original;
  // A write the caller's hooks withheld is no answer of Azure's: the caller judges what it means.
  if (error instanceof SendWithheldError) throw error;
  const armError = toArmError(error, trace?.response);
  return isIndeterminate(armError) ? { status: 'unknown', ref, error: armError } : { status: 'failed', ref, error: armError };
}
