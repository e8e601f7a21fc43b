/**
 * The last check before an execution's write leaves for Azure. A run may stop for any length of
 * time between the check of its claim and the send (a paused process or VM, a long GC, a token that
 * took its time): by then another run may hold the execution. So every write an execution makes
 * asks its hooks (ExecutionHooks.maySend) at the last moment Countersign has: in the HTTP client,
 * after the pipeline fetched the token and waited out its retries, right before the request is handed
 * to Node's HTTP stack. What is left after that check (a pause, or a slow connect, before the bytes
 * leave) is no longer Countersign's to see: docs/faults.md says so.
 *
 * The execution's calls run inside withSendFence, so the check follows every write they make, SDK
 * calls, raw calls and the SDK's own retries alike; reads (GET, HEAD) are not checked, nor calls
 * made outside an execution (outsideSendFence: a what-if or a read of the drift check).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { HttpClient, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

type Check = () => string | undefined;

const fence = new AsyncLocalStorage<Check>();

/** A write of an execution was not sent: its hooks withheld it. Not an answer of Azure's. */
export class SendWithheldError extends Error {
  constructor(
    readonly reason: string,
    readonly what: string,
  ) {
    super(`${what} was not sent to Azure Resource Manager: ${reason}`);
    this.name = 'SendWithheldError';
  }
}

/** Runs an execution's calls with `check` asked before each of their writes. */
export function withSendFence<T>(check: Check | undefined, work: () => Promise<T>): Promise<T> {
  return check ? fence.run(check, work) : work();
}

/** Runs calls that are no execution's writes (a what-if, a read) unchecked, even from inside one. */
export function outsideSendFence<T>(work: () => Promise<T>): Promise<T> {
  return fence.exit(work);
}

const READS = new Set(['GET', 'HEAD']);

/** The HTTP client every ARM call ends in, asking the execution's check right before each write. */
export function fencedHttpClient(inner: HttpClient): HttpClient {
  return {
    sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      const check = fence.getStore();
      if (check && !READS.has(request.method.toUpperCase())) {
        const reason = check();
        if (reason !== undefined) return Promise.reject(new SendWithheldError(reason, `${request.method} ${new URL(request.url).pathname}`));
      }
      return inner.sendRequest(request);
    },
  };
}
