/**
 * Waiting for an SDK long-running operation: once ARM has accepted it, the poller's serialized state
 * (poll URL included) goes to onStarted so the wait can be resumed elsewhere; then poll until done.
 */
import { restorePoller } from '@azure/arm-resources';
import { refFromPollerState } from '../trace';
import { ProgressReporter } from '../progress';
import type { OperationProgress } from '../../domain/operation';
import type { Execution, GatewayContext } from './context';
import { passingReadError } from './status-reads';


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
        const unread = passingReadError(e);
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
