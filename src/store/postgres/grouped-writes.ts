/**
 * One transaction for several request writes (PgWriter.write): each write runs in a savepoint, so a
 * write that fails (a version conflict, a missing request) is undone alone and keeps its own
 * outcome; the audit records of the others go in one append with the COMMIT. No write's outcome is
 * told before that COMMIT (a group retried on a new connection runs every write again). A write
 * that ran out of time waiting for a lock (a row another session holds) fails alone too, told as
 * `refused` makes it: the others' rows may be free, and each of them may wait for a lock only what
 * is left of the group's one wait, so a table held for all of them fails each at once.
 */
import type { SealTemplate } from '../../audit/chain/chain';
import type { AuditRecord } from '../../domain/audit';
import { templatesOf } from './chain-append';
import { isLockTimeout } from './lock-wait';
import { isConnectionError, type PgTx } from './tx';

export interface GroupedWrite {
  key: string;
  work: (tx: PgTx) => Promise<unknown>;
}

type Outcome = { value: unknown } | { error: unknown };

/** A write whose statements ran and whose templates wait for the group's commit. */
interface Staged {
  index: number;
  templates: SealTemplate[];
  done: Promise<Outcome>;
  give: (records: AuditRecord[]) => void;
}

const appendsLast = () => Promise.reject(new Error('a grouped write appends its events last, with appendEvents'));

/** Runs one write in the group's transaction up to its append; undefined when it already ended. */
async function runOne(tx: PgTx, write: GroupedWrite, index: number, newId: () => string): Promise<Staged | Outcome> {
  let templates: SealTemplate[] | undefined;
  let give!: (records: AuditRecord[]) => void;
  const records = new Promise<AuditRecord[]>((resolve) => (give = resolve));
  let staged!: () => void;
  const ready = new Promise<void>((resolve) => (staged = resolve));
  const view: PgTx = {
    query: (sql, params) => (templates ? Promise.reject(new Error('appendEvents must be the last statement of a write')) : tx.query(sql, params)),
    appendEvents: async (drafts) => {
      const made = templatesOf(drafts, newId);
      if (!made.length) return [];
      templates = made;
      staged();
      return records;
    },
    appendEventsNow: appendsLast,
    appendGroups: appendsLast,
    stage: appendsLast,
    rollbackTo: () => Promise.reject(new Error('a grouped write is undone by its group')),
  };
  const done = write.work(view).then(
    (value): Outcome => ({ value }),
    (error: unknown): Outcome => ({ error }),
  );
  const first = await Promise.race([done, ready.then(() => undefined)]);
  if (first) return first;
  return { index, templates: templates!, done, give };
}

export async function runWriteGroup(tx: PgTx, writes: readonly GroupedWrite[], newId: () => string, refused: (lockTimeout: unknown) => Promise<unknown> = async (e) => e): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const staged: Staged[] = [];
  for (const [index, write] of writes.entries()) {
    await tx.query(index === 0 ? 'SAVEPOINT write' : 'RELEASE SAVEPOINT write; SAVEPOINT write');
    const ran = await runOne(tx, write, index, newId);
    if ('templates' in ran) {
      staged.push(ran);
      continue;
    }
    if ('error' in ran) {
      // A broken connection fails the whole group (retried as one); anything else this write alone,
      // a lock its wait ran out on too (before, that failed every write of the group, clicks on
      // requests nobody held among them, because another session held one request's row).
      if (isConnectionError(ran.error)) throw ran.error;
      await tx.rollbackTo('write');
      if (isLockTimeout(ran.error)) {
        outcomes[index] = { error: await refused(ran.error) };
        continue;
      }
    }
    outcomes[index] = ran;
  }
  const records = await tx.stage(staged.flatMap((s) => s.templates));
  let at = 0;
  for (const s of staged) {
    s.give(records.slice(at, (at += s.templates.length)));
    outcomes[s.index] = await s.done;
  }
  return outcomes;
}
