import assert from 'node:assert/strict';
import { neutralise, requestEvent, requestRef } from '../../src/domain/audit';
import { buildRequest, channel, bob } from '../support/requests';

describe('neutralising text before it reaches the audit trail', () => {
  it('writes CR and LF as visible escapes in strings at any depth', () => {
    const forged = 'ok\n{"type":"request.approved"}\r\n';
    assert.deepEqual(neutralise({ outcome: { detail: forged }, data: { lines: ['a\nb', { deep: 'c\rd' }] } }), {
      outcome: { detail: 'ok\\n{"type":"request.approved"}\\r\\n' },
      data: { lines: ['a\\nb', { deep: 'c\\rd' }] },
    });
  });

  it('drops fields whose value is undefined and keeps other falsy values', () => {
    const out = neutralise({ a: undefined, b: null, c: 0, d: false, e: '', nested: { gone: undefined, kept: 1 } });
    assert.deepEqual(out, { b: null, c: 0, d: false, e: '', nested: { kept: 1 } });
    assert.equal('a' in out, false);
    assert.equal('gone' in out.nested, false);
  });

  it('returns a copy and leaves the value it was given as it was', () => {
    const input = { detail: 'a\nb', list: ['c\nd'] };
    const out = neutralise(input);
    assert.deepEqual(input, { detail: 'a\nb', list: ['c\nd'] });
    assert.notEqual(out.list, input.list);
  });

  it('leaves numbers, booleans and plain text alone', () => {
    assert.equal(neutralise(42), 42);
    assert.equal(neutralise(true), true);
    assert.equal(neutralise('plain text'), 'plain text');
  });

  it('keeps bidi controls and invisible characters exactly as sent: only what people are shown writes them by code point', () => {
    const name = 'Bob\u202e Approver\u2066\u200b\u200f\ufeff\u{e0041}';
    assert.equal(neutralise({ actor: { name } }).actor.name, name);
  });
});

describe('audit events about a request', () => {
  it('name the request, command, parameters, hash, reason, policy version and target', () => {
    const r = buildRequest();
    const e = requestEvent(r, 'request.created', '2026-03-02T09:00:00.000Z', { result: 'ok' }, { actor: bob, source: channel });
    assert.deepEqual(e, {
      type: 'request.created',
      time: '2026-03-02T09:00:00.000Z',
      request: {
        id: 'req-0001',
        command: 'delete resource group',
        parameters: { name: 'staging-old' },
        operationHash: r.operationHash,
        reason: 'cleanup after the migration',
        policyVersion: r.policy.version,
      },
      target: r.target,
      outcome: { result: 'ok' },
      actor: bob,
      source: channel,
    });
  });

  it('leave the reason out when the requester gave none', () => {
    const r = buildRequest();
    delete r.reason;
    assert.equal('reason' in requestRef(r), false);
  });

  it('turns NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR into visible escapes too, whatever the nesting', () => {
    assert.equal(neutralise('a\u0085b\u2028c\u2029d'), 'a\\u0085b\\u2028c\\u2029d');
    assert.deepEqual(neutralise({ list: ['\u2028Approved by Bob'], detail: 'x\r\u2029' }), { list: ['\\u2028Approved by Bob'], detail: 'x\\r\\u2029' });
  });

  it('turns every control character but tab into a visible escape: no terminal escape sequence reaches a record', () => {
    assert.equal(neutralise('\u001b]0;owned\u0007\u001b[2J\u007f\u009b31m\u0008x\ty'), '\\u001b]0;owned\\u0007\\u001b[2J\\u007f\\u009b31m\\u0008x\ty');
    assert.deepEqual(neutralise({ data: { unverified: { fromId: '29:\u001b[8mhidden' } } }), { data: { unverified: { fromId: '29:\\u001b[8mhidden' } } });
  });

  it('neutralise line breaks the requester typed into the reason and parameters', () => {
    const r = buildRequest({ reason: 'fix\nforged line', parameters: { name: 'a\r\nb' } });
    const e = requestEvent(r, 'request.created', '2026-03-02T09:00:00.000Z', { result: 'ok', detail: 'x\ny' });
    assert.equal(e.request?.reason, 'fix\\nforged line');
    assert.deepEqual(e.request?.parameters, { name: 'a\\r\\nb' });
    assert.equal(e.outcome.detail, 'x\\ny');
  });
});
