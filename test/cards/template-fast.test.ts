/**
 * The compiled card expander (src/cards/template-fast.ts) against adaptivecards-templating, the
 * reference: for every card Countersign renders, the same JSON, key order included; and for
 * anything outside its subset, no answer (so the library's answer is used).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Template } from 'adaptivecards-templating';
import type { ApprovalRequest, RequestState } from '../../src/domain/request';
import { loadConfig } from '../../src/config/load';
import { confirmCardView, formCardView } from '../../src/cards/form-cards';
import { listCardView, queryCardView } from '../../src/cards/lists';
import { expandWithLibrary } from '../../src/cards/render';
import { requestCardView } from '../../src/cards/request-card';
import { compileTemplate } from '../../src/cards/template-fast';
import { EXAMPLE_CONFIG } from '../support/people';
import { alice, bob, frank, requestIn } from '../support/requests';

const STATES: RequestState[] = ['pending', 'needs_reapproval', 'approved', 'executing', 'succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
const HOSTILE = 'x [click me](https://evil.example) **bold** ${request.id} <b>hi</b>\n- item $ {} }';

function card(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'cards', `${name}.json`), 'utf8')) as Record<string, unknown>;
}

function library(template: object, data: object): unknown {
  return new Template(template).expand({ $root: data });
}

describe('compiled card templates', () => {
  it('expand the request card exactly as adaptivecards-templating does, in every state and shape', () => {
    const fast = compileTemplate(card('request'));
    assert.ok(fast, 'cards/request.json fits the compiled subset');
    const variants: ApprovalRequest[] = STATES.flatMap((state): ApprovalRequest[] => [
      requestIn(state),
      requestIn(state, { sandbox: false, reason: undefined }),
      requestIn(state, { reason: HOSTILE, parameters: { name: HOSTILE } }),
      {
        ...requestIn(state),
        whatIf: {
          status: 'Succeeded',
          changes: [
            { changeType: 'Create' as const, resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/api' },
            { changeType: 'Modify' as const, resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st', changedPaths: ['sku.name', 'tags.a'] },
            { changeType: 'NoChange' as const, resourceId: '/subscriptions/s/resourceGroups/g' },
          ],
        },
      },
      { ...requestIn(state), whatIf: { status: 'Succeeded', changes: [] } },
      { ...requestIn(state), baseline: { exists: true, facts: { location: 'westeurope', 'resource Microsoft.Web/sites/api': 'present', 'resources.count': '12' } } },
      { ...requestIn(state), risk: 'low' as const },
      { ...requestIn(state), approvals: [{ approver: bob, at: '2026-03-02T09:05:00.000Z', operationHash: 'f'.repeat(64) }, { approver: frank, at: '2026-03-02T09:06:00.000Z', operationHash: 'f'.repeat(64) }] },
    ]);
    variants.push(
      requestIn('executing', { operation: { kind: 'deployTemplate', subscriptionId: 's', resourceGroup: 'g', deploymentName: 'd', template: {}, parameters: {} } as never }),
      requestIn('failed', { execution: { startedAt: '2026-03-02T09:06:00.000Z', ref: { resourceIds: ['/a', '/b'], correlationId: 'c-1' }, error: { code: 'Conflict', message: HOSTILE, details: ['one', 'two'] } } }),
      requestIn('succeeded', { execution: { startedAt: '2026-03-02T09:06:00.000Z', ref: { resourceIds: [] }, outputs: { url: 'https://x', n: 3 } } }),
    );
    let compared = 0;
    for (const r of variants) {
      for (const options of [{}, { notice: `You approved it. ${HOSTILE}` }, { viewer: { canApprove: false, canReject: false, canCancel: true, canReview: false }, viewerIds: ['29:a', '8:orgid:b'] }]) {
        const view = requestCardView(r, options);
        const got = fast(view);
        assert.ok(got, `${r.state}: the fast path answered`);
        assert.equal(JSON.stringify(got), JSON.stringify(library(card('request'), view)), `${r.state} ${JSON.stringify(options)}`);
        compared += 1;
      }
    }
    assert.ok(compared >= 120);
  });

  it('expand the list, table and confirm cards exactly as the library does', () => {
    const config = loadConfig(EXAMPLE_CONFIG);
    const command = config.catalog.commands[0];
    for (const sandbox of [true, false]) {
      const views: [string, object][] = [
        ['list', listCardView('Pending requests', undefined, [{ heading: 'Waiting', lines: [] }, { heading: HOSTILE, lines: ['a', HOSTILE] }], sandbox)],
        ['list', listCardView(HOSTILE, 'an intro', [], sandbox)],
        ['confirm', confirmCardView(command, { name: 'staging-old' }, 'because', sandbox)],
        ['confirm', confirmCardView(command, {}, undefined, sandbox)],
        ['confirm', confirmCardView(command, { name: 'staging-old' }, 'because', sandbox, '2030-01-01T22:00Z')],
        ['table', queryCardView({ title: 'Resources in g', columns: ['Name', 'Type', 'Location', 'Tags'], rows: [['api', 'Microsoft.Web/sites', 'westeurope', 'env=prod, owner=x'], [HOSTILE, '', 'b', 'c']] }, sandbox)],
        ['table', queryCardView({ title: 'Nothing', columns: ['Name'], rows: [], truncated: true }, sandbox)],
      ];
      for (const [name, view] of views) {
        const fast = compileTemplate(card(name));
        assert.ok(fast, `cards/${name}.json fits the compiled subset`);
        assert.equal(JSON.stringify(fast(view)), JSON.stringify(library(card(name), view)), name);
      }
    }
  });

  it('leave the form card, which uses an operator, to the library, and render it all the same', () => {
    assert.equal(compileTemplate(card('form')), undefined);
    const config = loadConfig(EXAMPLE_CONFIG);
    const command = config.catalog.commands[0];
    const view = formCardView(command, {}, [], undefined, true);
    assert.equal(JSON.stringify(expandWithLibrary('form', view)), JSON.stringify(library(card('form'), view)));
  });

  it('give no answer for data the library might treat otherwise, so the library decides', () => {
    const fast = compileTemplate({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', $when: '${show}', text: 'Hi ${who}' }, { type: 'X', $data: '${list}', v: '${line}' }], n: '${n}' })!;
    assert.deepEqual(fast({ show: true, who: 'Al', list: [{ line: 'a' }], n: 2 }), { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Hi Al' }, { type: 'X', v: 'a' }], n: 2 });
    assert.deepEqual(fast({ show: false, who: 'Al', list: [], n: 'x' }), { type: 'AdaptiveCard', body: [], n: 'x' });
    for (const data of [
      { show: 'yes', who: 'Al', list: [], n: 1 }, // $when that is not a boolean
      { show: true, list: [], n: 1 }, // a name the scope lacks
      { show: true, who: 3, list: [], n: 1 }, // a number written into text
      { show: true, who: '${n}', list: [], n: 1 }, // a value holding an expression
      { show: true, who: 'Al', list: { line: 'a' }, n: 1 }, // $data that is not a list
      { show: true, who: 'Al', list: [{ other: 1 }], n: 1 }, // an item without the name
      { show: true, who: 'Al', list: [], n: { a: 1 } }, // an object where the whole string is one name
    ]) {
      assert.equal(fast(data), undefined, JSON.stringify(data));
    }
    for (const template of [{ a: '${x.y}' }, { a: '${f(x)}' }, { a: { $when: '${x}' } }, { b: [{ $when: '${x}', $data: '${y}' }] }, { c: 'open ${x' }]) {
      assert.equal(compileTemplate(template), undefined, JSON.stringify(template));
    }
  });

  it('renders the cards a requester and an approver see through the fast path, with the same text as before', () => {
    const r = requestIn('pending', { requester: alice });
    const view = requestCardView(r);
    assert.deepEqual(compileTemplate(card('request'))!(view), expandWithLibrary('request', view));
  });
});
