import assert from 'node:assert/strict';
import { parseApiExport } from '../../../src/audit/access/export-request';
import { AUDIT_EVENT_TYPES } from '../../../src/domain/audit';
import type { AuditEventType } from '../../../src/domain/audit';

describe('the export API query (parseApiExport)', () => {
  it('takes known event types and an actor that is an Entra object id', () => {
    const ask = parseApiExport({ type: ['click.refused', 'request.created,approval.granted'], actor: '11111111-1111-4111-8111-111111111111' });
    assert.deepEqual(ask, {
      ok: true,
      format: 'jsonl',
      filter: { actorId: '11111111-1111-4111-8111-111111111111', types: ['click.refused', 'request.created', 'approval.granted'] },
    });
  });

  it('takes an actor whatever the case of its letters, as one person (lower case)', () => {
    const ask = parseApiExport({ actor: 'C0FFEE00-CA70-4CA7-8CA7-CA70ca70ca70' });
    assert.deepEqual(ask, { ok: true, format: 'jsonl', filter: { actorId: 'c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70' } });
  });

  it('refuses a type that is no audit event type, naming the known ones of its family', () => {
    assert.deepEqual(parseApiExport({ type: 'request.created,click.refuse' }), {
      ok: false,
      message: 'the type "click.refuse" is not an audit event type (known: click.refused)',
    });
    const other = parseApiExport({ type: 'nonsense' });
    assert.equal(other.ok, false);
    assert.match(!other.ok ? other.message : '', /^the type "nonsense" is not an audit event type \(known: config\.loaded, .*\)$/);
  });

  it('refuses an actor that is not an Entra object id', () => {
    assert.deepEqual(parseApiExport({ actor: 'bob' }), {
      ok: false,
      message: 'the actor "bob" is not an Entra object id (a GUID, such as 00000000-0000-0000-0000-000000000000)',
    });
  });
});

describe('the export API query: empty values', () => {
  it('refuses a parameter given empty, naming it, rather than reading it as no filter', () => {
    // `?requestId=$ID` with $ID unset: read as no filter, it exported the whole log as if it were that request's.
    for (const [name, value] of [['requestId', ''], ['actor', ' '], ['type', ''], ['type', ['request.created', '']], ['type', 'request.created,'], ['from', ''], ['to', ''], ['format', '']] as const) {
      assert.deepEqual(parseApiExport({ [name]: value }), {
        ok: false,
        message: `the query parameter ${name} is empty: give it a value, or leave it out (an empty value is not "no filter")`,
      }, `${name}=${JSON.stringify(value)}`);
    }
  });
});

describe('the export API query: from and to', () => {
  it('names the query parameters, not the Teams command\'s <from> and <to>, when from is not before to', () => {
    assert.deepEqual(parseApiExport({ from: '2026-12-07', to: '2026-12-06' }), {
      ok: false,
      message: 'the query parameter from (2026-12-07T00:00:00.000Z) must be before to (2026-12-06T00:00:00.000Z).',
    });
  });

  it('says that a zone\'s + arrived as a space (a + in a query string is one), not that the time is unreadable', () => {
    // ?from=2026-12-06T10:00:00+01:00 as typed: the query parser hands over a space for the +.
    for (const [name, query] of [
      ['from', { from: '2026-12-06T10:00:00 01:00', to: '2026-12-07' }],
      ['to', { to: '2026-12-06T10:00 01:00' }],
    ] as const) {
      const ask = parseApiExport(query);
      assert.equal(ask.ok, false);
      assert.match(ask.ok ? '' : ask.message, new RegExp(`^the query parameter ${name} arrived as "[^"]+", with a space where its zone's \\+ was .*write it as %2B \\(${name}=2026-12-06T10:00(:00)?%2B01:00\\)`));
    }
    assert.deepEqual(parseApiExport({ from: '2026-12-06T10:00:00+01:00' }), { ok: true, format: 'jsonl', filter: { from: '2026-12-06T09:00:00.000Z' } });
  });
});

describe('the export API query: requestId', () => {
  it('reads a request id as typed in chat, as the CLI and Teams do', () => {
    assert.deepEqual(parseApiExport({ requestId: 'cs-7k3m9qxw' }), { ok: true, format: 'jsonl', filter: { requestId: 'CS-7K3M9QXW' } });
    assert.deepEqual(parseApiExport({ requestId: ' CS-7K3MOQXL.' }), { ok: true, format: 'jsonl', filter: { requestId: 'CS-7K3M0QX1' } });
  });

  it('refuses a requestId that is no request id, naming the parameter', () => {
    for (const typed of ['../../x', 'CS-ZZZ', 'CS-UUUUUUUU', 'req-0001']) {
      assert.deepEqual(parseApiExport({ requestId: typed }), {
        ok: false,
        message: `the requestId "${typed}" is not a request id (CS- and 8 letters or digits, such as CS-7K3M9QXW)`,
      });
    }
  });
});

describe('AUDIT_EVENT_TYPES', () => {
  it('is the AuditEventType union, each type once', () => {
    // The type is derived from the list; a list entry the union would not take does not compile.
    const types: readonly AuditEventType[] = AUDIT_EVENT_TYPES;
    assert.equal(new Set(types).size, types.length);
    assert.ok(types.every((t) => /^[a-z]+\.[a-z_]+$/.test(t)));
  });
});
