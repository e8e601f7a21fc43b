/** The product side of the append figures: `appenders` callers appending one record each, as fast as they can. */
import type { AuditLog } from '../../src/app/ports';
import type { AuditEventDraft } from '../../src/domain/audit';

/** Seconds until every draft is durably appended by `appenders` concurrent callers (one record per append). */
export async function timeConcurrentAppends(audit: Pick<AuditLog, 'append'>, events: AuditEventDraft[], appenders: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      for (let i = next++; i < events.length; i = next++) await audit.append([events[i]]);
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}
