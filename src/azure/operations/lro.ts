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

export async function acceptAndWait<T>(
  exec: Execution,
  poller: Poller<T>,
  readProgress: () => Promise<OperationProgress | undefined> = async () => ({ state: 'Running' }),
): Promise<{ result: T; progress: ProgressReporter }> {
  await poller.submitted();
  await exec.started(refFromPollerState(exec.trace, await poller.serialize(), exec.resourceIds));
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
