/**
 * Asking for something: creating a request once the command and its parameters are complete
 * (interpret.ts reads the message) and the requester may ask for it; running a read-only query.
 */
import { neutralise } from '../domain/audit';
import { resolveOperation, type CommandSpec } from '../domain/catalog';
import { requirementLabel } from '../domain/quorum';
import { operationHash } from '../domain/canonical';
import { isChangeOperation, requiredTarget, targetOf, type QueryOperation, type QueryResult } from '../domain/operation';
import type { Refusal } from '../domain/refusal';
import { defaultRisk, operationEnvironment } from '../domain/risk';
import type { Actor, ApprovalRequest, Source } from '../domain/request';
import type { AppDeps } from './context';
import { auditRefused, mayRequest, refuseRepeat, releaseRequest, resolveRunAt, type RequestAttempt, type RequestSlot } from './request-gate';
import { accessWithGroups } from './group-access';
import { boundedActor, boundedSource } from '../domain/input-limits';
import { breakGlassAudience, breakGlassEvent, breakGlassGate, storeBreakGlassUse } from './break-glass';
import { breakGlassUse, createdEvent } from '../domain/lifecycle';
import { announcing, decidersAudience, delegationsToTell } from './notifications';
import { decidingRoles } from '../domain/policy';
import { DuplicateRequestError, OpenRequestExistsError } from './ports';
import { requestIdFor } from './ids';
import { notCountingTowardsTurn } from './turn-deadline';
import { openRequestLike } from '../domain/same-operation';
import { OPEN_STATES } from '../domain/request';

/** "2 approval(s) from platform-approvers", or for a quorum each requirement: "1 from platform-approvers and 1 from security". */
function needsText(r: ApprovalRequest): string {
  if (!r.policy.requirements) return `${r.policy.approvals} approval(s) from ${r.policy.approverRoles.join(', ')}`;
  return r.policy.requirements.map((req) => `${req.count} from ${requirementLabel(req)}`).join(' and ');
}

export type CreateResult =
  | { ok: true; request: ApprovalRequest }
  | { ok: false; refusal: Refusal }
  | { ok: false; error: string };

export type CreateInput = RequestAttempt;

/**
 * Creates a pending request: policy check, operation resolved and hashed, what-if for deployments
 * (so approvers see what will change) or a snapshot of the target for other operations (what drift
 * detection compares before execution), then stored together with its audit record.
 */
export async function createRequest(deps: AppDeps, input: CreateInput, breakGlass = false): Promise<CreateResult> {
  // Counted against the requester's rate when its checks pass, given back unless it is created.
  let slot: RequestSlot | undefined;
  // An answer sent again (a double click, Teams redelivering a slow message) meets the request the
  // first made, before the checks, the rate and the break-glass uses count it again.
  const again = await alreadyCreated(deps, input);
  if (again) return again;
  const refused = (breakGlass ? await breakGlassGate(deps, input) : undefined) ?? (await mayRequest(deps, input, true, (taken) => (slot = taken)));
  if (refused) return { ok: false, refusal: refused };
  let result: CreateResult | undefined;
  try {
    result = await prepareAndStore(deps, input, breakGlass);
    return result;
  } finally {
    if (!result?.ok) releaseRequest(deps, slot);
  }
}

/**
 * The refusal of a request its requester already has open for the same operation (domain/
 * same-operation.ts), audited as request.refused; or the answer to a message sent again whose first
 * sending made that very request; or undefined when there is none. Read by the requester's index.
 */
async function repeatOf(deps: AppDeps, input: CreateInput, asked: Pick<ApprovalRequest, 'id' | 'command' | 'parameters' | 'target' | 'operation'>): Promise<CreateResult | undefined> {
  const theirs = await deps.store.requests.list({ states: [...OPEN_STATES], requester: input.actor.aadObjectId, target: asked.target });
  const open = openRequestLike(asked, input.actor.aadObjectId, theirs, deps.clock.now());
  if (!open) return undefined;
  if (open.id === asked.id && input.answering) return { ok: false, error: alreadyCreatedText(input, open.id) };
  return { ok: false, refusal: await refuseRepeat(deps, input, open) };
}

/**
 * The answer to an insert the store refused because the requester's open request `openId` does the
 * same: stored meanwhile, by a message handled at the same moment on another instance (or, with the
 * same id, the same message sent again).
 */
async function repeatStored(deps: AppDeps, input: CreateInput, id: string, openId: string): Promise<CreateResult> {
  if (openId === id && input.answering) return { ok: false, error: alreadyCreatedText(input, id) };
  const open = await deps.store.requests.get(openId);
  if (!open) throw new Error(`the store named request ${openId} as open for the same operation, and it cannot be read`);
  return { ok: false, refusal: await refuseRepeat(deps, input, open) };
}

/**
 * The answer to a store that refused the request's insert because it exists already: the same
 * answer sent twice (a double click, two instances; the first made the request), or the requester's
 * open request doing the same. Any other failure is thrown on.
 */
