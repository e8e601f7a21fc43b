/**
 * A request row deleted, or its table emptied, under a running instance (a superuser's `TRUNCATE
 * requests`, a `DELETE` in a `sqlite3` shell): the audit log is intact, so the log's own head checks
 * see nothing, every write on other requests goes through, and readiness stayed 200 while `audit
 * verify` named the requests lost. So each store remembers one request it knows was durably there
 * (the last it committed a write of, or the newest row at its first readiness probe) with its
 * version, and every readiness probe looks it up by its primary key in `requests` and
 * `request_versions`: two indexed reads, whatever the size of the tables. Gone, gone back to an
 * earlier version, or its saved version gone, the store is not ready, saying which, until it is
 * restarted: a later write of another request does not bring back what was lost.
 */

export interface WitnessedRequest {
  id: string;
  version: number;
}

/** What the database holds of the witnessed request now: its row's version (none: no row) and whether its saved version is there. */
export interface WitnessFound {
  version: number | undefined;
  saved: boolean;
}

export class RequestWitness {
  private seen: WitnessedRequest | undefined;
  /** Once found, the loss is kept: a later write of another request does not bring back what was lost. */
  private lost: string | undefined;

  /** A write of `id` at `version` committed (the latest such write is the one looked up). */
  note(id: string, version: number): void {
    this.seen = { id, version };
  }

  /** The request looked up, when one is known. */
  get current(): WitnessedRequest | undefined {
    return this.seen;
  }

  /** The newest request found at the first probe stands in until this instance writes one. */
  seed(found: WitnessedRequest | undefined): void {
    if (!this.seen && found) this.seen = found;
  }

  /** A loss found earlier (kept until the instance is restarted). */
  get found(): string | undefined {
    return this.lost;
  }

  /** Why the store is not ready, when the database holds less of `w` than this instance saw (kept from then on). */
  judge(w: WitnessedRequest, found: WitnessFound, where: string): string | undefined {
    this.lost ??= RequestWitness.problem(w, found, where);
    return this.lost;
  }

  /** Why the store is not ready, in words, when the database lost what this instance saw of `w`; `where` names the database. */
  static problem(w: WitnessedRequest, found: WitnessFound, where: string): string | undefined {
    const what = `request ${w.id}, which this instance saw stored at version ${w.version}`;
    const after = '`countersign audit verify` names every request lost (their audit records are intact); restore the database from a backup, then restart Countersign';
    if (found.version === undefined) {
      return `${what}, is gone from the table requests of ${where} (its row deleted or the table emptied while Countersign ran): it can no longer be decided or run. ${after}`;
    }
    if (found.version < w.version) {
      return `${what}, is at version ${found.version} in the table requests of ${where} (put back from an earlier copy while Countersign ran): the decisions since are lost. ${after}`;
    }
    if (!found.saved) {
      return `${what}, has lost that saved version from the table request_versions of ${where} (its rows deleted or the table emptied while Countersign ran). ${after}`;
    }
    return undefined;
  }
}
