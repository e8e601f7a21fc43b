/**
 * Waiting for an SDK long-running operation: once ARM has accepted it, the poller's serialized state
 * (poll URL included) goes to onStarted so the wait can be resumed elsewhere; then poll until done.
 */
import { restorePoller } from '@azure/arm-resources';
import { isRestError } from '@azure/core-rest-pipeline';
import type { ArmError } from '../../domain/operation';
import { toArmError } from '../errors';
import { refFromPollerState } from '../trace';
import { ProgressReporter } from '../progress';
import type { OperationProgress } from '../../domain/operation';
import type { Execution, GatewayContext } from './context';
import { retryAfterMs } from './status-reads';

/**
 * An error of the poller that is a failed read of the status for a passing reason (a 429, a 5xx, a
 * broken connection), not the operation's own ending. Other 4xx answers stay what they were: with
 * Location polling ARM answers a failed operation's poll with its error status, and a 404 is read
 * by the callers that resume. The operation's failure or cancellation, and an abort, are not RestErrors.
 */
function statusReadError(e: unknown): { error: ArmError; retryAfterMs?: number } | undefined {
  if (!isRestError(e)) return undefined;
  const status = e.statusCode;
  if (status !== undefined && status !== 429 && status < 500) return undefined;
  const after = retryAfterMs(e.response?.headers.get('retry-after'));
  return { error: toArmError(e), ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

/** The part of the SDK's PollerLike that Countersign uses. */
export interface Poller<T> {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  onProgress(callback: (state: unknown) => void): () => void;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
  readonly operationState?: { status: string };
}

const RUNNING = async (): Promise<OperationProgress> => ({ state: 'Running' });

/** Builds the poller of an accepted operation again from its serialized state (the SDK's restorePoller). */
export type RestorePoller<T> = (state: string) => Pick<Poller<T>, 'onProgress' | 'pollUntilDone'>;

/** RestorePoller for an operation of the resources client (`source` is the method that started it). */
export function restoreResourcesPoller<T>(exec: Execution, ctx: GatewayContext, source: (...args: never[]) => Poller<T>): RestorePoller<T> {
  const signal = exec.hooks.signal;
  return (state) =>
    restorePoller(ctx.clients.resources, state, source as never, {
      updateIntervalInMs: ctx.pollIntervalMs,
      ...(signal ? { abortSignal: signal } : {}),
    }) as unknown as Poller<T>;
}

export async function acceptAndWait<T>(
  exec: Execution,
  poller: Poller<T>,
  readProgress: () => Promise<OperationProgress | undefined> = RUNNING,
  restore?: RestorePoller<T>,
): Promise<{ result: T; progress: ProgressReporter }> {
  await poller.submitted();
  await exec.started(refFromPollerState(exec.trace, await poller.serialize(), exec.resourceIds));
  return waitFor(exec, poller, readProgress, restore);
}

/**
 * Polls an accepted operation (a new poller, or one restored from a recorded state) until it ends.
 * A read of its status that fails for a passing reason (status-reads.ts) marks the SDK's poller
 * failed for good, so the operation is then followed with a poller restored from the state recorded
 * when ARM accepted it (`restore`), after a wait; without `restore` the error ends the wait as before.
 */
export async function waitFor<T>(
  exec: Execution,
  poller: Pick<Poller<T>, 'onProgress' | 'pollUntilDone'>,
  readProgress: () => Promise<OperationProgress | undefined> = RUNNING,
  restore?: RestorePoller<T>,
): Promise<{ result: T; progress: ProgressReporter }> {
  const progress = new ProgressReporter(exec.hooks, readProgress);
  const reads = exec.statusReads('the operation');
  // Called after every poll that read the status.
  const follow = (p: typeof poller) =>
    p.onProgress(() => {
      reads.worked();
      progress.kick();
    });
  let current = poller;
  let stop = follow(current);
  try {
    const signal = exec.hooks.signal;
    for (;;) {
      try {
        const result = await current.pollUntilDone(signal ? { abortSignal: signal } : undefined);
        return { result, progress };
      } catch (e) {
        const unread = statusReadError(e);
        const state = exec.ref.resumeState;
        if (!unread || !restore || !state) throw e;
        await reads.failed(unread.error, unread.retryAfterMs);
        stop();
        current = restore(state);
        stop = follow(current);
      }
    }
  } catch (e) {
    await progress.settle();
    throw e;
  } finally {
    stop();
  }
}
