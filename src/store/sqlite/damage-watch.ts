/**
 * The main thread's connection, watched for a file that no longer reads as a database. Every read
 * on it (a statement's get, all, run or iteration, a pragma) that fails with SQLITE_CORRUPT or
 * SQLITE_NOTADB is told to `onDamage` before the error goes on to its caller: a sweep, a reminder or
 * the look at the indexes reads the file too, and its failure is only logged, so the store must hear
 * of it from here, not from the callers that happen to ask what kind of failure it was.
 */
import type Database from 'better-sqlite3';
import { isDamaged } from './write-lock';

function watched<T>(run: () => T, onDamage: (err: unknown) => void): T {
  try {
    return run();
  } catch (err) {
    if (isDamaged(err)) onDamage(err);
    throw err;
  }
}

function watchedIterator<T>(it: IterableIterator<T>, onDamage: (err: unknown) => void): IterableIterator<T> {
  const wrapped: IterableIterator<T> = {
    next: (...args: [] | [undefined]) => watched(() => it.next(...args), onDamage),
    return: (value?: unknown) => (it.return ? it.return(value) : { done: true, value: undefined as T }),
    [Symbol.iterator]: () => wrapped,
  };
  return wrapped;
}

function watchedStatement(stmt: Database.Statement, onDamage: (err: unknown) => void): Database.Statement {
  const proxy: Database.Statement = new Proxy(stmt, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out = watched(() => (value as (...a: unknown[]) => unknown).apply(target, args), onDamage);
        if (out === target) return proxy; // pluck(), raw(), bind() ... return the statement itself
        if (prop === 'iterate') return watchedIterator(out as IterableIterator<unknown>, onDamage);
        return out;
      };
    },
  });
  return proxy;
}

/** `db`, whose reads tell `onDamage` of a file that no longer reads as a database. */
export function watchForDamage(db: Database.Database, onDamage: (err: unknown) => void): Database.Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out = watched(() => (value as (...a: unknown[]) => unknown).apply(target, args), onDamage);
        return prop === 'prepare' ? watchedStatement(out as Database.Statement, onDamage) : out;
      };
    },
  });
}
