/**
 * What a minute of refusals of unauthenticated callers came to, past the number recorded one by one
 * (src/app/refusal-budget.ts): recorded as one audit record, and how its detail reads.
 */

/** The refusals of one minute that were counted, not recorded one by one. */
export interface RepeatedRefusals {
  count: number;
  /** The first and last of them (ISO-8601). */
  from: string;
  to: string;
  /** How many, per reason. */
  reasons: Record<string, number>;
  /** How many, per caller address (the most frequent, at most 20). */
  remoteAddresses: Record<string, number>;
  /** How many came from addresses not named above. */
  otherAddresses?: number;
  /** How many a minute are recorded one by one. */
  perMinute: number;
}

/** "1,200 more from … to … were counted …: missing-token 1,100, invalid-token 100; from 3 addresses", a summary's detail. */
export function repeatedText(r: RepeatedRefusals): string {
  const reasons = Object.entries(r.reasons).map(([reason, n]) => `${reason} ${n.toLocaleString('en-US')}`).join(', ');
  const named = Object.keys(r.remoteAddresses).length;
  const from = r.otherAddresses ? `${named} addresses and others` : named === 1 ? '1 address' : `${named} addresses`;
  return `${r.count.toLocaleString('en-US')} more from ${r.from} to ${r.to} were counted, not recorded one by one (at most ${r.perMinute} a minute are): ${reasons}; from ${from}`;
}
