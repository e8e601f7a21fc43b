/**
 * Delegations in SQLite: the whole delegation as JSON plus the columns the queries need. A change
 * goes through the group committer with its audit events; its checks run inside the write, where
 * no other writer can interleave (one SQLite writer at a time).
 */
import type Database from 'better-sqlite3';
import type { DelegationStore } from '../../app/ports';
import type { AuditRecord } from '../../domain/audit';
import type { Delegation, DelegationChange } from '../../domain/delegation';
import type { StoreWriter } from './writer';

export class SqliteDelegationStore implements DelegationStore {
  private readonly inForceStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly receivedSinceStmt: Database.Statement;
  private readonly ranOutStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: StoreWriter,
  ) {
    this.inForceStmt = db.prepare('SELECT body FROM delegations WHERE ended_at IS NULL AND until > ? ORDER BY created_at, rowid').pluck();
    this.getStmt = db.prepare('SELECT body FROM delegations WHERE id = ?').pluck();
    this.ranOutStmt = db.prepare('SELECT body FROM delegations WHERE ended_at IS NULL AND until > ? AND until <= ? ORDER BY created_at, rowid').pluck();
    this.receivedSinceStmt = db.prepare('SELECT body FROM delegations WHERE delegate_id = @delegate AND until > @since AND (ended_at IS NULL OR ended_at > @since) ORDER BY created_at, rowid').pluck();
  }

  async record(change: DelegationChange): Promise<AuditRecord[]> {
    const { created, ended } = change;
    return (await this.writer.submit('recordDelegation', [{ ...(created ? { created } : {}), ended }], change.events)).records;
  }

  async inForce(at: string): Promise<Delegation[]> {
    return (this.inForceStmt.all(at) as string[]).map((body) => JSON.parse(body) as Delegation);
  }

  async receivedSince(delegateId: string, since: string): Promise<Delegation[]> {
    return (this.receivedSinceStmt.all({ delegate: delegateId.toLowerCase(), since }) as string[]).map((body) => JSON.parse(body) as Delegation);
  }

  async ranOutSince(since: string, at: string): Promise<Delegation[]> {
    return (this.ranOutStmt.all(since, at) as string[]).map((body) => JSON.parse(body) as Delegation).filter((d) => !d.cardsWithdrawnAt);
  }

  async takeCardsWithdrawal(id: string, at: string, staleBefore: string): Promise<boolean> {
    return (await this.writer.submit('takeDelegationCards', [id, at, staleBefore])).value;
  }

  async markCardsWithdrawn(id: string, at: string): Promise<boolean> {
    return (await this.writer.submit('markDelegationCardsWithdrawn', [id, at])).value;
  }

  async get(id: string): Promise<Delegation | undefined> {
    const body = this.getStmt.get(id) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as Delegation);
  }
}

