/**
 * Soon after a start, and at each timed checkpoint: the indexes of the audit log judged as `audit
 * verify` judges them (src/audit/verify/schema-findings.ts): each defined as the migrations made it,
 * and the index by request holding one entry for each record that names a request. Someone with
 * write access to the database can make it again leaving chosen records out, its definition put
 * back (docs/faults.md); reads through it then miss them. The check before an execution does not
 * depend on this (it reads the records that matter from the log itself); this says so in the log,
 * as an error, without waiting for anyone to run `audit verify`.
 *
 * The records are counted off the table a window of seqs at a time, so the bot's thread is never
 * held long, and only those appended since the last look: the log is append-only (its triggers are
 * looked at beside this, reportMissingProtection). The index's entries up to the same seq are
 * counted off the index (SQLite: a window of entries at a time; PostgreSQL: in the server).
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { Logger } from '../../log/context';
import type { AuditStore } from '../ports';
import { indexFindings, type AuditIndexSchema } from './schema-findings';

/** Seqs counted off the table at a time (about 5 ms for SQLite). */
const WINDOW = 5000;

/**
 * Every index judged by its definition, but only the index by request counted: the bot's own reads go
 * through it (the check before an execution), and it is counted without holding the bot's thread;
 * counting the index by actor (an expression, not covered for such a count) would read the table
 * again. `audit verify` counts both.
 */
function byRequest(schema: AuditIndexSchema): AuditIndexSchema {
  return {
    auditIndexes: async () =>
      (await schema.auditIndexes()).map((index) => {
        if (index.holds !== 'actors') return index;
        const { holds: _holds, where: _where, ...judged } = index;
        return judged;
      }),
    auditIndexEntries: (index, lastSeq) => schema.auditIndexEntries(index, lastSeq),
  };
}

export class AuditIndexWatch {
  /** The records counted so far: up to lastSeq, how many name a request and an actor. */
  private counted = { lastSeq: 0, named: { requests: 0, actors: 0 } };
  private looking = false;
  private stopped = false;

  constructor(
    private readonly store: AuditStore,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
    private readonly window = WINDOW,
  ) {}

  /** Looks (unless a look is under way), logs what is wrong, and returns the problems found. */
  async look(): Promise<string[]> {
    if (this.looking || this.stopped) return [];
    this.looking = true;
    try {
      if (!(await this.countUpToHead())) return [];
      const { problems, warnings } = await indexFindings(byRequest(this.store.auditAccess.auditIndexSchema()), this.counted);
      if (problems.length > 0) {
        this.log.error(
          { indexes: problems },
          'an index of the audit log leaves records out or is not the one Countersign made: someone with write access to the database changed it, and reads of one request\'s or one person\'s records through it miss records. Run countersign audit verify, rebuild each index named (REINDEX) and find out who changed it',
        );
      }
      if (warnings.length > 0) this.log.warn({ indexes: warnings }, 'an index of the audit log could not be checked or is missing');
      return problems;
    } catch (err) {
      // The store closed under a look the stop cut short: nothing to say.
      if (this.stopped) return [];
      throw err;
    } finally {
      this.looking = false;
    }
  }

  /** No look starts any more, and one under way stops at its next window (the store is about to close). */
  stop(): void {
    this.stopped = true;
  }

  /** Counts the records appended since the last look, up to the head as it is now; false if stopped meanwhile. */
  private async countUpToHead(): Promise<boolean> {
    const head = (await this.store.audit.head())?.seq ?? 0;
    // A log shorter than what was counted (restored, cut) is counted again from its start.
    let { lastSeq, named } = head < this.counted.lastSeq ? { lastSeq: 0, named: { requests: 0, actors: 0 } } : this.counted;
    named = { ...named };
    while (lastSeq < head) {
      if (this.stopped) return false;
      const upTo = Math.min(head, lastSeq + this.window);
      const n = await this.store.auditAccess.recordsNaming(lastSeq, upTo);
      named.requests += n.requests;
      named.actors += n.actors;
      lastSeq = upTo;
      this.counted = { lastSeq, named: { ...named } };
      if (lastSeq < head) await yieldTurn();
    }
    return !this.stopped;
  }
}
