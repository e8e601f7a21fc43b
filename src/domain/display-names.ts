/**
 * People are named on a request's card by their Teams display name, which is not unique: two people
 * called "Alice Smith" (a namesake in another department, a guest who named themselves so) read as
 * one. On one request that hides what matters: "Requested by Alice Smith" above "Approved by Alice
 * Smith" reads as a self-approval when it is not, and two approvals by two "Bob"s as one person
 * approving twice. Where one display name stands for more than one person on a request, each of them
 * is named with the start of their Entra object id after it, as the audit records name them.
 */
import type { Actor, ApprovalRequest, Decision, Unreachable } from './request';

/** How many characters of the object id tell namesakes apart on a card (as a git commit is shortened). */
const ID_SHOWN = 8;

/** A display name as people read it: spacing and letter case aside. */
function nameKey(name: string): string {
  return name.normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * Every person the request names as someone who acted on it, and everyone it names as not reached
 * (its card's "Could not reach" line: an unreached approver must not read as the requester).
 */
function actorsOf(r: ApprovalRequest): Actor[] {
  const decision = (d: Decision | undefined): (Actor | undefined)[] => (d ? [d.by, d.onBehalfOf] : []);
  const named: (Actor | undefined)[] = [
    r.requester,
    ...r.approvals.flatMap((a) => [a.approver, a.onBehalfOf]),
    ...decision(r.rejection),
    ...decision(r.cancellation),
    ...decision(r.execution?.cancellation),
    r.breakGlass?.review?.by,
    // None from a row edited to hold something else there.
    ...(Array.isArray(r.unreachable) ? r.unreachable : []).map(unreachedPerson),
  ];
  return named.filter(isActor);
}

/** Someone not reached, as a person to name (their id is the Entra object id; a channel's, its conversation id); undefined when unnamed. */
function unreachedPerson(u: Unreachable | undefined): Actor | undefined {
  return typeof u?.name === 'string' ? { aadObjectId: u.id, tenantId: '', name: u.name } : undefined;
}

/**
 * A person as a well-formed request holds them. A row edited in the database can hold an approval
 * without its approver: the card of such a request is still drawn (it says the trail does not back it),
 * so one that is not a person is left as it is, not read.
 */
function isActor(a: Actor | undefined): a is Actor {
  return typeof a?.name === 'string' && typeof a.aadObjectId === 'string';
}

/**
 * How the request names people: each as they are (the usual case), or, when their display name stands
 * for more than one person among those on it and `others` (people a text names beside the request's
 * own: the delegators a delegate decides for, the one who revoked a delegation), with the start of
 * their object id after it ("Alice Smith (11111111)"). With no request (a delegation's audit record,
 * a stored row that may not read as a request), among `others` alone; one of them that is not a
 * person is left out.
 */
export function distinctNamer(r: ApprovalRequest | undefined, others: readonly (Actor | undefined)[] = []): (a: Actor) => Actor {
  // Worked out at the first name asked for: a rule makes a namer for the refusals and records it may
  // word, and most of its outcomes name nobody (pending weighs an approval of every request waiting).
  let shared: ReadonlySet<string> | undefined;
  const sharedNames = (): ReadonlySet<string> => {
    if (shared) return shared;
    const idsByName = new Map<string, Set<string>>();
    for (const a of [...(r ? actorsOf(r) : []), ...others.filter(isActor)]) {
      const key = nameKey(a.name);
      const ids = idsByName.get(key) ?? new Set<string>();
      ids.add(a.aadObjectId.toLowerCase());
      idsByName.set(key, ids);
    }
    return (shared = new Set([...idsByName].filter(([, ids]) => ids.size > 1).map(([key]) => key)));
  };
  return (a) => (isActor(a) && sharedNames().has(nameKey(a.name)) ? { ...a, name: `${a.name} (${a.aadObjectId.slice(0, ID_SHOWN) || 'no object id'})` } : a);
}

/**
 * The request as its card names people: itself when no display name on it stands for two people
 * (the usual case: the same object, so nothing else changes); else a copy where each such person's
 * name carries the start of their object id ("Alice Smith (11111111)").
 */
export function withDistinctNames(r: ApprovalRequest): ApprovalRequest {
  const named = distinctNamer(r);
  if (actorsOf(r).every((a) => named(a) === a)) return r;
  const decision = (d: Decision | undefined): Decision | undefined => (d ? { ...d, by: named(d.by), ...(d.onBehalfOf ? { onBehalfOf: named(d.onBehalfOf) } : {}) } : d);
  return {
    ...r,
    requester: named(r.requester),
    approvals: r.approvals.map((a) => ({ ...a, approver: named(a.approver), ...(a.onBehalfOf ? { onBehalfOf: named(a.onBehalfOf) } : {}) })),
    ...(r.rejection ? { rejection: decision(r.rejection) } : {}),
    ...(r.cancellation ? { cancellation: decision(r.cancellation) } : {}),
    ...(r.execution ? { execution: { ...r.execution, ...(r.execution.cancellation ? { cancellation: decision(r.execution.cancellation) } : {}) } } : {}),
    ...(r.breakGlass ? { breakGlass: { ...r.breakGlass, ...(r.breakGlass.review ? { review: { ...r.breakGlass.review, by: named(r.breakGlass.review.by) } } : {}) } } : {}),
    ...(Array.isArray(r.unreachable) ? { unreachable: r.unreachable.map((u) => { const p = unreachedPerson(u); return p ? { ...u, name: named(p).name } : u; }) } : {}),
  };
}
