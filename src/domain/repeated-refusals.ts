/**
 * What a minute of refusals of unauthenticated callers (or of activities from a tenant or channel
 * not served, or of people of the tenants served that go through a budget: refused card clicks among
 * them) came to, past the number recorded one by one (src/app/refusal-budget.ts): recorded as one
 * audit record, and how its detail reads.
 */

/** The refusals of one minute that were counted, not recorded one by one. */
export interface RepeatedRefusals {
  count: number;
  /** The first and last of them (ISO-8601). */
  from: string;
  to: string;
  /** How many, per reason. */
  reasons: Record<string, number>;
  /** How many, per caller address (the most frequent, at most 20); refusals of unauthenticated callers. */
  remoteAddresses?: Record<string, number>;
  /** How many came from addresses not named above. */
  otherAddresses?: number;
  /** How many, per tenant as the activities claim it (the most frequent, at most 20); activities from a tenant or channel not served. */
  tenants?: Record<string, number>;
  /** How many came from tenants not named above. */
  otherTenants?: number;
  /** How many, per person (Entra object id; the most frequent, at most 20): refusals of people of the tenants served that go through a budget (a `status` of a request they may not see, an answer to a form not theirs, a refused card click). */
  people?: Record<string, number>;
  /** How many came from people not named above. */
  otherPeople?: number;
  /** The request these refusals named (refused clicks on its cards): the summary is then in that request's trail. */
  request?: string;
  /** How many named a request that has no summary of its own this minute (past the 20 that have one). */
  otherRequests?: number;
  /** How many a minute are recorded one by one; counted per person, how many a minute of each person's (src/app/refusal-budget.ts). */
  perMinute: number;
}

/** "1,200 more from … to … were counted …: missing-token 1,100, invalid-token 100; from 3 addresses", a summary's detail. */
export function repeatedText(r: RepeatedRefusals): string {
  const reasons = Object.entries(r.reasons).map(([reason, n]) => `${reason} ${n.toLocaleString('en-US')}`).join(', ');
  const [what, counted, others] = r.tenants ? ['tenant', r.tenants, r.otherTenants] : r.people ? ['person', r.people, r.otherPeople] : ['address', r.remoteAddresses ?? {}, r.otherAddresses];
  const named = Object.keys(counted).length;
  const plural = what === 'address' ? 'addresses' : what === 'person' ? 'people' : 'tenants';
  const from = others ? `${named} ${plural} and others` : named === 1 ? `1 ${what}` : `${named} ${plural}`;
  const on = r.request !== undefined ? `; on request ${r.request}` : r.otherRequests ? `; ${r.otherRequests.toLocaleString('en-US')} of them on requests not named` : '';
  return `${r.count.toLocaleString('en-US')} more from ${r.from} to ${r.to} were counted, not recorded one by one (at most ${r.perMinute} a minute${r.people ? ' per person' : ''} are): ${reasons}; from ${from}${on}`;
}

/**
 * The refusals a record stands for when it is a minute's `repeated` summary (reason `repeated`, its
 * count in `data.repeated`), else undefined: a record of one refusal. Read wherever refusals are
 * counted (telemetry, an evidence bundle, OCSF's `count`), so that those counted past a budget are
 * counted there too.
 */
export function repeatedOf(record: { outcome?: { reason?: string }; data?: Record<string, unknown> }): RepeatedRefusals | undefined {
  if (record.outcome?.reason !== 'repeated') return undefined;
  const r = record.data?.repeated as Partial<RepeatedRefusals> | undefined;
  if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.count) || typeof r.reasons !== 'object' || r.reasons === null) return undefined;
  return r as RepeatedRefusals;
}
