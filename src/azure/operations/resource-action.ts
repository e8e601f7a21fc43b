/**
 * resourceAction: POST {resourceId}/{action}?api-version= (restart, start, stop, powerOff, deallocate...).
 * No SDK method covers arbitrary provider actions, so the request goes through the resources client's
 * own pipeline (bearer token, throttling, TLS trust; no blind retry of the POST itself) and an accepted
 * action (202) is polled here by ARM's protocol: Azure-AsyncOperation status documents, else Location until
 * it stops answering 202. The poll target is recorded, so another run can follow it after a restart.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRestError } from '@azure/core-rest-pipeline';
import type { ExecutionHooks } from '../../app/ports';
import type { ArmOperationRef, ExecutionOutcome } from '../../domain/operation';
import type { CapturedResponse } from '../errors';
import { ArmRequestError, armErrorFromResponse, fromBody, errorBodyOf, FOREIGN_ENDPOINT, PARSE_ERROR, toArmError } from '../errors';
import { foreignOrigin } from '../clients';
import { ProgressReporter } from '../progress';
import { Execution, type ChangeOf, type GatewayContext } from './context';
import { retryAfterMs } from '../../retry-after';
import type { StatusReads } from './status-reads';

export async function resourceAction(
  op: ChangeOf<'resourceAction'>,
  hooks: ExecutionHooks,
  ctx: GatewayContext,
): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx);
  const url = `${op.resourceId.replace(/\/+$/, '')}/${encodeURIComponent(op.action)}?api-version=${encodeURIComponent(op.apiVersion)}`;
  try {
    // An action is not safe to send twice: ARM's 5xx or a broken connection is left unknown, never re-sent.
    const accepted = await ctx.clients.sendUnrepeatable({
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
    const foreign = foreignOrigin(ctx.clients.endpoint, poll.url);
    if (foreign !== undefined) {
      await exec.started();
      return exec.unknown(
        FOREIGN_ENDPOINT,
        `Azure accepted "${op.action}" on ${op.resourceId} (202), but its ${poll.via} header points at ${foreign}, not Azure Resource Manager: Countersign sends its token to ARM only and takes no other host's word for the outcome. Check the resource's activity log for correlation id ${exec.trace.correlationId}.`,
      );
    }
    await exec.started(exec.trace.ref(exec.resourceIds, { pollUrl: poll.url, resumeState: JSON.stringify(poll) }));
    return await followAction(exec, ctx, op, poll, delayMs(accepted, ctx.pollIntervalMs));
  } catch (e) {
    return exec.failed(e);
  }
}

/**
 * Follows an action an earlier run started, from the poll target it recorded. With none recorded the
 * run died between sending the action and saving ARM's answer: whether it was sent cannot be read from
 * the resource (a restart leaves no trace), so the outcome is unknown, and the action is not sent again.
 */
export async function resumeAction(op: ChangeOf<'resourceAction'>, ref: ArmOperationRef, hooks: ExecutionHooks, ctx: GatewayContext): Promise<ExecutionOutcome> {
  const exec = new Execution(hooks, [op.resourceId], ctx, ref);
  const poll = recordedPollTarget(ref);
  if (!poll) {
    return exec.unknown(
      'ActionOutcomeUnknown',
      `Countersign stopped after sending "${op.action}" to ${op.resourceId} or just before, and before Azure's answer was saved. ` +
        `Whether it ran cannot be read from the resource, so it was not sent again: check the resource's activity log for correlation id ${exec.trace.correlationId}.`,
    );
  }
  const outcome = await followAction(exec, ctx, op, poll, 0);
  if (outcome.status === 'failed' && outcome.error.httpStatus === 404) {
    return exec.unknown('OperationNotFound', `Azure no longer knows the "${op.action}" operation on ${op.resourceId} (${outcome.error.message}); its outcome cannot be known.`);
  }
  return outcome;
}

async function followAction(exec: Execution, ctx: GatewayContext, op: ChangeOf<'resourceAction'>, poll: PollTarget, firstDelayMs: number): Promise<ExecutionOutcome> {
  try {
    const progress = new ProgressReporter(exec.hooks, async () => ({ state: 'Running' }));
    await waitForOperation(ctx, poll, firstDelayMs, exec.hooks.signal, () => progress.kick(), exec.statusReads(`"${op.action}" on ${op.resourceId}`));
    await progress.finish({ state: 'Succeeded' });
    return exec.succeeded(`${op.action} done on ${op.resourceId}.`);
  } catch (e) {
    return exec.failed(e);
  }
}

function recordedPollTarget(ref: ArmOperationRef): PollTarget | undefined {
  if (ref.resumeState) {
    try {
      const parsed = JSON.parse(ref.resumeState) as Partial<PollTarget>;
      if (typeof parsed.url === 'string' && (parsed.via === 'Azure-AsyncOperation' || parsed.via === 'Location')) return { url: parsed.url, via: parsed.via };
    } catch {
      // Not ours: fall back to the poll URL.
    }
  }
  return ref.pollUrl ? { url: ref.pollUrl, via: 'Azure-AsyncOperation' } : undefined;
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
  firstDelayMs: number,
  signal: AbortSignal | undefined,
  onPoll: () => void,
  reads: StatusReads,
): Promise<void> {
  let wait = firstDelayMs;
  for (;;) {
    await sleep(wait, undefined, signal ? { signal } : {});
    let last: CapturedResponse;
    try {
      last = await ctx.clients.send({ method: 'GET', url: poll.url, ...(signal ? { abortSignal: signal } : {}) });
    } catch (e) {
      // A broken connection (an abort is not a read that failed).
      if (!isRestError(e) || (e as Error).name === 'AbortError') throw e;
      await reads.failed(toArmError(e));
      wait = 0;
      continue;
    }
    if (last.status === 429 || last.status >= 500) {
      // Throttled, or ARM's own failure: a read of the status that failed, not the action's outcome.
      await reads.failed(armErrorFromResponse(last.status, last.body, last.headers['retry-after']), retryAfterMs(last.headers['retry-after']));
      wait = 0;
      continue;
    }
    if (poll.via === 'Azure-AsyncOperation' && last.status === 200 && typeof (last.body as { status?: unknown } | undefined)?.status !== 'string') {
      // A 200 whose body says no status (a proxy's error page, another service's JSON) is a read that
      // failed, not "still running": within the status reads' patience, then the outcome is unknown.
      await reads.failed({ code: PARSE_ERROR, message: `the status answer of "${poll.url.split('?')[0].slice(-120)}" holds no status (${typeof last.body === 'string' ? `text: ${last.body.slice(0, 80)}` : 'JSON without a status field'})` });
      wait = ctx.pollIntervalMs;
      continue;
    }
    reads.worked();
    wait = delayMs(last, ctx.pollIntervalMs);
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

/** ARM's Retry-After when it names a wait, otherwise our interval. */
function delayMs(response: CapturedResponse, intervalMs: number): number {
  return retryAfterMs(response.headers['retry-after']) || intervalMs;
}
