import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import type { SqliteStore } from '../../src/store/sqlite';
import { tempDir } from './fixtures';
import { storeContract } from './store-contract';
import type { StoreHarness } from './store-contract';

/**
 * A SQLite store in a fresh temp file, with small pages so paging is exercised; writes on the writer
 * thread (the bot's) unless `writer` says inline (the CLI's).
 */
export async function sqliteHarness(writer: 'thread' | 'inline' = 'thread'): Promise<StoreHarness & { file: string }> {
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'countersign.db');
  let store: SqliteStore = await openSqliteStore({ file, pageSize: 7, writer });
  const withConnection = async <T>(fn: (db: Database.Database) => T): Promise<T> => {
    const db = new Database(file);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const harness = {
    file,
    store,
    async reopen() {
      await store.close();
      store = await openSqliteStore({ file, pageSize: 7, writer });
      harness.store = store;
      return store;
    },
    exec: (sql: string) => withConnection((db) => void db.exec(sql)),
    query: (sql: string) => withConnection((db) => db.prepare(sql).all() as Record<string, unknown>[]),
    async cleanup() {
      await store.close();
      tmp.remove();
    },
  };
  return harness;
}

storeContract('SQLite', () => sqliteHarness());
storeContract('SQLite, inline writer', () => sqliteHarness('inline'));
