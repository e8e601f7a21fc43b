/**
 * What someone with write access to a SQLite file can do to the audit log without touching a record
 * or a trigger (secsurface review, round 11, finding 2): make its index by request or by actor again
 * so that it leaves chosen records out, then put its definition text back as the migrations wrote it
 * (writable_schema), so that the schema shows nothing. Reads through that index no longer see them.
 */
import Database from 'better-sqlite3';

const INDEXES = {
  request: { name: 'audit_log_request', columns: '(request_id, seq)', where: 'request_id IS NOT NULL' },
  actor: { name: 'audit_log_actor_folded', columns: '(lower(actor_id), seq)', where: 'actor_id IS NOT NULL' },
} as const;

/** Rebuilds each named index without the records at the seqs given, its stored definition left as it was. */
export function indexesLeavingOut(file: string, leaveOut: { request?: number[]; actor?: number[] }): void {
  const db = new Database(file);
  try {
    db.unsafeMode(true);
    for (const [which, seqs] of Object.entries(leaveOut) as [keyof typeof INDEXES, number[]][]) {
      const { name, columns, where } = INDEXES[which];
      const made = `CREATE INDEX ${name} ON audit_log ${columns} WHERE ${where}`;
      db.exec(`DROP INDEX ${name}; ${made} AND seq NOT IN (${seqs.join(', ')});`);
      db.pragma('writable_schema = ON');
      db.prepare('UPDATE sqlite_master SET sql = ? WHERE name = ?').run(made, name);
      db.pragma('writable_schema = OFF');
    }
  } finally {
    db.close();
  }
}

/**
 * The same on PostgreSQL, as SQL for a superuser (an owner cannot: the planner uses a partial index
 * only where a query's WHERE implies its own): audit_log_request made again without the records at
 * the seqs given, then its predicate in pg_index replaced by the one Countersign's has (taken from a
 * scratch index), so that pg_get_indexdef shows it as the migrations made it.
 */
export function postgresRequestIndexLeavingOut(seqs: number[]): string {
  return `DROP INDEX audit_log_request;
    CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL AND seq NOT IN (${seqs.join(', ')});
    CREATE INDEX scratch_predicate ON audit_log (request_id) WHERE request_id IS NOT NULL;
    UPDATE pg_index SET indpred = (SELECT indpred FROM pg_index WHERE indexrelid = 'scratch_predicate'::regclass) WHERE indexrelid = 'audit_log_request'::regclass;
    DROP INDEX scratch_predicate;`;
}
