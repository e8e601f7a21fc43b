/**
 * Delegations in PostgreSQL. A change takes a transaction advisory lock on its delegator first, so
 * of two instances adding a delegation for the same person at once, the second waits, then finds
 * the first one's delegation in force and refuses with a conflict (the use case decides again).
 */
import { DelegationConflictError, type DelegationStore } from '../../app/ports';
import type { AuditRecord } from '../../domain/audit';
import type { Delegation, DelegationChange } from '../../domain/delegation';
import { delegationColumns } from '../delegation-row';
import type { PgWriter } from './transactions';
import { isUniqueViolation } from './tx';

/** The advisory lock's first key (the second is the delegator's hash): delegation writes only. */
const DELEGATOR_LOCK_SPACE = 4_771;

export class PostgresDelegationStore implements DelegationStore {
  constructor(private readonly writer: PgWriter) {}

  record(change: DelegationChange): Promise<AuditRecord[]> {
    const delegators = [...new Set([...change.ended, ...(change.created ? [change.created] : [])].map((d) => d.delegator.aadObjectId.toLowerCase()))].sort();
    return this.writer.transaction(async (tx) => {
      for (const id of delegators) await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DELEGATOR_LOCK_SPACE, id]);
      for (const d of change.ended) {
        const r = await tx.query('UPDATE delegations SET ended_at = $2, body = $3 WHERE id = $1 AND ended_at IS NULL', [d.id, d.ended?.at ?? null, JSON.stringify(d)]);
        if (r.rowCount !== 1) throw new DelegationConflictError(d.delegator.aadObjectId);
      }
      const created = change.created;
      if (created) {
        const c = delegationColumns(created);
        const open = await tx.query('SELECT 1 FROM delegations WHERE delegator_id = $1 AND ended_at IS NULL AND until > $2', [c.delegatorId, c.createdAt]);
        if ((open.rowCount ?? 0) > 0) throw new DelegationConflictError(c.delegatorId);
        try {
          await tx.query('INSERT INTO delegations (id, delegator_id, delegate_id, created_at, until, body) VALUES ($1, $2, $3, $4, $5, $6)', [
            c.id,
            c.delegatorId,
            c.delegateId,
            c.createdAt,
            c.until,
            JSON.stringify(created),
          ]);
        } catch (err) {
          // Its id taken: one derived from a message, which another sending of it already used.
          if (isUniqueViolation(err)) throw new DelegationConflictError(c.delegatorId);
          throw err;
        }
      }
      return tx.appendEvents(change.events);
    });
  }

  async inForce(at: string): Promise<Delegation[]> {
    const r = await this.writer.pool.query<{ body: string }>('SELECT body FROM delegations WHERE ended_at IS NULL AND until > $1 ORDER BY created_at, id', [at]);
    return r.rows.map((row) => JSON.parse(row.body) as Delegation);
  }

  async receivedSince(delegateId: string, since: string): Promise<Delegation[]> {
    const r = await this.writer.pool.query<{ body: string }>(
      'SELECT body FROM delegations WHERE delegate_id = $1 AND until > $2 AND (ended_at IS NULL OR ended_at > $2) ORDER BY created_at, id',
      [delegateId.toLowerCase(), since],
    );
    return r.rows.map((row) => JSON.parse(row.body) as Delegation);
  }

  async ranOutSince(since: string, at: string): Promise<Delegation[]> {
    const r = await this.writer.pool.query<{ body: string }>('SELECT body FROM delegations WHERE ended_at IS NULL AND until > $1 AND until <= $2 ORDER BY created_at, id', [since, at]);
    return r.rows.map((row) => JSON.parse(row.body) as Delegation).filter((d) => !d.cardsWithdrawnAt);
  }

  async takeCardsWithdrawal(id: string, at: string, staleBefore: string): Promise<boolean> {
    // One statement: of instances taking it at once, the row lock lets one through, the others re-check and find it taken now.
    const r = await this.writer.transaction((tx) =>
      tx.query(
        "UPDATE delegations SET body = (body::jsonb || jsonb_build_object('cardsTakenAt', $2::text))::text WHERE id = $1 AND NOT (body::jsonb ? 'cardsWithdrawnAt') AND (NOT (body::jsonb ? 'cardsTakenAt') OR body::jsonb->>'cardsTakenAt' <= $3::text)",
        [id, at, staleBefore],
      ),
    );
    return r.rowCount === 1;
  }

  async markCardsWithdrawn(id: string, at: string): Promise<boolean> {
    // One statement: of instances marking it at once, the row lock lets one through, the others re-check and find it set.
    const r = await this.writer.transaction((tx) =>
      tx.query("UPDATE delegations SET body = (body::jsonb || jsonb_build_object('cardsWithdrawnAt', $2::text))::text WHERE id = $1 AND NOT (body::jsonb ? 'cardsWithdrawnAt')", [id, at]),
    );
    return r.rowCount === 1;
  }

  async get(id: string): Promise<Delegation | undefined> {
    const r = await this.writer.pool.query<{ body: string }>('SELECT body FROM delegations WHERE id = $1', [id]);
    return r.rows[0] ? (JSON.parse(r.rows[0].body) as Delegation) : undefined;
  }
}
