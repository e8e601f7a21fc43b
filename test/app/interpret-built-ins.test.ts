/** The built-in commands take the words they name and no more: extra words are refused, not dropped. */
import assert from 'node:assert/strict';
import { interpret } from '../../src/app/interpret';
import { Catalog } from '../../src/domain/catalog';
import { loadConfig } from '../../src/config/load';
import { EXAMPLE_CONFIG } from '../support/harness';

const deps = { config: loadConfig(EXAMPLE_CONFIG) };

describe('built-in commands and words they do not take', () => {
  it('takes each built-in with its own words', () => {
    assert.deepEqual(interpret(deps, 'pending'), { kind: 'builtin', name: 'pending' });
    assert.deepEqual(interpret(deps, 'status CS-ABCDEFGH'), { kind: 'status', requestId: 'CS-ABCDEFGH' });
    assert.deepEqual(interpret(deps, 'delegations'), { kind: 'delegations' });
    assert.deepEqual(interpret(deps, 'revoke delegation'), { kind: 'revoke-delegation' });
    assert.deepEqual(interpret(deps, 'revoke delegation <at>Carol Contributor</at>'), { kind: 'revoke-delegation' });
  });

  it('refuses the words a built-in does not take, naming them', () => {
    for (const [text, command, extra] of [
      ['pending now', 'pending', 'now'],
      ['status CS-ABCDEFGH CS-12345678', 'status', 'CS-12345678'],
      // The word that is not taken, not the request id after it.
      ['status of CS-ABCDEFGH', 'status', 'of'],
      ['status for request cs-abcdefgh please', 'status', 'for request please'],
      ['delegations mine', 'delegations', 'mine'],
      ['revoke delegation carol', 'revoke delegation', 'carol'],
      ['revoke delegation <at>Carol</at> now please', 'revoke delegation', 'now please'],
    ]) {
      const what = interpret(deps, text);
      assert.equal(what.kind, 'extra-words', text);
      assert.ok(what.kind === 'extra-words');
      assert.equal(what.command, command);
      assert.equal(what.extra, extra);
      assert.ok(what.usage.length > 0);
    }
  });
});

describe('a run time and curly double quotes', () => {
  it('reads "at" inside a curly-quoted value as part of the value, not as a run time', () => {
    const what = interpret(deps, 'tag production-api-service note \u201cmeet at 02:00\u201d reason: the window moved to the night');
    assert.equal(what.kind, 'ready', JSON.stringify(what));
    assert.ok(what.kind === 'ready');
    assert.equal(what.values.value, 'meet at 02:00');
    assert.equal(what.runAt, undefined);
  });
});

describe('a run time given twice', () => {
  it('refuses "at" given twice, naming both times, instead of taking the last and calling the first one too many', () => {
    const what = interpret(deps, 'deploy production api-service at 2026-12-24T02:00Z at 2026-12-25T02:00Z reason: release 2.4');
    assert.equal(what.kind, 'extra-words', JSON.stringify(what));
    assert.ok(what.kind === 'extra-words');
    assert.equal(what.command, 'deploy');
    assert.equal(what.extra, 'at 2026-12-24T02:00Z');
    assert.equal(what.usage, 'The run time is given twice ("at 2026-12-24T02:00Z" and "at 2026-12-25T02:00Z"): give it once, "at <time>" at the end of the command, before "reason:".');
    // Once is a run time; "at" in the reason is the reason's.
    const once = interpret(deps, 'deploy production api-service at 2026-12-24T02:00Z reason: moved from at 01:00');
    assert.ok(once.kind === 'ready' && once.runAt === '2026-12-24T02:00Z', JSON.stringify(once));
  });
});

describe('@mentions of people in a request', () => {
  it('reads a mention in the reason as the name the sender picked, not as the markup Teams sends', () => {
    const what = interpret(deps, 'deploy staging api-service reason: as agreed with <at>Bob Approver</at> in the change board');
    assert.equal(what.kind, 'ready', JSON.stringify(what));
    assert.ok(what.kind === 'ready');
    assert.equal(what.reason, 'as agreed with @Bob Approver in the change board');
  });
});

describe('a decision typed instead of clicked', () => {
  it('is answered as such, unless a command of the catalog begins with the word', () => {
    assert.deepEqual(interpret(deps, 'approve CS-ABCDEFGH'), { kind: 'typed-decision', verb: 'approve', requestId: 'CS-ABCDEFGH' });
    const flagging = { config: { ...deps.config, catalog: new Catalog([...deps.config.catalog.commands, { ...deps.config.catalog.commands[0], name: 'flag vm' }]) } };
    assert.equal(interpret(flagging, 'flag vm-web-01').kind, 'unknown');
    assert.equal(interpret(flagging, 'flag').kind, 'unknown');
  });
});

describe('break-glass typed as two words', () => {
  it('suggests break-glass first, not only the command after it', () => {
    for (const text of ['break glass deploy production api-service reason: the site is down', 'Brake glass deploy production api-service']) {
      const what = interpret(deps, text);
      assert.equal(what.kind, 'unknown', text);
      assert.ok(what.kind === 'unknown');
      assert.equal(what.suggestions[0], 'break-glass', JSON.stringify(what.suggestions));
    }
  });
});
