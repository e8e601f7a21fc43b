/**
 * Whether a stored row reads as a request at all. A store hands the use cases the JSON its row holds,
 * and whoever can write the database can put anything there: a row edited into another shape (an
 * approval without its `approver`) throws wherever it is first read, before its audit trail is
 * checked (lifecycle/evidence.ts), and the request would stay approved with nothing recorded. The
 * executor checks this first, and a row that does not read as a request is refused as one that does
 * not match its audit trail (refuseUnaudited).
 *
 * Only what Countersign reads off a row is checked: the fields its rules and the execution look into
 * (people, approvals, the policy snapshot, the execution and its lease, break-glass, the round, the outcome message owed) and
 * the ids and times that name it. What a row says, rather than how it is shaped, is the audit
 * trail's to check: an operation of the right shape that is not the one approved fails there.
 */
/**
 * What a check found wrong: the value, what was wanted there, and where, as the keys and list
 * indexes from the row down (filled in on the way back up, so a row that reads well builds no path).
 */
interface Wrong {
  at: (string | number)[];
  value: unknown;
  wanted: string;
}
type Check = (value: unknown) => Wrong | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function described(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'text';
  if (typeof v === 'boolean') return 'true or false';
  return `the ${typeof v} ${String(v).slice(0, 20)}`;
}

/** The problem said as a field's path (`approvals[0].approver`) and what it is instead of what was wanted. */
function problemWith({ at, value, wanted }: Wrong): string {
  const path = at.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k), '');
  const name = path || 'the row';
  return value === undefined ? `${name} is missing` : `${name} is ${described(value)}, not ${wanted}`;
}

const wrong = (value: unknown, wanted: string): Wrong => ({ at: [], value, wanted });
const text: Check = (v) => (typeof v === 'string' ? undefined : wrong(v, 'text'));
const number: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : wrong(v, 'a number'));
const wholeNumber: Check = (v) => (Number.isInteger(v) ? undefined : wrong(v, 'a whole number'));
const anObject: Check = (v) => (isObject(v) ? undefined : wrong(v, 'an object'));
const optional = (check: Check): Check => (v) => (v === undefined ? undefined : check(v));

function listOf(check: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return wrong(v, 'a list');
    for (let i = 0; i < v.length; i++) {
      const found = check(v[i]);
      if (found) {
        found.at.unshift(i);
        return found;
      }
    }
    return undefined;
  };
}

function fields(shape: Record<string, Check>, what = 'an object'): Check {
  // Every stored request is held to these on every read (pending reads them all): the keys listed once.
  const keys = Object.keys(shape);
  const checks = Object.values(shape);
  return (v) => {
    if (!isObject(v)) return wrong(v, what);
    for (let i = 0; i < keys.length; i++) {
      const found = checks[i]!(v[keys[i]!]);
      if (found) {
        found.at.unshift(keys[i]!);
        return found;
      }
    }
    return undefined;
  };
}

const texts = listOf(text);
const person = fields({ aadObjectId: text, tenantId: text, name: text }, 'a person (aadObjectId, tenantId, name)');
const decision = fields({ by: person, at: text, onBehalfOf: optional(person) });
const approval = fields({ approver: person, at: text, operationHash: text, requirement: optional(wholeNumber), onBehalfOf: optional(person), delegationId: optional(text), delegationUntil: optional(text) }, 'an approval');
const requirement = fields({ roles: texts, count: wholeNumber });
const window = fields({ days: texts, from: text, to: text, zone: text });

const policy = fields({
  approvals: wholeNumber,
  approverRoles: texts,
  requirements: optional(listOf(requirement)),
  ttlSeconds: number,
  version: text,
  notify: optional(fields({ channels: texts })),
  reminders: optional(fields({ beforeExpirySeconds: listOf(number), max: wholeNumber })),
  escalation: optional(fields({ role: text, afterSeconds: number })),
  schedule: optional(fields({ windows: listOf(window), maxAheadSeconds: number })),
  breakGlass: optional(fields({ roles: texts, reviewWithinSeconds: number, notify: texts })),
});

const execution = fields({
  startedAt: text,
  ref: fields({ correlationId: optional(text), pollUrl: optional(text), resumeState: optional(text), resourceIds: texts }),
  lease: optional(fields({ owner: text, expiresAt: text, releasedAt: optional(text) })),
  cancellation: optional(decision),
  resumedAt: optional(texts),
});

const request = fields({
  id: text,
  version: wholeNumber,
  cardVersion: optional(wholeNumber),
  state: text,
  command: text,
  parameters: anObject,
  operation: fields({ kind: text, subscriptionId: text }),
  operationHash: text,
  target: fields({ subscriptionId: text }),
  requester: person,
  source: fields({ conversationId: text }),
  policy,
  approvals: listOf(approval),
  rejection: optional(decision),
  cancellation: optional(decision),
  execution: optional(execution),
  createdAt: text,
  expiresAt: text,
  updatedAt: text,
  runAt: optional(text),
  requestedRunAt: optional(text),
  escalation: optional(fields({ role: text, at: text })),
  reminders: optional(fields({ sent: wholeNumber, lastPointAt: text })),
  breakGlass: optional(fields({ usedAt: text, reviewDueAt: text, review: optional(fields({ verdict: text, by: person, at: text })), overdueAt: optional(text) })),
  unreachable: optional(listOf(fields({ id: text, why: text }))),
  round: optional(fields({ occasion: text, at: text, people: texts, channels: texts })),
  outcomeMessage: optional(fields({ since: text, takenAt: text, attempts: wholeNumber, text: optional(text) })),
});

/**
 * What keeps a stored row from reading as a request, naming the field (`approvals[0].approver is
 * missing`), or undefined when it reads as one.
 */
export function requestShapeProblem(row: unknown): string | undefined {
  const found = request(row);
  return found === undefined ? undefined : `its stored row does not read as a request (${problemWith(found)})`;
}
