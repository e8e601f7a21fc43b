import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load';

const FIXTURES = path.resolve(__dirname, '../fixtures/config');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

const BASE = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
/** Where configWith's text is said to come from. */
export const POLICY_FILE = fixture('reach.yaml');

/** valid-minimal.yaml with `extra` lines added to the first command's policy (and `defaults` when given). */
export function configWith(policyLines: string[], defaults: string[] = []): string {
  const text = BASE.replace('      approverRoles: [approvers]\n  - name: deploy app', ['      approverRoles: [approvers]', ...policyLines.map((l) => `      ${l}`), '  - name: deploy app'].join('\n'));
  const withRole = text.replace('roles:\n', 'roles:\n  leads:\n    - 55555555-5555-4555-8555-555555555555\n');
  return defaults.length ? withRole.replace('commands:\n', ['defaults:', ...defaults.map((l) => `  ${l}`), 'commands:', ''].join('\n')) : withRole;
}

export function problemsOf(text: string): { key: string; line?: number; problem: string }[] {
  try {
    parseConfig(text, POLICY_FILE);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the config loaded');
}

export function lineIn(text: string, written: string): number {
  return text.split('\n').findIndex((l) => l.trim() === written) + 1;
}


/**
 * The 1-based line of a fixture that reads `text` (ignoring indentation): the only such line, or
 * the nth when `at` is [text, n].
 */
export function lineOf(name: string, at: string | [string, number]): number {
  const [text, nth] = typeof at === 'string' ? [at, 0] : at;
  const lines = fs.readFileSync(fixture(name), 'utf8').split('\n');
  const found = lines.flatMap((l, i) => (l.trim() === text ? [i + 1] : []));
  if (nth === 0) assert.equal(found.length, 1, `expected exactly one line "${text}" in ${name}, found ${found.length}`);
  else assert.ok(found.length >= nth, `expected at least ${nth} lines "${text}" in ${name}, found ${found.length}`);
  return found[Math.max(nth - 1, 0)];
}

export function configErrorFrom(name: string): ConfigError {
  try {
    loadConfig(fixture(name));
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`${name} loaded without a ConfigError`);
}

export interface Expected {
  /** The dotted key the problem is reported at. */
  key: string;
  /** The fixture line (trimmed) the problem must point to, or [line, n] for its nth occurrence. */
  at: string | [string, number];
  problem: RegExp;
}

/**
 * Loads a malformed fixture and checks that the error names the file, the key, the line and the
 * problem, both in its fields and in the message a person reads. Each fixture breaks the valid
 * one in a single way, so exactly one problem is expected unless `others` says more.
 */
export function assertRefused(name: string, expected: Expected, others = 0): void {
  const err = configErrorFrom(name);
  const file = fixture(name);
  assert.equal(err.file, file);
  assert.equal(err.problems.length, 1 + others, `problems: ${JSON.stringify(err.problems)}`);
  const found = err.problems.find((p) => p.key === expected.key);
  assert.ok(found, `no problem at ${expected.key}; got ${err.problems.map((p) => p.key).join(', ')}`);
  assert.match(found.problem, expected.problem);
  const line = lineOf(name, expected.at);
  assert.equal(found.line, line, `${expected.key} should point at line ${line} (${JSON.stringify(expected.at)})`);
  assert.ok(err.message.includes(`${file}:${line}: ${expected.key}: ${found.problem}`), err.message);
}
