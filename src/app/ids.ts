import { randomBytes } from 'node:crypto';
import type { IdGenerator } from './ports';

/** Crockford's base32: no I, L, O or U, so ids survive being read aloud or retyped. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Request ids like CS-7K3M9QXW: 40 random bits, short enough to type in `status <id>`. */
export const randomRequestIds: IdGenerator = {
  requestId(): string {
    const bytes = randomBytes(8);
    let id = '';
    for (let i = 0; i < 8; i++) id += ALPHABET[bytes[i] & 31];
    return `CS-${id}`;
  },
};

export const systemClock = { now: () => new Date() };
