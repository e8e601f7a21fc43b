/**
 * Fuzz of the command parser (interpret and the catalog matcher): whatever is typed, it never throws
 * and answers only with one of its kinds; a command it recognises comes back unknown, incomplete or
 * ready, and the values it calls ready pass the parameter checks (no line breaks, controls, bidi or
 * invisible characters, nothing past its limit). A fixed seed and number of runs keep the suite's time bounded.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { interpret } from '../../src/app/interpret';
import { loadConfig } from '../../src/config/load';
import { checkValue } from '../../src/domain/catalog';
import { INPUT_LIMITS } from '../../src/domain/input-limits';
import { firstInvisibleCharacter, firstLayoutCharacter } from '../../src/domain/text-safety';
import { EXAMPLE_CONFIG } from '../support/harness';

const config = loadConfig(EXAMPLE_CONFIG);
const deps = { config };
const KINDS = new Set(['empty', 'builtin', 'status', 'audit', 'delegate', 'delegations', 'revoke-delegation', 'extra-words', 'unknown', 'incomplete', 'ready']);
const BUILTIN_WORDS = new Set(['help', '?', 'pending', 'status', 'audit', 'delegate', 'delegations', 'revoke']);

const NASTY = ['\n', '\r', '\u2028', '\u2029', '\u0085', '\u202e', '\u2066', '\u200f', '\u061c', '\u0000', '\u200b', '\ufe0f', '\u{e0041}', '\t', '"', '=', 'reason:', 'REASON: ', '${x}', '<at>Countersign</at>', '😀', '\ud800'];
const commandWords = config.catalog.commands.flatMap((c) => c.name.split(' '));
const parameterNames = config.catalog.commands.flatMap((c) => c.parameters.map((p) => p.name));

/** Words that look like commands: catalog words, name=value pairs, quotes, reasons and nasty characters. */
const word = fc.oneof(
  fc.constantFrom(...commandWords),
  fc.tuple(fc.constantFrom(...parameterNames), fc.string({ maxLength: 12 })).map(([n, v]) => `${n}=${v}`),
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const commandish = fc.tuple(fc.constantFrom(...config.catalog.commands.map((c) => c.name)), fc.array(word, { maxLength: 8 }), fc.constantFrom(' ', '  ', '\t', '\n')).map(([name, rest, sep]) => [name, ...rest].join(sep));
const anything = fc.oneof(commandish, fc.array(word, { maxLength: 10 }).map((w) => w.join(' ')), fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }));

const RUNS = { numRuns: 400, seed: 12_022_026 };

describe('command parser fuzz', () => {
  it('never throws and answers only with its kinds, whatever the text', () => {
    fc.assert(
      fc.property(anything, (text) => {
        const what = interpret(deps, text);
        assert.ok(KINDS.has(what.kind), what.kind);
      }),
      RUNS,
    );
  });

  it('answers a recognisable command unknown, incomplete or ready, and ready values pass the parameter checks', () => {
    fc.assert(
      fc.property(commandish, (text) => {
        const what = interpret(deps, text);
        const first = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
        if (BUILTIN_WORDS.has(first)) return;
        assert.ok(['unknown', 'incomplete', 'ready'].includes(what.kind), `${what.kind} for ${JSON.stringify(text)}`);
        if (what.kind === 'ready' || what.kind === 'incomplete') assert.ok(config.catalog.find(what.command.name));
        if (what.kind === 'ready') {
          for (const spec of what.command.parameters) {
            const v: string | undefined = what.values[spec.name];
            assert.equal(typeof v, 'string', spec.name);
            assert.equal(firstLayoutCharacter(v), undefined, `${spec.name}=${JSON.stringify(v)}`);
            assert.equal(firstInvisibleCharacter(v, 'parameter'), undefined, `${spec.name}=${JSON.stringify(v)}`);
            assert.ok(v.length <= INPUT_LIMITS.parameterValue);
            assert.equal(checkValue(spec, v), undefined, `${spec.name}=${JSON.stringify(v)}`);
          }
        }
      }),
      RUNS,
    );
  });
});