function insertRefused(deps: AppDeps, input: CreateInput, id: string, err: unknown): CreateResult | Promise<CreateResult> {
  if (err instanceof DuplicateRequestError && input.answering) return { ok: false, error: alreadyCreatedText(input, id) };
  if (err instanceof OpenRequestExistsError) return repeatStored(deps, input, id, err.openRequestId);
  throw err;
}

/** The answer to a second sending of what already created a request, if it did. */
async function alreadyCreated(deps: AppDeps, input: CreateInput): Promise<CreateResult | undefined> {
  if (!input.answering) return undefined;
  const id = requestIdFor(input.answering.key);
  const existing = await deps.store.requests.get(id);
  return existing ? { ok: false, error: alreadyCreatedText(input, id) } : undefined;
}

function alreadyCreatedText(input: CreateInput, id: string): string {
  return `This ${input.answering?.what ?? 'confirmation'} already created request ${id}. Type "status ${id}" to see where it stands.`;
}

/** Past the checks: the operation resolved, what-if or snapshot read, the request stored with its audit record. */
async function prepareAndStore(deps: AppDeps, input: CreateInput, breakGlass: boolean): Promise<CreateResult> {
  const { command, actor, source } = input;
  const now = deps.clock.now();
  if (!command.policy || !command.sensitive) return { ok: false, error: `"${command.name}" is read-only; it needs no request.` };
  const runAt = resolveRunAt(deps, input);
  const id = input.answering ? requestIdFor(input.answering.key) : deps.ids.requestId();
  let operation;
  try {
    operation = resolveOperation(command, input.values, { subscriptionId: deps.subscriptionId, requestId: id, loadTemplate: deps.config.loadTemplate });
  } catch (err) {
    return { ok: false, error: `Cannot prepare "${command.name}": ${(err as Error).message}` };
  }
  if (!isChangeOperation(operation)) return { ok: false, error: `"${command.name}" does not change anything; it needs no approval.` };
  const target = targetOf(operation);
  const environment = operationEnvironment(operation, input.values, deps.config.subscriptionEnvironments);
  // Before Azure is read for it: a request its requester already has open is not made again.
  const repeat = await repeatOf(deps, input, { id, command: command.name, parameters: input.values, target, operation });
  if (repeat) return repeat;
  const request: ApprovalRequest = {
    id,
    version: 1,
    state: 'pending',
    command: command.name,
    parameters: input.values,
    operation,
    operationHash: operationHash({ command: command.name, parameters: input.values, target, operation }),
    target,
    requester: actor,
    source,
    policy: {
      approvals: command.policy.approvals,
      approverRoles: command.policy.approverRoles,
      ...(command.policy.requirements ? { requirements: command.policy.requirements } : {}),
      ttlSeconds: command.policy.ttlSeconds,
      version: deps.config.hash,
      // How approvers are reached, as configured now: a later config change does not alter a pending request.
      ...(command.policy.notify ? { notify: command.policy.notify } : {}),
      ...(command.policy.reminders ? { reminders: command.policy.reminders } : {}),
      ...(command.policy.escalation ? { escalation: command.policy.escalation } : {}),
      ...(command.policy.schedule ? { schedule: command.policy.schedule } : {}),
      ...(command.policy.breakGlass ? { breakGlass: command.policy.breakGlass } : {}),
    },
    approvals: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + command.policy.ttlSeconds * 1000).toISOString(),
    updatedAt: now.toISOString(),
    sandbox: deps.azure.sandbox,
    risk: command.risk ?? defaultRisk(operation, input.values, deps.config.subscriptionEnvironments),
    ...(environment ? { environment } : {}),
    ...(input.reason ? { reason: input.reason.slice(0, 500) } : {}),
    ...(runAt?.ok ? { requestedRunAt: runAt.runAt.toISOString() } : {}),
  };
  if (operation.kind === 'deployTemplate') {
    try {
      // A what-if may take 15 s and more: not counted against the saving of the request after it (turn-deadline.ts).
      request.whatIf = await notCountingTowardsTurn(() => deps.azure.whatIf(operation));
    } catch (err) {
      return { ok: false, error: `The what-if of this deployment failed, so it cannot be put up for approval: ${(err as Error).message}` };
    }
    if (request.whatIf.error) return { ok: false, error: `The what-if of this deployment failed: ${request.whatIf.error}` };
  } else {
    // What approvers approve: the target as it is now. Right before execution it is read again (drift).
    try {
      request.baseline = await notCountingTowardsTurn(() => deps.azure.snapshot(operation));
    } catch (err) {
      return { ok: false, error: `Countersign could not read the target of this operation, so it cannot be put up for approval: ${(err as Error).message}` };
    }
    const needed = requiredTarget(operation);
    if (!request.baseline.exists && needed) {
      return { ok: false, error: `There is no ${needed} in Azure now, so "${command.name}" has nothing to act on and was not put up for approval. ${lookupHint(deps, needed.startsWith('resource group ') ? 'groups' : 'resources')}` };
    }
  }
  // Who asked, and what approvers are shown: what it will do (the drift check compares Azure with it before execution), its risk and environment.
  const created = createdEvent(request, `needs ${needsText(request)}`);
  if (breakGlass) {
    // Recorded with its round of loud messages, so that one a crash cuts short is taken up again.
    const used = breakGlassUse(request, now, input.reason ?? '');
    const announced = announcing(deps, used, 'break-glass', now, breakGlassAudience(deps, used, 'break-glass'));
    let refused;
    try {
      refused = await storeBreakGlassUse(deps, input, announced, [created, breakGlassEvent(announced, actor, source)]);
    } catch (err) {
      // The same message on two instances at once: the first stored the use, and runs it.
      return insertRefused(deps, input, id, err);
    }
    if (refused) return { ok: false, refusal: refused };
    deps.log.warn({ requestId: id, command: command.name }, 'break-glass used: running without approval');
    return { ok: true, request: announced };
  }
  // The round telling the people who may decide it is recorded with it, so that one cut short by a
  // stop or a crash is taken up again (notifications.ts).
  const announced = announcing(deps, request, 'created', now, decidersAudience(deps, request, 'created', await delegationsToTell(deps, decidingRoles(request))));
  try {
    // Stored only while no open request of the requester does the same: checked again in the write,
    // for one sent at the same moment to another instance.
    await deps.store.requests.insert(announced, [created], undefined, { at: now.toISOString() });
  } catch (err) {
    return insertRefused(deps, input, id, err);
  }
  deps.log.info({ requestId: id, command: command.name }, 'request created');
  return { ok: true, request: announced };
}

