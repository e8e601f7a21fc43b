/**
 * botbuilder writes some failures straight to the console (`console.error(err)` with its stack when
 * a token has expired or a signing key is missing), which would put raw multi-line text between the
 * JSON log lines. In the running process the console is routed into the logger: one JSON line each,
 * the first line of the text only (a stack says nothing a caller should see, and token text may
 * follow it).
 */
import { format } from 'node:util';
import type { Logger } from './context';

const MAX_TEXT = 500;

function firstLine(args: unknown[]): string {
  const first = args[0] instanceof Error ? `${args[0].name}: ${args[0].message}` : format(...args);
  return first.split(/\r?\n/)[0].slice(0, MAX_TEXT);
}

/** Routes console.error and console.warn to the logger; returns a function that puts them back. */
export function routeConsoleToLog(log: Logger, target: Pick<Console, 'error' | 'warn'> = console): () => void {
  const original = { error: target.error, warn: target.warn };
  target.error = (...args: unknown[]) => log.error({ source: 'console', text: firstLine(args) }, 'library error');
  target.warn = (...args: unknown[]) => log.warn({ source: 'console', text: firstLine(args) }, 'library warning');
  return () => {
    target.error = original.error;
    target.warn = original.warn;
  };
}
