/**
 * Fuzzing the config loader: whatever the file holds, loading it either succeeds or fails with a
 * ConfigError naming the file (and key and line where it can): never a TypeError, a stack trace or
 * a hang.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { ConfigError, parseConfig } from '../../src/config/load';
import { EXAMPLE_CONFIG } from '../support/harness';

const EXAMPLE = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
const LINES = EXAMPLE.split('\n');

function loadsOrExplains(text: string): void {
  try {
    parseConfig(text, EXAMPLE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      assert.fail(`not a config error: ${(err as Error)?.stack ?? String(err)}\n--- config ---\n${text.slice(0, 2000)}`);
    }
    assert.match(err.message, /^Invalid config /);
    assert.ok(err.message.includes(EXAMPLE_CONFIG), 'the message names the file');
  }
}

/** YAML that tends to upset loaders: aliases, tags, odd scalars, deep and long values. */
const nastyValue = fc.oneof(
  fc.constantFrom('~', 'null', '[]', '{}', '""', "''", '-', '? x', '!!binary AAAA', '!!str', '&a x', '*a', '*undefined', '<<: *a', '0x1F', '1e400', '-0', '.nan', '.inf', 'true', '2026-12-04', '__proto__', 'constructor', '{__proto__: {x: 1}}', '[[[[[[[[[[]]]]]]]]]]', '"\\u0000"', '|', '>-', '%YAML 1.1', '---', '...'),
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(LINES.length - 1) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(LINES.length - 1) }),
  fc.record({ kind: fc.constant('value' as const), at: fc.nat(LINES.length - 1), value: nastyValue }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(LINES.length - 1), line: fc.oneof(nastyValue, nastyValue.map((v) => `  ${v}: ${v}`)) }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(LINES.length - 1), by: fc.integer({ min: -4, max: 4 }) }),
);

function mutate(lines: string[], m: { kind: string; at: number; value?: string; line?: string; by?: number }): string[] {
  const out = [...lines];
  const line = out[m.at] ?? '';
  if (m.kind === 'delete') out.splice(m.at, 1);
  else if (m.kind === 'duplicate') out.splice(m.at, 0, line);
  else if (m.kind === 'value') out[m.at] = /:\s/.test(line) ? line.replace(/(:\s+).*$/, `$1${m.value}`) : line.replace(/(-\s+).*$/, `$1${m.value}`);
  else if (m.kind === 'insert') out.splice(m.at, 0, m.line ?? '');
  else out[m.at] = (m.by ?? 0) >= 0 ? ' '.repeat(m.by ?? 0) + line : line.replace(new RegExp(`^ {0,${-(m.by ?? 0)}}`), '');
  return out;
}

describe('the config loader under fuzzing', function () {
  this.timeout(60000);

  it('loads the example unchanged (the mutations start from a good file)', () => {
    parseConfig(EXAMPLE, EXAMPLE_CONFIG);
  });

  it('explains YAML that parses but cannot be resolved (an alias with no anchor) as a config error', () => {
    assert.throws(() => parseConfig('*!', EXAMPLE_CONFIG), (err: unknown) => err instanceof ConfigError && /YAML: Unresolved alias/.test(err.message));
  });

  it('explains, and never crashes on, arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })), (text) => loadsOrExplains(text)),
      { numRuns: 200 },
    );
  });

  it('explains, and never crashes on, the example with random lines deleted, repeated, re-indented or given odd values', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => loadsOrExplains(ms.reduce((lines, m) => mutate(lines, m), LINES).join('\n'))),
      { numRuns: 120 },
    );
  });
});
