/**
 * One open request per person and operation: the same sensitive command sent twice as two messages
 * (a person who thinks the first was lost, a paste sent twice) would otherwise make two requests,
 * and once both are approved the operation (a restart, a deployment) runs twice. Another person
 * asking for the same operation is not refused: theirs is their own request, approved on its own.
 */
import { canonicalJson, operationHash } from './canonical';
import { cancellable, isPastExpiry } from './lifecycle';
import { RefusalReason, refusal, type Refusal } from './refusal';
import { OPEN_STATES, standing, type ApprovalRequest } from './request';

type OperationOf = Pick<ApprovalRequest, 'id' | 'command' | 'parameters' | 'target' | 'operation'>;

/**
 * The fields of an operation and of its target that name a resource in Azure. Azure Resource Manager
 * reads names in any letter case as one (vm-web-01 and VM-Web-01 are one machine), so two requests
 * differing only there would do the same thing.
 */
const ARM_NAMES = ['resourceGroup', 'resourceId', 'scope', 'deploymentName'] as const;

/** The operation or target with its resource names in lower case. */
function namesFolded<T extends object>(o: T): T {
  const out = { ...o } as Record<string, unknown>;
  for (const field of ARM_NAMES) if (typeof out[field] === 'string') out[field] = (out[field] as string).toLowerCase();
  return out as T;
}

/**
 * What a request would do, whatever its id: a hash over its command, target and resolved operation,
 * with the request's own id set aside (a deployment is named after its request, `countersign-<id>`,
 * so the operation hash itself differs between two requests of one deployment) and the resources'
 * names in lower case, as ARM reads them. The parameters are what the operation was resolved from:
 * a name typed in another case would otherwise make the second request another. Taken from what is
 * stored, so a drift that changed the request's operation hash since does not change it.
 */
function operationKey(r: OperationOf): string {
  const operation = canonicalJson(namesFolded(r.operation)).split(r.id.toLowerCase()).join('{requestId}').split(r.id).join('{requestId}');
  return operationHash({ command: r.command, parameters: {}, target: namesFolded(r.target), operation: { resolved: operation } });
}

/** An object id is a GUID, one whatever the case of its letters. */
const samePerson = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Whether a request could still run: open, and for one waiting for approval or for its run time,
 * not past the end of its time to live (the expiry sweep has not got to it yet, but it can no longer
 * be approved or start).
 */
function couldStillRun(r: ApprovalRequest, now: Date): boolean {
  if (!OPEN_STATES.includes(r.state)) return false;
  return r.state === 'approved' || r.state === 'executing' || !isPastExpiry(r, now);
}

/**
 * Among `requests`, the oldest that `requester` asked for, that could still run (pending, waiting
 * for approval again, approved, scheduled or running) and would do what `asked` would: the request a
 * new one would repeat. Undefined when there is none.
 */
export function openRequestLike(asked: OperationOf, requester: string, requests: readonly ApprovalRequest[], now: Date): ApprovalRequest | undefined {
  const key = operationKey(asked);
  return requests.find((r) => samePerson(r.requester.aadObjectId, requester) && couldStillRun(r, now) && operationKey(r) === key);
}

/** The refusal of a request that would repeat `open`, one of the requester's own: where it stands, how to see it, how to withdraw it. */
export function repeatRefusal(open: ApprovalRequest): Refusal {
  const then = cancellable(open)
    ? `To change it (its reason, its run time), cancel ${open.id} with the Cancel button on its card, then send the command again.`
    : 'You can ask again once it has ended.';
  return refusal(
    RefusalReason.AlreadyRequested,
    `You already asked for this: request ${open.id} (${[open.command, ...Object.values(open.parameters)].join(' ')}) ${standing(open.state)}, so nothing new was requested and it will not run twice. Type "status ${open.id}" to see it. ${then}`,
    open.id,
  );
}
