/**
 * Delegations in SQLite: the whole delegation as JSON plus the columns the queries need. A change
 * goes through the group committer with its audit events; its checks run inside the write, where
 * no other writer can interleave (one SQLite writer at a time).
 */
import type Database from 'better-sqlite3';
import { DelegationConflictError, type DelegationStore } from '../../app/ports';
import type { AuditRecord } from '../../domain/audit';
import type { Delegation, DelegationChange } from '../../domain/delegation';
import { delegationColumns } from '../delegation-row';
import type { GroupCommitWriter } from './group-commit';

export class SqliteDelegationStore implements DelegationStore {
  private readonly insertStmt: Database.Statement;
  private readonly endStmt: Database.Statement;
  private readonly openOfStmt: Database.Statement;
  private readonly inForceStmt: Database.Statement;
  private readonly getStmt: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly writer: GroupCommitWriter,
  ) {
    this.insertStmt = db.prepare(
      'INSERT INTO delegations (id, delegator_id, delegate_id, created_at, until, body) VALUES (@id, @delegatorId, @delegateId, @createdAt, @until, @body)',
    );
    this.endStmt = db.prepare('UPDATE delegations SET ended_at = @endedAt, body = @body WHERE id = @id AND ended_at IS NULL');
    this.openOfStmt = db.prepare('SELECT id FROM delegations WHERE delegator_id = ? AND ended_at IS NULL AND until > ?').pluck();
    this.inForceStmt = db.prepare('SELECT body FROM delegations WHERE ended_at IS NULL AND until > ? ORDER BY created_at, rowid').pluck();
    this.getStmt = db.prepare('SELECT body FROM delegations WHERE id = ?').pluck();
  }

  record(change: DelegationChange): Promise<AuditRecord[]> {
    return this.writer.submit((tx) => {
      for (const d of change.ended) {
        if (this.endStmt.run({ id: d.id, endedAt: d.ended?.at ?? null, body: JSON.stringify(d) }).changes !== 1) throw new DelegationConflictError(d.delegator.aadObjectId);
      }
      const created = change.created;
      if (created) {
        const delegatorId = created.delegator.aadObjectId.toLowerCase();
        if (this.openOfStmt.all(delegatorId, created.createdAt).length > 0) throw new DelegationConflictError(delegatorId);
        this.insertStmt.run({ ...delegationColumns(created), body: JSON.stringify(created) });
      }
      return tx.appendEvents(change.events);
    });
  }

  async inForce(at: string): Promise<Delegation[]> {
    return (this.inForceStmt.all(at) as string[]).map((body) => JSON.parse(body) as Delegation);
  }

  async get(id: string): Promise<Delegation | undefined> {
    const body = this.getStmt.get(id) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as Delegation);
  }
}

