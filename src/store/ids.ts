/**
 * Audit record ids: UUID version 7 (RFC 9562), time-ordered, so new ids land at the end of the
 * unique index instead of on random pages (random v4 ids cost the append path a page write each).
 */
import { randomUUID } from 'node:crypto';

/** The time prefix of the last millisecond an id was made in: most ids share it with the one before. */
let prefixMs = -1;
let prefix = '';

export function uuidv7(now: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, variant bits already set
  if (now !== prefixMs) {
    const ms = now.toString(16).padStart(12, '0').slice(-12);
    prefix = `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7`;
    prefixMs = now;
  }
  return prefix + random.slice(15);
}
