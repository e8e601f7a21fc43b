/**
 * Dialog state (a form in progress) in PostgreSQL, so a form started on one instance can be finished
 * on another. The shape is botbuilder's Storage (read, write, delete of JSON items with an eTag),
 * written here without importing botbuilder: the Teams layer hands it to its ConversationState.
 * An item written with an eTag other than '*' is saved only if the stored one still has that eTag.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

export type StateItems = Record<string, { eTag?: string } & Record<string, unknown>>;

class StateConflictError extends Error {
  constructor(readonly key: string) {
    super(`the dialog state ${key} was changed by someone else (eTag conflict)`);
    this.name = 'StateConflictError';
  }
}

export class PostgresDialogStateStore {
  constructor(private readonly pool: pg.Pool) {}

  async read(keys: string[]): Promise<StateItems> {
    if (keys.length === 0) return {};
    const r = await this.pool.query<{ key: string; value: string; etag: string }>('SELECT key, value, etag FROM dialog_state WHERE key = ANY($1::text[])', [keys]);
    const items: StateItems = {};
    for (const row of r.rows) items[row.key] = { ...(JSON.parse(row.value) as Record<string, unknown>), eTag: row.etag };
    return items;
  }

  async write(changes: StateItems): Promise<void> {
    for (const [key, item] of Object.entries(changes)) {
      const { eTag, ...value } = item;
      const text = JSON.stringify(value);
      const next = randomUUID();
      if (eTag && eTag !== '*') {
        const r = await this.pool.query('UPDATE dialog_state SET value = $2, etag = $3, updated_at = now() WHERE key = $1 AND etag = $4', [key, text, next, eTag]);
        if (r.rowCount === 1) continue;
        const exists = await this.pool.query('SELECT 1 FROM dialog_state WHERE key = $1', [key]);
        if (exists.rowCount) throw new StateConflictError(key);
      }
      await this.pool.query(
        `INSERT INTO dialog_state (key, value, etag) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, updated_at = now()`,
        [key, text, next],
      );
    }
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length) await this.pool.query('DELETE FROM dialog_state WHERE key = ANY($1::text[])', [keys]);
  }
}
