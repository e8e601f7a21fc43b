/**
 * The logger as every layer sees it, and the asynchronous scope whose ids every line inherits. No
 * logging library here: the use cases log through this interface; `logger.ts` implements it with pino.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Ids that a log line inherits from the request, activity or execution it belongs to. */
export type LogBindings = Record<string, string | number | undefined>;

const scope = new AsyncLocalStorage<LogBindings>();

/** Runs `fn` with `bindings` added to every line logged inside it (nested scopes add to outer ones). */
export function withLogContext<T>(bindings: LogBindings, fn: () => T): T {
  const defined = Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined && v !== ''));
  return scope.run({ ...scope.getStore(), ...defined }, fn);
}

/** The bindings of the current scope (empty outside any). */
export function currentLogContext(): LogBindings {
  return scope.getStore() ?? {};
}

