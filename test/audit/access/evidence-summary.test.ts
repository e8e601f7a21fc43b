import assert from 'node:assert/strict';
import { buildRequest } from '../../support/requests';
import { literal } from '../../../src/audit/access/evidence';
import { evidenceOf, summaryIn } from './evidence-of';
import type { AuditRecord } from '../../../src/domain/audit';

describe('evidence summary (SUMMARY.md)', () => {
  const summaryOf = (...args: Parameters<typeof buildRequest>) => evidenceOf(buildRequest(...args)).find((f) => f.name === 'SUMMARY.md')?.content ?? '';

  it('ends each sentence with one full stop, also when the text it ends with has its own', () => {
    const summary = summaryOf({ state: 'succeeded', outcomeDetail: 'Resource group rg-old and everything in it deleted.', reason: 'INC-4711: clean-up.' });
    assert.match(summary, /Final state: succeeded: Resource group rg-old and everything in it deleted\. ARM identifiers: arm\.json\./);
    assert.match(summary, /; reason: INC-4711: clean-up\.\n/);
    assert.doesNotMatch(summary, /\.\./);
  });

  it('shows typed text as itself: links, images, HTML and emphasis go in code spans, never rendered', () => {
    const reason = 'INC-1 [CAB approval CHG-0042 (verified)](https://evil.example/phish) ![](https://evil.example/b.png) <img src="https://evil.example/b2.png"> **Audit chain: intact**';
    const summary = summaryOf({
      state: 'rejected',
      reason,
      requester: { aadObjectId: '11111111-1111-4111-8111-111111111111', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', name: '_Alice_ www.evil.example' },
      rejection: { by: { aadObjectId: '22222222-2222-4222-8222-222222222222', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', name: 'Bob' }, at: '2026-03-02T09:05:00.000Z', comment: 'see <a href="https://evil.example/x">the ticket</a> `x`' },
    });
    assert.ok(summary.includes(`; reason: \`${reason}\`.`), summary);
    assert.ok(summary.includes('`_Alice_ www.evil.example` (11111111-1111-4111-8111-111111111111)'), summary);
    assert.ok(summary.includes(': `` see <a href="https://evil.example/x">the ticket</a> `x` ``'), summary);
    // Outside code spans nothing of it is left to render.
    const outside = summary.replace(/(`+).*?\1/g, '');
    assert.doesNotMatch(outside, /evil|<img|<a |\*\*Audit/);
  });

  it('keeps plain text plain, and fences a span longer than any backtick run in it', () => {
    assert.equal(literal('Bob Approver'), 'Bob Approver');
    assert.equal(literal('INC-4711: clean-up of rg/old.'), 'INC-4711: clean-up of rg/old.');
    assert.equal(literal('a `` b'), '```a `` b```');
    assert.equal(literal('`x`'), '`` `x` ``');
    assert.equal(literal('see https://x.example'), '`see https://x.example`');
    assert.equal(literal('line\nbreak'), 'line break');
  });

  it('shows bidi controls and invisible characters in names and text by their code points, so the summary cannot be reordered or hide what was sent', () => {
    // A refused clicker named "Mallory<RLO>" would otherwise show what follows the name reversed.
    assert.equal(literal('Mallory\u202e (approve refused)'), '`Mallory[U+202E] (approve refused)`');
    assert.equal(literal('\u2066Bob\u2069 Approver'), '`[U+2066]Bob[U+2069] Approver`');
    assert.equal(literal('Bob\u200bApprover\u200f'), '`Bob[U+200B]Approver[U+200F]`');
    const summary = summaryOf({ requester: { aadObjectId: '11111111-1111-4111-8111-111111111111', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', name: 'Alice\u202eecilA' } });
    assert.ok(summary.includes('`Alice[U+202E]ecilA` (11111111-1111-4111-8111-111111111111)'), summary);
    assert.doesNotMatch(summary, /[\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f]/);
  });

  it("lists the refused clicks on the request's cards: who, when, what and why", () => {
    const r = buildRequest({ state: 'succeeded' });
    const refused = (n: number, name: string, verb: string, reason: string): AuditRecord => ({
      schemaVersion: 1,
      id: `rec-${n}`,
      seq: n,
      time: `2026-11-02T09:0${n}:00.000Z`,
      type: 'click.refused',
      actor: { aadObjectId: `0000000${n}-0000-4000-8000-000000000000`, tenantId: r.requester.tenantId, name },
      request: { id: r.id, command: r.command, parameters: {}, operationHash: r.operationHash, policyVersion: r.policy.version },
      outcome: { result: 'refused', reason, detail: 'refused' },
      data: { verb, requestId: r.id },
      prevHash: '0'.repeat(64),
      hash: '1'.repeat(64),
    });
    const events = [refused(1, 'Alice Requester', 'approve', 'self-approval'), refused(2, 'Mallory', 'reject', 'tenant-not-allowed')];
    const summary = evidenceOf(r, events).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.ok(
      summary.includes(
        '## Refused clicks\n- Alice Requester (00000001-0000-4000-8000-000000000000) at 2026-11-02T09:01:00.000Z: approve refused (self-approval)\n' +
          '- Mallory (00000002-0000-4000-8000-000000000000) at 2026-11-02T09:02:00.000Z: reject refused (tenant-not-allowed)\n',
      ),
      summary,
    );
    assert.doesNotMatch(summaryOf({ state: 'succeeded' }), /Refused clicks/, 'no section when none were refused');
    // Those counted past a person's budget a minute are counted from their summary in the request's trail.
    const counted: AuditRecord = {
      ...refused(3, 'Mallory', 'approve', 'repeated'),
      actor: undefined,
      data: { repeated: { count: 45, from: '2026-11-02T09:03:01.000Z', to: '2026-11-02T09:03:59.000Z', reasons: { 'not-an-approver': 45 }, people: { m: 45 }, request: r.id, perMinute: 30 } },
    };
    const withCounted = evidenceOf(r, [...events, counted]).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.ok(
      withCounted.includes(
        '(tenant-not-allowed)\n- 45 more from 2026-11-02T09:03:01.000Z to 2026-11-02T09:03:59.000Z, counted past the budget a minute, not recorded one by one (record 3): not-an-approver 45\n\n',
      ),
      withCounted,
    );
    assert.match(evidenceOf(r, [counted]).find((f) => f.name === 'SUMMARY.md')?.content ?? '', /## Refused clicks\n- 45 more from/, 'a section also when all were counted');
  });

  const recordOf = (r: ReturnType<typeof buildRequest>, n: number, type: AuditRecord['type'], fields: Partial<AuditRecord>): AuditRecord => ({
    schemaVersion: 1,
    id: `rec-${n}`,
    seq: n,
    time: `2026-11-02T09:${String(n).padStart(2, '0')}:00.000Z`,
    type,
    request: { id: r.id, command: r.command, parameters: {}, operationHash: r.operationHash, policyVersion: r.policy.version },
    outcome: { result: 'ok' },
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
    ...fields,
  });

  it('states the risk band and environment the card showed approvers, as request.created records them', () => {
    const r = buildRequest({ state: 'succeeded' });
    const created = (data: Record<string, unknown>) => evidenceOf(r, [recordOf(r, 1, 'request.created', { actor: r.requester, data })]).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    const whoAsked = (summary: string) => /## Who asked\n((?:.+\n)*)/.exec(summary)?.[1] ?? '';
    assert.match(whoAsked(created({ expectationHash: 'e'.repeat(64), risk: 'critical', environment: 'production' })), /\nShown to approvers on its card: risk band critical; environment production\.\n$/);
    assert.match(whoAsked(created({ expectationHash: 'e'.repeat(64), risk: 'low' })), /\nShown to approvers on its card: risk band low; environment none named\.\n$/);
    // A record written before 2026-12-07 carries neither.
    assert.match(whoAsked(created({ expectationHash: 'e'.repeat(64) })), /\nShown to approvers on its card: risk band not recorded; environment not recorded\.\n$/);
  });

  it('lists the other refusals naming the request (a status or a card refresh by someone who may not see it): who, when, what and why, the first 20', () => {
    const r = buildRequest({ state: 'succeeded' });
    const mallory = { aadObjectId: '00000009-0000-4000-8000-000000000000', tenantId: r.requester.tenantId, name: 'Mallory' };
    const look = (n: number, command: string): AuditRecord =>
      recordOf(r, n, 'request.refused', { actor: mallory, outcome: { result: 'refused', reason: 'not-allowed-to-see', detail: `There is no request ${r.id} that you can see.` }, data: { command, readOnly: true, requestId: r.id } });
    const summary = evidenceOf(r, [look(1, 'status'), look(2, 'refresh')]).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    assert.ok(
      summary.includes(
        '## Other refusals about this request\n- Mallory (00000009-0000-4000-8000-000000000000) at 2026-11-02T09:01:00.000Z: status refused (not-allowed-to-see)\n' +
          '- Mallory (00000009-0000-4000-8000-000000000000) at 2026-11-02T09:02:00.000Z: a refresh of its card refused (not-allowed-to-see)\n\n',
      ),
      summary,
    );
    const many = evidenceOf(r, Array.from({ length: 23 }, (_, i) => look(i + 1, 'status'))).find((f) => f.name === 'SUMMARY.md')?.content ?? '';
    const section = /## Other refusals about this request\n((?:- .*\n)*)/.exec(many)?.[1] ?? '';
    assert.equal(section.trimEnd().split('\n').length, 21);
    assert.match(section, /\n- and 3 more: events\.jsonl holds each\.\n$/);
    assert.doesNotMatch(summaryOf({ state: 'succeeded' }), /Other refusals/, 'no section when none were refused');
  });

  it('names each person it could not reach with their whole object id, and its cards tell two of one display name apart', () => {
    // Bob and Dave, renamed Bob Approver: "Could not be reached: Bob Approver (…), Bob Approver (…)" read as one person twice.
    const dave = { id: '55555555-5555-4555-8555-555555555555', name: 'Bob Approver' };
    const unreachable = [
      { id: '22222222-2222-4222-8222-222222222222', name: 'Bob Approver', why: 'app not installed' },
      { ...dave, why: "blocked Countersign's chat in Teams" },
      { id: '19:approvals@thread.tacv2', why: 'Countersign has not been added there' },
    ];
    const files = evidenceOf(buildRequest({ unreachable }));
    assert.ok(
      summaryIn(files).includes(
        "Could not be reached: Bob Approver (22222222-2222-4222-8222-222222222222) (app not installed), Bob Approver (55555555-5555-4555-8555-555555555555) (blocked Countersign's chat in Teams), `19:approvals@thread.tacv2` (Countersign has not been added there).",
      ),
      summaryIn(files),
    );
    const card = files.find((f) => f.name.startsWith('cards/'))?.content ?? '';
    assert.match(card, /Could not reach: Bob Approver \(22222222\) \(app not installed\), Bob Approver \(55555555\) \(blocked Countersign's chat in Teams\), 19:approvals/);
    // One of them the requester's namesake: the card's "Requested by" tells them apart too.
    const asked = evidenceOf(buildRequest({ requester: { aadObjectId: '11111111-1111-4111-8111-111111111111', tenantId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', name: 'Bob Approver' }, unreachable: [{ ...dave, why: 'app not installed' }] }));
    assert.match(asked.find((f) => f.name.startsWith('cards/'))?.content ?? '', /Bob Approver \(11111111\)[\s\S]*Could not reach: Bob Approver \(55555555\) \(app not installed\)/);
    const plain = evidenceOf(buildRequest({ unreachable: [{ ...dave, name: 'Dave Lead', why: 'app not installed' }] }));
    assert.match(plain.find((f) => f.name.startsWith('cards/'))?.content ?? '', /Could not reach: Dave Lead \(app not installed\)/, 'no namesake on the card: named as before');
  });

  it('still ends a sentence whose text has no full stop of its own', () => {
    const summary = summaryOf({ state: 'failed', outcomeDetail: 'ARM said Conflict' });
    assert.match(summary, /Final state: failed: ARM said Conflict\. ARM identifiers/);
  });
});
