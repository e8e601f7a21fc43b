/**
 * Why a PostgreSQL writer stops writing for good: the audit log went back or was rewritten under the
 * running instances, a part of the schema is gone, or this host's clock is too far from the
 * database's. And what of the schema an error says is missing.
 */
import type { AuditLogRewrittenError } from '../audit-rewritten';

/**
 * The audit log went back below a record this instance committed or saw: the tables were emptied,
 * truncated or replaced under the running instances. Nothing more is written (the next start's
 * continuity check names what is missing).
 */
export class AuditLogRewoundError extends Error {
  /** `signed`: the checkpoint file (shared by the instances) named record `highestSeq`, not this instance. */
  constructor(target: string, readonly highestSeq: number, readonly nowSeq: number, signed = false) {
    super(
      signed
        ? `the audit log of ${target} went back: the checkpoint file signed record ${highestSeq}, and the log now ends at record ${nowSeq} (the database was restored from an earlier backup or dump, or its tables emptied, while Countersign ran: the records after ${nowSeq} are not in it); nothing more is written: Countersign must be restarted`
        : `the audit log of ${target} went back: this instance had seen it reach record ${highestSeq}, and it went back to record ${nowSeq} (its tables were emptied, truncated or replaced while Countersign ran); nothing more is written: Countersign must be restarted`,
    );
    this.name = 'AuditLogRewoundError';
  }
}

/**
 * A table or function of Countersign's schema is gone from the database under the running instances
 * (dropped or renamed): nothing more is written, as when the log went back.
 */
export class StoreSchemaGoneError extends Error {
  constructor(target: string, readonly missing: string) {
    super(`${missing} is gone from ${target} (dropped or renamed while Countersign ran): nothing more is written. Countersign must be restarted once the database is restored from a backup (docs/faults.md)`);
    this.name = 'StoreSchemaGoneError';
  }
}

/** This host's clock is too far from the database's to decide anything by it (readiness.ts). */
export class StoreClockSkewError extends Error {
  constructor(target: string, problem: string) {
    super(`${target}: ${problem}. Nothing more is written by this instance: restart it once its clock is right (docs/faults.md)`);
    this.name = 'StoreClockSkewError';
  }
}

/** Why a writer stopped writing for good. */
export type WriterStop = AuditLogRewoundError | AuditLogRewrittenError | StoreSchemaGoneError | StoreClockSkewError;

/** What of the schema an error says is missing (SQLSTATE 42P01 undefined_table, 42883 undefined_function), in words. */
export function missingFromSchema(err: unknown): string | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (code === '42P01') return `the table ${/relation "([^"]+)"/.exec(text)?.[1] ?? '(unnamed)'}`;
  if (code === '42883') return `the function ${/function (\S+\(.*?\))/.exec(text)?.[1] ?? '(unnamed)'}`;
  return undefined;
}
