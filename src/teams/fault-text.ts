/**
 * What a person is told when their message or click could not be handled, by what failed: the
 * store's own failure (its disk, or the file system holding it read-only; the database out of reach, held by another process, overloaded,
 * read-only or refusing it a privilege, as Store.storageFault tells them apart) or a fault in handling it.
 */
import type { StorageFault } from '../app/ports';

/** Why, and what to do, after "Countersign could not <what>: " (or the internal-error sentence). */
export function failedText(what: string, fault: StorageFault | undefined): string {
  const head = `Countersign could not ${what}`;
  if (fault === 'disk') return `${head}: its database cannot take writes right now (its disk is full or failing), so nothing was changed. Try again later, and tell the team that runs Countersign.`;
  if (fault === 'busy') return `${head}: another process is holding its database, so nothing was changed. Try again in a moment, and tell the team that runs Countersign if it keeps happening.`;
  if (fault === 'overloaded') return `${head}: its database is overloaded right now (out of connections or memory, or a statement ran past its time limit), so nothing was changed. Try again in a moment, and tell the team that runs Countersign if it keeps happening.`;
  if (fault === 'denied') return `${head}: its database refused it access to a table it needs (a privilege of its database role was taken away), so nothing was changed. Tell the team that runs Countersign: its log and readiness name the grant to give back.`;
  // SQLite's read-only file system: not the disk full, not a standby (readiness and the log say how to make it writable).
  if (fault === 'read-only-file-system')
    return `${head}: its database cannot take writes right now (the file system holding it is read-only, not full), so nothing was changed. Tell the team that runs Countersign: its log and /readyz say how to make it writable again.`;
  if (fault === 'read-only') return `${head}: its database is read-only right now (a standby, as after a failover), so nothing was changed. Try again later, and tell the team that runs Countersign.`;
  if (fault === 'damaged') return `${head}: its database was changed under it (a file or table removed or replaced, or its audit log emptied), so nothing was changed and Countersign is stopping. Tell the team that runs Countersign: its log names what changed, and its next start checks the audit log against the signed checkpoints and says whether a backup is needed.`;
  if (fault === 'unconfirmed')
    return `${head}: the connection to its database broke while the change was being saved, so whether it was saved is not known. Before you try again, look: "pending" lists your open requests, "status <request-id>" shows one; trying again may do it twice. Tell the team that runs Countersign if it keeps happening.`;
  if (fault === 'unreachable') return `${head}: it cannot reach its database right now, so nothing was changed. Try again shortly, and tell the team that runs Countersign if it keeps happening.`;
  return `${head}: it hit an internal error, so nothing was changed. Try again, and tell the team that runs Countersign if it keeps happening.`;
}
