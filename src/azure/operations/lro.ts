/**
 * Waiting for an SDK long-running operation: once ARM has accepted it, the poller's serialized state
 * (poll URL included) goes to onStarted so the wait can be resumed elsewhere; then poll until done.
 */
import { refFromPollerState } from '../trace';
import { ProgressReporter } from '../progress';
import type { OperationProgress } from '../../domain/operation';
import type { Execution } from './context';

/** The part of the SDK's PollerLike that Countersign uses. */
export interface Poller<T> {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  onProgress(callback: (state: unknown) => void): () => void;
  pollUntilDone(options?: { abortSignal?: AbortSignal }): Promise<T>;
  readonly operationState?: { status: string };
}

const RUNNING = async (): Promise<OperationProgress> => ({ state: 'Running' });

export async function acceptAndWait<T>(
  exec: Execution,
  poller: Poller<T>,
  readProgress: () => Promise<OperationProgress | undefined> = RUNNING,
): Promise<{ result: T; progress: ProgressReporter }> {
  await poller.submitted();
  await exec.started(refFromPollerState(exec.trace, await poller.serialize(), exec.resourceIds));
  return waitFor(exec, poller, readProgress);
}

/** Polls an accepted operation (a new poller, or one restored from a recorded state) until it ends. */
export async function waitFor<T>(
  exec: Execution,
  poller: Pick<Poller<T>, 'onProgress' | 'pollUntilDone'>,
  readProgress: () => Promise<OperationProgress | undefined> = RUNNING,
): Promise<{ result: T; progress: ProgressReporter }> {
  const progress = new ProgressReporter(exec.hooks, readProgress);
  const stop = poller.onProgress(() => progress.kick());
  try {
    const signal = exec.hooks.signal;
    const result = await poller.pollUntilDone(signal ? { abortSignal: signal } : undefined);
    return { result, progress };
  } catch (e) {
    await progress.settle();
    throw e;
  } finally {
    stop();
  }
}
