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
type Check = (value: unknown, path: string) => string | undefined;

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

function problemWith(v: unknown, path: string, wanted: string): string {
  const name = path || 'the row';
  return v === undefined ? `${name} is missing` : `${name} is ${described(v)}, not ${wanted}`;
}

const text: Check = (v, path) => (typeof v === 'string' ? undefined : problemWith(v, path, 'text'));
const number: Check = (v, path) => (typeof v === 'number' && Number.isFinite(v) ? undefined : problemWith(v, path, 'a number'));
const wholeNumber: Check = (v, path) => (Number.isInteger(v) ? undefined : problemWith(v, path, 'a whole number'));
const anObject: Check = (v, path) => (isObject(v) ? undefined : problemWith(v, path, 'an object'));
const optional = (check: Check): Check => (v, path) => (v === undefined ? undefined : check(v, path));

function listOf(check: Check): Check {
  return (v, path) => {
    if (!Array.isArray(v)) return problemWith(v, path, 'a list');
    for (const [i, item] of v.entries()) {
      const problem = check(item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

function fields(shape: Record<string, Check>, what = 'an object'): Check {
  return (v, path) => {
    if (!isObject(v)) return problemWith(v, path, what);
    for (const [key, check] of Object.entries(shape)) {
      const problem = check(v[key], path ? `${path}.${key}` : key);
      if (problem) return problem;
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
  const problem = request(row, '');
  return problem === undefined ? undefined : `its stored row does not read as a request (${problem})`;
}