/** Where to look a name up, from the catalog's own read-only commands (none: just check the name). */
function lookupHint(deps: AppDeps, what: 'groups' | 'resources'): string {
  const command = deps.config.catalog.lookupCommand(what);
  if (command === undefined) return 'Check the name.';
  return what === 'groups' ? `Check the name: "${command}" lists the subscription's resource groups.` : `Check the name: "${command}" lists what is in a group.`;
}

/** A read-only command's answer; `whole`: the error is the whole message (a refusal), not what made the command fail. */
export type QueryAnswer = { ok: true; result: QueryResult } | { ok: false; error: string; whole?: true };

/**
 * Runs a read-only command at once, for someone its policy (`readers`) allows from where they asked
 * (a refusal is audited as request.refused). What was read, with whose words and how many rows, is
 * audited as query.run before the answer is shown: Azure is read with Countersign's identity on
 * that person's behalf, so an answer whose record could not be written is not given.
 */
export async function runQuery(deps: AppDeps, command: CommandSpec, values: Record<string, string>, actor: Actor, source: Source): Promise<QueryAnswer> {
  const resolved = await accessWithGroups(deps, [actor], command.readers?.requesterRoles ?? []);
  const denied = deps.config.access.checkActor(actor) ?? (resolved.ok ? resolved.access.checkRequester(command, actor, source) : resolved.refusal);
  if (denied) {
    await auditRefused(deps, { command, values, actor, source }, denied, { readOnly: true });
    return { ok: false, error: denied.message, whole: true };
  }
  let op;
  try {
    op = resolveOperation(command, values, { subscriptionId: deps.subscriptionId, requestId: 'query', loadTemplate: deps.config.loadTemplate });
  } catch (err) {
    return { ok: false, error: `Cannot prepare "${command.name}": ${(err as Error).message}` };
  }
  if (isChangeOperation(op)) return { ok: false, error: `"${command.name}" changes Azure and needs approval.` };
  let answer: QueryAnswer;
  try {
    answer = { ok: true, result: await notCountingTowardsTurn(() => deps.azure.query(op as QueryOperation)) };
  } catch (err) {
    answer = { ok: false, error: (err as Error).message };
  }
  const outcome = answer.ok
    ? { result: 'ok' as const, detail: `${answer.result.rows.length} row(s)${answer.result.truncated ? ', more not shown' : ''}` }
    : { result: 'error' as const, detail: answer.error };
  try {
    await deps.store.audit.append([
      neutralise({
        type: 'query.run' as const,
        time: deps.clock.now().toISOString(),
        actor: boundedActor(actor),
        source: boundedSource(source),
        target: targetOf(op),
        outcome,
        data: { command: command.name, parameters: values, ...(answer.ok ? { rows: answer.result.rows.length, truncated: answer.result.truncated === true } : {}) },
      }),
    ]);
  } catch (err) {
    deps.log.error({ command: command.name, err: String(err) }, 'a read-only command could not be recorded; its answer was not shown');
    return { ok: false, error: 'Countersign could not record this read in its audit log, so its answer is not shown. Try again in a moment.', whole: true };
  }
  return answer;
}
