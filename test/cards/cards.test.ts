/**
 * The cards people read: every state renders, nothing unexpanded leaks, user text cannot make
 * links or formatting, and only a pending request offers buttons.
 */
import assert from 'node:assert/strict';
import type { RequestState } from '../../src/domain/request';
import { confirmCard, formCard } from '../../src/cards/form-cards';
import { helpCard, listCard, pendingCard, queryCard } from '../../src/cards/lists';
import { PENDING_SHOWN } from '../../src/app/queries';
import { md } from '../../src/cards/markdown';
import { requestCard } from '../../src/cards/request-card';
import { loadConfig } from '../../src/config/load';
import { cardActions, cardText } from '../support/connector';
import { alice, approvalBy, bob, buildRequest, requestIn } from '../support/requests';
import { EXAMPLE_CONFIG } from '../support/people';
import { inertLine } from '../../src/domain/text-safety';
import { INPUT_LIMITS } from '../../src/domain/input-limits';

const STATES: RequestState[] = ['pending', 'approved', 'executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
const HOSTILE = 'x [click me](https://evil.example) **bold** ${request.id} <b>hi</b>\n- item';

describe('cards', () => {
  it('renders a request in every state without an unexpanded template expression', () => {
    for (const state of STATES) {
      const card = requestCard(requestIn(state, { reason: HOSTILE, sandbox: true }));
      const json = JSON.stringify(card);
      assert.ok(!json.includes('${'), `${state}: ${json.match(/.{20}\$\{.{20}/)?.[0]}`);
      assert.equal(card.version, '1.5');
      assert.match(cardText(card), /SANDBOX/);
    }
  });

  it('renders a request again from its content, never from its id and version alone, and hands each caller a card of its own', () => {
    const r = buildRequest();
    const first = requestCard(r);
    const again = requestCard(r);
    assert.deepEqual(again, first);
    assert.notEqual(again, first);
    (again.body as unknown[]).length = 0;
    assert.deepEqual(requestCard(r), first);
    // Same id and version, other content (never stored, but nothing in the card may come from the first).
    const other = requestCard({ ...r, reason: 'another reason' });
    assert.match(cardText(other), /another reason/);
    assert.doesNotMatch(cardText(first), /another reason/);
    assert.match(cardText(requestCard(r, { notice: 'a notice for the clicker' })), /a notice for the clicker/);
    assert.doesNotMatch(cardText(requestCard(r)), /a notice for the clicker/);
  });

  it('does not say it could not reach someone who has approved since, themselves or through their delegate', () => {
    const dave = { aadObjectId: '55555555-5555-4555-8555-555555555555', tenantId: alice.tenantId, name: 'Dave Lead' };
    const carol = { aadObjectId: '33333333-3333-4333-8333-333333333333', tenantId: alice.tenantId, name: 'Carol NoRole' };
    const unreachable = [
      { id: bob.aadObjectId.toUpperCase(), name: bob.name, why: 'app not installed' },
      { id: dave.aadObjectId, name: dave.name, why: 'app not installed' },
      { id: '77777777-7777-4777-8777-777777777777', why: 'app not installed' },
    ];
    const policy = { ...buildRequest().policy, approvals: 3 };
    const at = buildRequest().createdAt;
    const hash = buildRequest().operationHash;
    const approvals = [
      { approver: bob, at, operationHash: hash },
      { approver: carol, onBehalfOf: dave, at, operationHash: hash },
    ];
    const text = cardText(requestCard(buildRequest({ policy, unreachable, approvals })));
    assert.match(text, /Could not reach: 77777777-7777-4777-8777-777777777777 \(app not installed\)\./);
    assert.doesNotMatch(text, /Could not reach:[^\n]*(Bob Approver|Dave Lead)/);
    assert.match(cardText(requestCard(buildRequest({ policy, unreachable }))), /Could not reach: Bob Approver \(app not installed\), Dave Lead \(app not installed\), 7777/);
  });

  it('offers Approve, Reject and Cancel only while pending', () => {
    assert.deepEqual(cardActions(requestCard(buildRequest())).map((a) => a.verb), ['approve', 'reject', 'cancel']);
    for (const state of STATES.filter((s) => s !== 'pending')) {
      assert.deepEqual(cardActions(requestCard(requestIn(state))), [], state);
    }
  });

  it('lets a Reject or Flag comment be as long as Countersign accepts, and no longer, and a reason the same', () => {
    const inputs: Record<string, unknown>[] = [];
    const collect = (card: unknown) => JSON.stringify(card, (key, value) => (value && value.type === 'Input.Text' ? (inputs.push(value), value) : value));
    const done = requestIn('succeeded', { approvals: [], breakGlass: { reason: 'INC-1', usedAt: '2026-03-02T09:01:00.000Z', reviewDueAt: '2026-03-02T10:00:00.000Z' } });
    collect(requestCard(buildRequest()));
    collect(requestCard(done));
    const comments = inputs.filter((i) => i.id === 'comment');
    assert.equal(comments.length, 2, 'the Reject box and the Flag box');
    for (const box of comments) assert.equal(box.maxLength, INPUT_LIMITS.comment, String(box.label));
    inputs.length = 0;
    collect(formCard(loadConfig(EXAMPLE_CONFIG).catalog.find('deploy')!, {}, [], undefined, false));
    assert.equal(inputs.find((i) => i.id === 'reason')?.maxLength, INPUT_LIMITS.reason);
  });

  it('puts only the request id and the operation hash into button data', () => {
    const r = buildRequest();
    for (const action of cardActions(requestCard(r))) {
      assert.deepEqual(action.data, { requestId: r.id, hash: r.operationHash });
    }
  });

  it('escapes user text so it cannot make a link, formatting or a template expression', () => {
    const text = cardText(requestCard(buildRequest({ reason: HOSTILE })));
    assert.ok(text.includes('\\[click me\\](https\u200B://evil.example)'), text);
    assert.ok(text.includes('\\*\\*bold\\*\\*'));
    assert.ok(text.includes('$\u200B{request.id}'));
    assert.ok(text.includes('\\<b\\>hi\\</b\\>'));
    assert.ok(!/\]\(https?:\/\//.test(text), 'no markdown link survives');
  });

  it('md() keeps typed {{DATE(...)}} from being evaluated by Teams as a date', () => {
    assert.equal(md('due {{DATE(2026-01-01T00:00:00Z, SHORT)}}'), 'due {\u200B{DATE(2026-01-01T00:00:00Z, SHORT)}}');
    // Three or more braces: replacing pairs would leave the last two together.
    for (const braces of ['{{{', '{{{{', '{{{{{']) {
      const escaped = md(`${braces}TIME(2026-01-01T00:00:00Z)}}`);
      assert.ok(!escaped.includes('{{'), JSON.stringify(escaped));
      assert.equal(escaped.replace(/\u200B/g, ''), `${braces}TIME(2026-01-01T00:00:00Z)}}`, 'the braces are all shown');
    }
  });

  it('md() leaves ordinary words alone', () => {
    assert.equal(md('deploy production api-service (release 2.4)'), 'deploy production api-service (release 2.4)');
    assert.equal(md(undefined), '');
  });

  it('md() escapes exactly as the full set of replacements does, also when it skips them for plain text', () => {
    const reference = (text: string) =>
      inertLine(text)
        .replace(/[\\`*_[\]<>~|]/g, (c) => `\\${c}`)
        .replace(/\$\{/g, '$\u200B{')
        .replace(/\{(?=\{)/g, '{\u200B')
        .replace(/(\w)(:\/\/)/g, '$1\u200B$2')
        .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200B.`)
        .replace(/^(\s*)([-+#])/gm, '$1\\$2')
        .replace(/^(\s*\d+)\./gm, '$1\\.');
    const pieces = ['a', 'Z', '0', '7', ' ', '\n', '\t', '-', '+', '#', '.', ':', '/', '$', '{', '}', 'w', 'W', '\\', '`', '*', '_', '[', ']', '<', '>', '~', '|', 'é', '2026-03-02', 'www', '://'];
    let seed = 0x2545f491;
    const next = () => {
      // xorshift32: a fixed, well-spread sequence, so a failure repeats.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 20_000; i++) {
      const length = next() % 12;
      let text = '';
      for (let j = 0; j < length; j++) text += pieces[next() % pieces.length];
      assert.equal(md(text), reference(text), JSON.stringify(text));
    }
  });

  it('shows who approved, who rejected and why, and the outcome', () => {
    const approved = requestCard(requestIn('succeeded'));
    assert.match(cardText(approved), /SUCCEEDED/);
    const rejected = requestIn('rejected', { rejection: { by: bob, at: '2026-03-02T09:10:00.000Z', comment: 'not now' } });
    assert.match(cardText(requestCard(rejected)), /Rejected by Bob Approver, \{\{DATE\(2026-03-02T09:10:00Z, SHORT\)\}\} \{\{TIME\(2026-03-02T09:10:00Z\)\}\}[\s\S]*Comment: not now/);
    const notice = requestCard(buildRequest(), { notice: 'You asked for request CS-1, so you cannot approve it.' });
    assert.match(cardText(notice), /^You asked for request CS-1, so you cannot approve it\./m);
  });

  it('tells apart two people with one display name on a request by the start of their object ids, and names everyone else as before', () => {
    // Another Alice Requester (a namesake, or someone who named themselves so) approved Alice's request.
    const namesake = { ...bob, name: 'alice  requester' };
    const r = requestIn('succeeded', { approvals: [{ approver: namesake, at: '2026-03-02T09:10:00.000Z', operationHash: buildRequest().operationHash }] });
    const text = cardText(requestCard(r));
    assert.match(text, new RegExp(`Requested by\\s+Alice Requester \\(${alice.aadObjectId.slice(0, 8)}\\)`), text);
    assert.match(text, new RegExp(`Approved by alice {2}requester \\(${bob.aadObjectId.slice(0, 8)}\\)`), text);
    assert.doesNotMatch(text, /Requested by\s+Alice Requester,/, 'no line reads as if the requester approved');
    // A rejection by a namesake of the requester, and one by someone else.
    const rejected = requestIn('rejected', { rejection: { by: { ...bob, name: 'Alice Requester' }, at: '2026-03-02T09:10:00.000Z' } });
    assert.match(cardText(requestCard(rejected)), new RegExp(`Rejected by Alice Requester \\(${bob.aadObjectId.slice(0, 8)}\\)`));
    const plain = cardText(requestCard(requestIn('rejected', { rejection: { by: bob, at: '2026-03-02T09:10:00.000Z' } })));
    assert.match(plain, /Rejected by Bob Approver, /);
    assert.doesNotMatch(plain, new RegExp(alice.aadObjectId.slice(0, 8)));
  });

  it('keeps an input\'s placeholder and error message plain (not markdown) but one inert line', () => {
    const deploy = loadConfig(EXAMPLE_CONFIG).catalog.find('deploy')!;
    const command = { ...deploy, parameters: [{ name: 'tag_name', type: 'string' as const, pattern: '^[a-z_]*$\n\u202E|\\d' }] };
    const json = JSON.stringify(formCard(command, {}, [], undefined, false));
    const input = JSON.parse(json, (key, value) => value);
    const found: Record<string, unknown>[] = [];
    JSON.stringify(input, (key, value) => (value && value.type === 'Input.Text' && value.id === 'param.tag_name' ? (found.push(value), value) : value));
    assert.equal(found[0]?.placeholder, 'matching ^[a-z_]*$ [U+202E]|\\d');
    assert.equal(found[0]?.errorMessage, 'matching ^[a-z_]*$ [U+202E]|\\d');
  });

  it('renders the form, confirmation, help, pending and query cards cleanly', () => {
    const config = loadConfig(EXAMPLE_CONFIG);
    const deploy = config.catalog.find('deploy')!;
    const cards = [
      formCard(deploy, { environment: 'production' }, [{ parameter: 'service', message: 'service is missing' }], HOSTILE, true),
      confirmCard(deploy, { environment: 'production', service: 'api-service' }, HOSTILE, false),
      helpCard([{ usage: 'deploy <a|b>', description: HOSTILE, approval: 'x', allowed: true }], false, { soon: '2026-03-03', later: '2026-03-05' }),
      pendingCard({ toDecide: [buildRequest({ requester: alice })], toDecideCount: 1, mine: [], mineCount: 0, elsewhereCount: 2 }, false),
      queryCard({ title: 'Resources', columns: ['name'], rows: [[HOSTILE]] }, true),
      listCard('t', undefined, [], false),
    ];
    for (const card of cards) {
      const json = JSON.stringify(card);
      assert.ok(!json.includes('${'), json.match(/.{20}\$\{.{20}/)?.[0]);
      // Input values are plain text (never markdown); everything displayed must be escaped.
      const displayed = JSON.parse(json, (key, value) => (value && typeof value === 'object' && String(value.type).startsWith('Input.') ? undefined : value));
      assert.ok(!/\]\(https?:\/\//.test(cardText(displayed)), cardText(displayed));
    }
  });

  it('keeps the pending card within Teams\' message size when the requests it lists have long values: fewer listed, the rest counted', () => {
    const long = (kind: string, i: number) =>
      buildRequest({ id: `CS-${kind}${String(i).padStart(6, '0')}`, requester: alice, command: 'deploy', parameters: { environment: 'production', service: `api-${'x'.repeat(190)}`, version: `2.4.${'1'.repeat(150)}` } });
    const toDecide = Array.from({ length: PENDING_SHOWN }, (_, i) => long('D', i));
    const mine = Array.from({ length: PENDING_SHOWN }, (_, i) => long('M', i));
    const card = pendingCard({ toDecide, toDecideCount: 40, mine, mineCount: 30, elsewhereCount: 0 }, false);
    assert.ok(JSON.stringify(card).length <= 27_000, `the card is ${JSON.stringify(card).length} characters: Teams refuses it, and "pending" answers nothing`);
    const text = cardText(card);
    assert.match(text, /Waiting for your decision \(40\)\nCS-D000000: deploy/, 'the oldest first');
    assert.match(text, /Your open requests \(30\)\nCS-M000000: deploy/);
    const listed = (text.match(/^CS-D\d+:/gm) ?? []).length;
    assert.ok(listed >= 1 && listed < PENDING_SHOWN, `${listed} listed`);
    assert.match(text, new RegExp(`and ${40 - listed} more requests \\(the oldest are shown`), 'the rest counted');
  });

  it('keeps the pending card readable and within Teams\' message size when thousands wait: the oldest, then how many more', () => {
    const oldest = Array.from({ length: PENDING_SHOWN }, (_, i) => buildRequest({ id: `CS-${i + 1}`, requester: alice }));
    const mine = oldest.slice(0, 3);
    const card = pendingCard({ toDecide: oldest, toDecideCount: 10_000, mine, mineCount: 3, elsewhereCount: 0 }, false);
    const text = cardText(card);
    assert.ok(JSON.stringify(card).length < 28_000, `the card is ${JSON.stringify(card).length} characters`);
    assert.match(text, /Waiting for your decision \(10000\)/);
    assert.match(text, new RegExp(`CS-${PENDING_SHOWN}:`));
    assert.match(text, new RegExp(`and ${10_000 - PENDING_SHOWN} more requests \\(the oldest are shown`));
    assert.match(text, /Your open requests\n/, 'a section shown whole has no count');
    assert.doesNotMatch(text, /and 0 more/);
  });

  it('lists a request whose requester shares a display name with someone on it by the start of their object id, as its card does', () => {
    const base = buildRequest({ id: 'CS-NAMESAKE', requester: alice, policy: { ...buildRequest().policy, approvals: 2 } });
    const r = { ...base, approvals: [approvalBy({ ...bob, name: 'Alice Requester' }, base)] };
    const used = buildRequest({ id: 'CS-BROKEGLASS', requester: alice, breakGlass: { reason: 'outage', usedAt: '2026-03-02T09:01:00.000Z', reviewDueAt: '2026-03-02T10:00:00.000Z' }, cancellation: { by: { ...bob, name: 'alice requester' }, at: '2026-03-02T09:02:00.000Z' } });
    const text = cardText(pendingCard({ toDecide: [r], toDecideCount: 1, mine: [], mineCount: 0, elsewhereCount: 0, toReview: [used], toReviewCount: 1 }, false));
    assert.match(text, new RegExp(`CS-NAMESAKE: .* by Alice Requester \\(${alice.aadObjectId.slice(0, 8)}\\), pending approval, 1 of 2 approvals`), text);
    assert.match(text, new RegExp(`CS-BROKEGLASS: .* by Alice Requester \\(${alice.aadObjectId.slice(0, 8)}\\), run without approval`), text);
    const plain = cardText(pendingCard({ toDecide: [buildRequest({ requester: alice })], toDecideCount: 1, mine: [], mineCount: 0, elsewhereCount: 0 }, false));
    assert.match(plain, / by Alice Requester, pending approval/, 'no namesake: named as before');
  });

  it('lists a request waiting for approval again as "needs re-approval", with its new expiry, as its card says', () => {
    const again = buildRequest({ id: 'CS-AGAIN001', requester: alice, state: 'needs_reapproval', expiresAt: '2026-03-02T12:00:00.000Z' });
    const text = cardText(pendingCard({ toDecide: [again], toDecideCount: 1, mine: [], mineCount: 0, elsewhereCount: 0 }, false));
    assert.match(text, /CS-AGAIN001: .* needs re-approval, 0 of 1 approval, expires \{\{DATE\(2026-03-02T12:00:00Z, SHORT\)\}\}/);
    assert.doesNotMatch(text, /needs\\?_reapproval/);
  });

  it('lists a typed value with spaces or commas in quotes, so it cannot read as who asked or where it stands', () => {
    const spoof = buildRequest({ id: 'CS-SPOOF001', requester: alice, command: 'tag', parameters: { group: 'staging-old', key: 'owner', value: 'x by Bob Approver, succeeded, 1 of 1 approval' } });
    const text = cardText(pendingCard({ toDecide: [spoof], toDecideCount: 1, mine: [], mineCount: 0, elsewhereCount: 0 }, false));
    assert.match(text, /CS-SPOOF001: tag staging-old owner "x by Bob Approver, succeeded, 1 of 1 approval" by Alice Requester, pending approval, 0 of 1 approval/);
  });

  it('lists a scheduled request with when it runs and until when its approval holds, as its card says', () => {
    const later = buildRequest({ id: 'CS-LATER001', requester: alice, state: 'scheduled', runAt: '2026-03-04T02:00:00.000Z', expiresAt: '2026-03-09T10:00:00.000Z' });
    const text = cardText(pendingCard({ toDecide: [], toDecideCount: 0, mine: [later], mineCount: 1, elsewhereCount: 0 }, false));
    assert.match(text, /CS-LATER001: .* approved, scheduled, 0 of 1 approval, runs at \{\{DATE\(2026-03-04T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-04T02:00:00Z\)\}\} \(approval valid until \{\{DATE\(2026-03-09T10:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-09T10:00:00Z\)\}\}\)/);
  });

  it('keeps a table within Teams\' message size: long cells cut, and only the first rows when they are many, saying there are more', () => {
    const tags = Array.from({ length: 15 }, (_, i) => `costcenter${i}=engineering-platform-${i}`).join(', ');
    const rows = Array.from({ length: 50 }, (_, i) => [`api-service-plan-production-westeurope-${i}`, 'Microsoft.Web/serverfarms', 'westeurope', `production-api-service-${i}`, tags]);
    const card = queryCard({ title: 'Resources of type microsoft.web/serverfarms', columns: ['Name', 'Type', 'Location', 'Resource group', 'Tags'], rows }, false);
    assert.ok(JSON.stringify(card).length < 28_000, `the card is ${JSON.stringify(card).length} characters`);
    const text = cardText(card);
    assert.match(text, /^api-service-plan-production-westeurope-0$/m, 'the first rows are shown');
    assert.match(text, /^costcenter0=engineering-platform-0, .*…$/m, 'a long cell ends in …');
    assert.match(text, /^\d+ results shown$/m);
    assert.match(text, /^More rows than these; narrow the question to see them\.$/m);
    const few = cardText(queryCard({ title: 'Resources', columns: ['Name'], rows: [['a'], ['b']] }, false));
    assert.match(few, /^2 results$/m);
    assert.doesNotMatch(few, /More rows/, 'a table that fits is shown whole');
  });

  it('keeps the help card within Teams\' message size for a large catalog: descriptions left out first, then the commands past those that fit counted', () => {
    const examples = { soon: '2026-03-03', later: '2026-03-05' };
    const entry = (i: number) => ({ usage: `delete storage account${i} <group> <account>`, description: 'Deletes a storage account and all its data, in a resource group of the platform team', approval: 'needs 1 approval from platform-approvers within 4 h; a reason is required', allowed: true });
    const few = cardText(helpCard(Array.from({ length: 20 }, (_, i) => entry(i)), false, examples));
    assert.match(few, /^delete storage account19 \\<group\\> \\<account\\>: Deletes a storage account/m, 'a catalog that fits is shown whole, descriptions included');
    for (const count of [120, 1_000]) {
      const card = helpCard(Array.from({ length: count }, (_, i) => entry(i)), false, examples);
      assert.ok(JSON.stringify(card).length < 28_000, `${count}: the card is ${JSON.stringify(card).length} characters`);
      const text = cardText(card);
      assert.match(text, /^delete storage account0 \\<group\\> \\<account\\> \(needs 1 approval/m);
      assert.doesNotMatch(text, /Deletes a storage account/);
      assert.match(text, /^revoke delegation \\\[@person\\\]: end your delegation now$/m, 'the built-in commands are all there');
      if (count === 1_000) assert.match(text, /^… and \d+ more commands: type a command's name alone for a form that asks for its parameters$/m);
    }
  });

  it('answers a read-only question with a table: a header row of names, types, locations and tags, one row per resource', () => {
    const card = queryCard({ title: 'Resources in production-api-service', columns: ['Name', 'Type', 'Location', 'Tags'], rows: [['api-service', 'Microsoft.Web/sites', 'westeurope', 'env=production']] }, false);
    const table = (card.body as Record<string, unknown>[]).find((el) => el.type === 'Table') as { rows: { cells: { items: { text: string }[] }[] }[]; firstRowAsHeader: boolean };
    assert.equal(table.firstRowAsHeader, true);
    assert.deepEqual(table.rows.map((r) => r.cells.map((c) => c.items[0].text)), [['Name', 'Type', 'Location', 'Tags'], ['api-service', 'Microsoft.Web/sites', 'westeurope', 'env=production']]);
    assert.doesNotMatch(cardText(card), /\|/, 'no pipe-separated text');
    assert.match(cardText(card), /^1 result$/m);
  });
});
