/**
 * Log lines for a person at a terminal: "15:31:02 INFO  request created  requestId=CS-7K3M9QXW
 * command=deploy". pino writes the same JSON line as always (redacted and scrubbed of secrets first);
 * this only reshapes it. Anywhere else (a container, a file, a pipe) the JSON lines stay as they are.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 40: '\u001b[33m', 50: '\u001b[31m', 60: '\u001b[31m' };
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
/** Keys every line carries, said by the line's shape instead. */
const QUIET = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/**
 * Characters a terminal acts on instead of showing (C0 and C1 controls, ESC among them, and the
 * bidirectional overrides): written as \uXXXX, so that a value someone sent cannot move the cursor,
 * erase or hide lines, or reorder what is shown.
 */
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function inert(text: string): string {
  return text.replace(ACTIVE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shown(v: unknown): string {
  return typeof v === 'string' && !/\s/.test(v) ? inert(v) : inert(JSON.stringify(v) ?? String(v));
}

export function prettyLine(json: string, colour = true): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof o.level === 'number' ? o.level : 30;
  const time = typeof o.time === 'string' ? o.time.slice(11, 19) : '';
  const fields = Object.entries(o)
    .filter(([k]) => !QUIET.has(k))
    .map(([k, v]) => `${inert(k)}=${shown(v)}`)
    .join(' ');
  const name = LEVELS[level] ?? String(level);
  const tint = colour ? (COLOURS[level] ?? '') : '';
  const head = `${colour ? DIM : ''}${time}${colour ? RESET : ''} ${tint}${name}${tint ? RESET : ''} ${inert(String(o.msg ?? ''))}`;
  return `${head}${fields ? `  ${colour ? DIM : ''}${fields}${colour ? RESET : ''}` : ''}\n`;
}

/** A pino destination printing readable lines to a terminal stream. */
export function prettyDestination(out: NodeJS.WritableStream & { hasColors?: () => boolean }): DestinationStream {
  const colour = typeof out.hasColors === 'function' ? out.hasColors() : false;
  return {
    write(line: string) {
      for (const one of line.split('\n')) if (one.trim()) out.write(prettyLine(one, colour));
    },
  };
}
