/**
 * A download link as both stores keep it: the link as JSON text, and when it was used and for which
 * export, in columns of their own (audit_downloads).
 */
import type { DownloadLink } from '../audit/ports';

export interface LinkRow {
  link: string;
  usedAt: string | null;
  exportId: string | null;
}

/** The stored link, with when it was used and the export it served when it was. */
export function linkOf(row: LinkRow | undefined): (DownloadLink & { usedAt?: string; exportId?: string }) | undefined {
  if (!row) return undefined;
  return {
    ...(JSON.parse(row.link) as DownloadLink),
    ...(row.usedAt ? { usedAt: row.usedAt } : {}),
    ...(row.exportId ? { exportId: row.exportId } : {}),
  };
}
