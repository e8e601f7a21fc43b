/**
 * The audit log's head as committed, and as other processes move it. This writer's commits move it;
 * another connection's commits (a CLI run, a second bot) are followed before each batch, and must
 * append, never take back: the highest record this writer committed or saw (the witness) must still
 * be in the log with its hash, or writes stop.
 */
import type Database from 'better-sqlite3';
import type { ChainHead } from '../../domain/audit';
import { AuditLogRewrittenError } from '../audit-rewritten';
import { DatabaseFileGoneError } from './file-watch';
import type { ChainPlace } from './transaction-chain';

/** The group committer's stop of all writes: what stopped them, and how to stop them. */
export interface WriteStop {
  stopped(): DatabaseFileGoneError | AuditLogRewrittenError | undefined;
  stop(err: DatabaseFileGoneError | AuditLogRewrittenError): void;
}

export class CommittedHead {
  /** Head as committed. */
  private committedHead: ChainHead | undefined;
  /** The time of the head record as committed: no record is sealed earlier. */
  private committedTime: string | undefined;
  /**
   * The highest record this writer committed or saw as the head: when another connection has
   * committed since, the log must still hold it, with the same hash, before anything is appended.
   */
  private witness: ChainHead | undefined;
  /** PRAGMA data_version after our last look: it changes only when another connection commits. */
  private dataVersion: number;
  /** The next look first reads the head record from the file, not the page cache (LookAtFileFirst). */
  private readFromFile = false;
  /** The log found gone back below what this writer committed or saw (follow). */
  private wentBack: DatabaseFileGoneError | undefined;
  private readonly readDataVersion: Database.Statement;
  private readonly readHead: Database.Statement;
  private readonly readHashAt: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly writes: WriteStop,
  ) {
    this.readDataVersion = db.prepare('PRAGMA data_version').pluck();
    this.readHead = db.prepare('SELECT seq, hash, time FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.readHashAt = db.prepare('SELECT hash FROM audit_log WHERE seq = ?').pluck();
    this.committedHead = this.loadHead();
    this.witness = this.committedHead;
    this.dataVersion = this.readDataVersion.get() as number;
  }

  /** The committed head and its time, as last looked at (follow first for what others appended). */
  place(): ChainPlace {
    return { head: this.committedHead, time: this.committedTime };
  }

  /** The highest record this writer committed or saw, without looking at the file again (it may be gone). */
  lastWitnessed(): ChainHead | undefined {
    return this.witness;
  }

  /** This writer's transaction committed: the chain is where the transaction left it. */
  committed(place: ChainPlace): void {
    this.committedHead = place.head;
    this.committedTime = place.time;
    if (this.committedHead) this.witness = this.committedHead;
  }

  /** A transaction failed: the next look reads the head again from the database, not memory. */
  lookAgain(): void {
    this.dataVersion = -1;
  }

  /** The database file was written since the last look (file-watch.ts takeWritten): the next look reads past the page cache. */
  readFromFileNext(): void {
    this.readFromFile = true;
  }

  /** Whether this error is the log found gone back (follow), which stops every later look too. */
  isWentBack(err: unknown): boolean {
    return err !== undefined && err === this.wentBack;
  }

  /**
   * Another process may have committed since the last look: the log must still hold the witnessed
   * record with its hash (else the writes stop: AuditLogRewrittenError, or a DatabaseFileGoneError
   * when it went back), and the committed head becomes the log's.
   */
  follow(): void {
    const gone = this.writes.stopped();
    if (gone instanceof AuditLogRewrittenError || (gone && gone === this.wentBack)) throw gone;
    // The data version before the file was looked at: the same after, no connection committed (checkpoints leave it).
    const seen = this.dataVersion;
    const fromFile = this.readFromFile;
    if (fromFile) {
      // The database file was written since the last look (file-watch.ts takeWritten): a checkpoint,
      // or an older copy put over it in place, which this connection's page cache would hide (its
      // commits would then go on from the head in memory, onto the old log). The cache is dropped, so
      // the head record is read from the file (and the -wal), and the log's head is looked at below.
      this.readFromFile = false;
      this.db.pragma('shrink_memory');
      this.dataVersion = -1;
    }
    const version = this.readDataVersion.get() as number;
    if (version !== this.dataVersion) {
      // Another connection committed: it may append, never take back what is in the log.
      const witness = this.witness;
      const found = witness ? (this.readHashAt.get(witness.seq) as string | undefined) : undefined;
      // No other connection committed, and the file was written: put over by something else than SQLite.
      if (fromFile && version === seen && witness && found === undefined) {
        const now = this.readHead.get() as ChainHead | undefined;
        if ((now?.seq ?? 0) < witness.seq) {
          const err = new DatabaseFileGoneError(
            `the audit log in ${this.file} went back while Countersign had it open: this instance had committed or seen it reach record ${witness.seq}, and it now ends at ${now ? `record ${now.seq}` : 'no record'}, so records ${(now?.seq ?? 0) + 1} to ${witness.seq} are missing from it (an older copy of the database put over the file, or its records deleted). ` +
              'Nothing more is written. Restore the database, with its -wal file, from a backup that holds them, then restart Countersign (its start checks the audit log against the signed checkpoints, docs/faults.md)',
          );
          this.wentBack = err;
          this.writes.stop(err);
          throw err;
        }
      }
      if (witness && found !== witness.hash) {
        const err = new AuditLogRewrittenError(this.file, witness, found);
        this.writes.stop(err);
        throw err;
      }
      this.committedHead = this.loadHead();
      this.witness = this.committedHead ?? witness;
      this.dataVersion = version;
    }
  }

  private loadHead(): ChainHead | undefined {
    const row = this.readHead.get() as (ChainHead & { time: string }) | undefined;
    this.committedTime = row?.time;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }
}
