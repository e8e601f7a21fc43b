/**
 * A record the writer committed, or saw as the head, is no longer in the audit log as it was: someone
 * with write access to the database deleted, changed or renumbered records (the append-only guards
 * dropped first), perhaps re-sealing what follows so that the chain still links. Both stores stop
 * writing when they find it: nothing is sealed onto the forgery, and no checkpoint signs it.
 */
import type { ChainHead } from '../domain/audit';

export class AuditLogRewrittenError extends Error {
  /** `signed`: the record is the one the checkpoint file (PostgreSQL instances share it) signed, not one this process saw. */
  constructor(where: string, witness: ChainHead, found: string | undefined, signed = false) {
    super(
      `the audit log in ${where} was rewritten under Countersign: record ${witness.seq}, which ${signed ? 'the checkpoint file signed' : 'it had written or seen'} with hash ${witness.hash.slice(0, 16)}…, ` +
        `${found === undefined ? 'is gone' : `now has hash ${found.slice(0, 16)}…`} (records deleted, changed or renumbered by another connection); ` +
        'nothing more is written: run countersign audit verify, then restart Countersign',
    );
    this.name = 'AuditLogRewrittenError';
  }
}
