/**
 * The rule of a card version's claim, for the stores that decide it in JavaScript inside one write
 * (SQLite, the in-memory fake); PostgreSQL states the same rule in SQL (postgres/conversations.ts).
 * See CardVersionClaims.claimCardVersion (src/teams/ports.ts) for what each outcome means.
 */
import type { CardClaim, CardLease } from '../teams/ports';

/** What a card message keeps: the newest version claimed for it and the lease on that claim, if any. */
export interface CardClaimState {
  sentVersion: number;
  leaseHolder: string | null;
  /** When the lease ends (ms since the epoch, the store's clock). */
  leaseUntil: number | null;
}

/** The outcome of claiming `version` at `now`, and the state to keep when it is `claimed`. */
export function decideCardClaim(state: CardClaimState, version: number, lease: CardLease, now: number): { outcome: CardClaim; next?: CardClaimState } {
  const next = { sentVersion: version, leaseHolder: lease.holder, leaseUntil: now + lease.ms };
  // The holder of this very version renews its lease (it is about to send again).
  if (state.sentVersion === version && state.leaseHolder === lease.holder) return { outcome: 'claimed', next };
  // `again`: the same version shown differently (a former delegate's card without its buttons) may go once more.
  if (state.sentVersion > version || (state.sentVersion === version && !lease.again)) return { outcome: 'outdated' };
  // Another instance's older version may still be on its way to Teams: not before it arrived.
  if (state.leaseHolder !== null && state.leaseHolder !== lease.holder && (state.leaseUntil ?? 0) > now) return { outcome: 'busy' };
  return { outcome: 'claimed', next };
}

/**
 * The state after `holder` released `version` (unchanged when it holds no lease on that version).
 * Teams took the update (`shown`): the version stays sent. It failed: the version is given back, so
 * that it, or a newer one, may be claimed again (the holder's retry, or another instance's update);
 * an older one still may not, since a newer state exists.
 */
export function releasedCardClaim(state: CardClaimState, version: number, holder: string, shown = true): CardClaimState {
  if (state.sentVersion !== version || state.leaseHolder !== holder) return state;
  return { sentVersion: shown ? state.sentVersion : version - 1, leaseHolder: null, leaseUntil: null };
}
