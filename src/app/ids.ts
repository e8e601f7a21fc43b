import { createHash, randomBytes } from 'node:crypto';
import type { IdGenerator } from './ports';

/** Crockford's base32: no I, L, O or U, so ids survive being read aloud or retyped. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The id of the request one confirmation makes, the same for every answer to it (`key`: the
 * conversation and the confirmation message): a second answer, sent at once or to another instance,
 * meets the first's request in the store instead of making another.
 */
export function requestIdFor(key: string): string {
  const bytes = createHash('sha256').update(`countersign/confirmation/${key}`).digest();
  let id = '';
  for (let i = 0; i < 8; i++) id += ALPHABET[bytes[i] & 31];
  return `CS-${id}`;
}

/** Request ids like CS-7K3M9QXW: 40 random bits, short enough to type in `status <id>`. */
export const randomRequestIds: IdGenerator = {
  requestId(): string {
    const bytes = randomBytes(8);
    let id = '';
    for (let i = 0; i < 8; i++) id += ALPHABET[bytes[i] & 31];
    return `CS-${id}`;
  },
};

export const systemClock = { now: () => new Date(), elapsed: () => performance.now() };
