/**
 * Audit record ids: UUID version 7 (RFC 9562), time-ordered, so new ids land at the end of the
 * unique index instead of on random pages (random v4 ids cost the append path a page write each).
 */
import { randomUUID } from 'node:crypto';

export function uuidv7(now: number = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, variant bits already set
  const ms = now.toString(16).padStart(12, '0').slice(-12);
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}
