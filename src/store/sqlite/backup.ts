/**
 * An online backup of the SQLite store: SQLite's backup API copies the database page by page while
 * the bot keeps writing (a write restarts nothing: better-sqlite3 steps the copy between writes), and
 * the copy is a consistent database that `countersign audit verify` checks like the original.
 */
import { existsSync } from 'node:fs';
import { openReadOnly } from './connection';

export class BackupTargetExistsError extends Error {
  constructor(readonly target: string) {
    super(`${target} already exists: a backup never overwrites a file; choose a new name`);
    this.name = 'BackupTargetExistsError';
  }
}

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

export async function backupSqliteStore(file: string, target: string, onProgress?: (p: BackupProgress) => void): Promise<void> {
  if (existsSync(target)) throw new BackupTargetExistsError(target);
  const db = openReadOnly(file);
  try {
    await db.backup(target, {
      progress: (p) => {
        onProgress?.(p);
        return 200;
      },
    });
  } finally {
    db.close();
  }
}
