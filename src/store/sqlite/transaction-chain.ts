/**
 * The audit chain inside the group committer's open transaction: each record is sealed onto the
 * transaction's head and inserted; the head moves with it, goes back with a write rolled back alone,
 * and becomes the committed head only when the transaction commits (group-commit.ts).
 */
import type Database from 'better-sqlite3';
import { sealRecord, sealedText, type SealPlaceholders } from '../../audit/chain/chain';
import { notBeforePrevious } from '../../audit/record-time';
import { GENESIS_HASH, type AuditEventDraft, type AuditRecord, type ChainHead } from '../../domain/audit';

/** What a write can do inside the shared transaction, besides running its own statements. */
export interface WriteTx {
  /** Chains and inserts the events after the current head (the head moves only if the write commits). */
  appendEvents(drafts: readonly AuditEventDraft[]): AuditRecord[];
  /** The same for events another thread made into templates (sealTemplate); see appendTemplates. */
  appendTemplates(templates: readonly WireTemplate[], placeholders: SealPlaceholders): SealedWire[];
}

/** A sealing template as it crosses threads: the template, then the record's id, time, type, request id and actor id. */
export type WireTemplate = readonly [template: string, id: string, time: string, type: string, requestId: string | null, actorId: string | null];

/**
 * How a template was sealed: its seq, previous hash and hash (the template's maker completes the
 * record with them), or, when its time had to be moved up to the previous record's, the whole
 * stored text.
 */
export type SealedWire = readonly [seq: number, prevHash: string, hash: string] | string;

/**
 * SQLite ran the INSERT of an audit record and stored nothing, without an error: a trigger on
 * audit_log that is not Countersign's (RAISE(IGNORE) before the INSERT) dropped it. The write it
 * belongs to fails, so nothing is done unrecorded, and the next record is not sealed onto one that
 * is not there.
 */
class AuditRecordDroppedError extends Error {
  constructor(file: string, seq: number, type: string) {
    super(
      `the audit record ${seq} (${type}) was not stored in ${file}: SQLite dropped its INSERT without an error, which only a trigger on audit_log that is not Countersign's does (RAISE(IGNORE)); nothing was changed. Run countersign audit verify, which names it, and drop it`,
    );
    this.name = 'AuditRecordDroppedError';
  }
}

/** A place in the chain: its head record, and that record's time (no record is sealed earlier). */
export interface ChainPlace {
  head: ChainHead | undefined;
  time: string | undefined;
}

export class TransactionChain implements WriteTx {
  /** Head inside the open transaction. */
  private txHead: ChainHead | undefined;
  /** The time of the head record inside the transaction. */
  private txTime: string | undefined;
  private readonly insertRecord: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly file: string,
    private readonly newId: () => string,
  ) {
    this.insertRecord = db.prepare(
      'INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Where the chain is now: kept before each write, put back (moveTo) when that write is rolled back alone. */
  place(): ChainPlace {
    return { head: this.txHead, time: this.txTime };
  }

  /** Starts from a place: the committed head when a transaction begins or fails. */
  moveTo(place: ChainPlace): void {
    this.txHead = place.head;
    this.txTime = place.time;
  }

  appendEvents(drafts: readonly AuditEventDraft[]): AuditRecord[] {
    return drafts.map((draft) => this.sealAndInsert(draft, this.newId()).record);
  }

  /**
   * Templates are sealed here, against the transaction's head: fill in seq and previous hash, hash
   * (sealedText). A template whose time is before the previous record's is sealed the long way from
   * its parsed record, so that the time never goes back (notBeforePrevious), as appendEvents does.
   */
  appendTemplates(templates: readonly WireTemplate[], placeholders: SealPlaceholders): SealedWire[] {
    return templates.map(([template, id, time, type, requestId, actorId]) => {
      if (this.txTime !== undefined && Date.parse(time) < Date.parse(this.txTime)) {
        return this.sealAndInsert(JSON.parse(template) as AuditEventDraft, id).text;
      }
      const seq = (this.txHead?.seq ?? 0) + 1;
      const prevHash = this.txHead?.hash ?? GENESIS_HASH;
      const { text, hash } = sealedText(template, seq, prevHash, placeholders);
      this.stored(this.insertRecord.run(seq, id, time, type, requestId, actorId, prevHash, hash, text), seq, type);
      this.txHead = { seq, hash };
      this.txTime = time;
      return [seq, prevHash, hash] as const;
    });
  }

  /** An INSERT of a record that stored no row was dropped by something in the database. */
  private stored(result: Database.RunResult, seq: number, type: string): void {
    if (result.changes !== 1) throw new AuditRecordDroppedError(this.file, seq, type);
  }

  private sealAndInsert(draft: AuditEventDraft, id: string): { record: AuditRecord; text: string } {
    const sealed = sealRecord(notBeforePrevious(draft, this.txTime), this.txHead, id);
    const { record, text } = sealed;
    this.stored(this.insertRecord.run(record.seq, record.id, record.time, record.type, record.request?.id ?? null, record.actor?.aadObjectId ?? null, record.prevHash, record.hash, text), record.seq, record.type);
    this.txHead = { seq: record.seq, hash: record.hash };
    this.txTime = record.time;
    return sealed;
  }
}
