/**
 * resourceAction: POST {resourceId}/{action}?api-version= (restart, start, stop, powerOff, deallocate...).
 * No SDK method covers arbitrary provider actions, so the request goes through the resources client's
 * own pipeline (bearer token, retries, throttling, TLS trust) and an accepted action (202) is polled
 * here by ARM's protocol: Azure-AsyncOperation status documents, else Location until it stops answering 202.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionHooks } from '../../app/ports';
import type { ExecutionOutcome } from '../../domain/operation';
import type { CapturedResponse } from '../errors';
import { ArmRequestError, armErrorFromResponse, fromBody, errorBodyOf } from '../errors';
import { ProgressReporter } from '../progress';
import { Execution, type ChangeOf, type GatewayContext } from './context';

export async function resourceAction(
  op: ChangeOf<'resourceAction'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx.pollIntervalMs);
  const url = `${op.resourceId.replace(/\/+$/, '')}/${encodeURIComponent(op.action)}?api-version=${encodeURIComponent(op.apiVersion)}`;
  try {
    const accepted = await ctx.clients.send({
      method: 'POST',
      url,
      headers: { 'x-ms-correlation-request-id': exec.trace.correlationId },
      ...(hooks.signal ? { abortSignal: hooks.signal } : {}),
    });
    exec.trace.response = accepted;
    if (accepted.status >= 300) throw new ArmRequestError(armErrorFromResponse(accepted.status, accepted.body, accepted.headers['retry-after']));
    if (accepted.status !== 202) {
      await exec.started();
      return exec.succeeded(`${op.action} done on ${op.resourceId}.`);
    }
    const poll = pollTarget(accepted);
    await exec.started(exec.trace.ref(exec.resourceIds, { pollUrl: poll.url, resumeState: JSON.stringify(poll) }));
    const progress = new ProgressReporter(hooks, async () => ({ state: 'Running' }));
    await waitForOperation(ctx, poll, accepted, hooks.signal, () => progress.kick());
    await progress.finish({ state: 'Succeeded' });
    return exec.succeeded(`${op.action} done on ${op.resourceId}.`);
  } catch (e) {
    return exec.failed(e);
  }
}

interface PollTarget {
  url: string;
  via: 'Azure-AsyncOperation' | 'Location';
}

function pollTarget(accepted: CapturedResponse): PollTarget {
  const asyncOperation = accepted.headers['azure-asyncoperation'];
  if (asyncOperation) return { url: asyncOperation, via: 'Azure-AsyncOperation' };
  const location = accepted.headers['location'];
  if (location) return { url: location, via: 'Location' };
  throw new ArmRequestError({
    code: 'MissingPollingUrl',
    message: 'Azure accepted the action (202) but gave neither an Azure-AsyncOperation nor a Location header to follow.',
    httpStatus: 202,
  });
}

async function waitForOperation(
  ctx: GatewayContext,
  poll: PollTarget,
  accepted: CapturedResponse,
  signal: AbortSignal | undefined,
  onPoll: () => void,
): Promise<void> {
  let last = accepted;
  for (;;) {
    await sleep(delayMs(last, ctx.pollIntervalMs), undefined, signal ? { signal } : {});
    last = await ctx.clients.send({ method: 'GET', url: poll.url, ...(signal ? { abortSignal: signal } : {}) });
    onPoll();
    if (poll.via === 'Location') {
      if (last.status === 202) continue;
      if (last.status < 300) return;
      throw new ArmRequestError(armErrorFromResponse(last.status, last.body, last.headers['retry-after']));
    }
    if (last.status !== 200) throw new ArmRequestError(armErrorFromResponse(last.status, last.body, last.headers['retry-after']));
    const status = String((last.body as { status?: unknown } | undefined)?.status ?? '').toLowerCase();
    if (status === 'succeeded') return;
    if (status === 'failed' || status === 'canceled' || status === 'cancelled') {
      const body = errorBodyOf(last.body) ?? { code: `Operation${status[0].toUpperCase()}${status.slice(1)}`, message: `The action ended ${status}.` };
      throw new ArmRequestError(fromBody(body, undefined));
    }
  }
}

/** ARM's Retry-After (seconds) when present, otherwise our interval. */
function delayMs(response: CapturedResponse, intervalMs: number): number {
  const seconds = Number(response.headers['retry-after']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : intervalMs;
}
