/**
 * Fuzz of activity validation: arbitrary JSON bodies, and well-formed activities with fields
 * replaced by arbitrary JSON, posted to the real bot. The answer is 200, 400 or 401, never 5xx,
 * and a 400 never carries an internal error message or stack. Fixed seed and runs.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { activityProblem } from '../../src/http/activity-validation';
import { startHarness, type Harness } from '../support/harness';
import { opsChannel, people } from '../support/teams';

const APP_ID = '0b7c4d2e-1f3a-4b5c-9d8e-7f6a5b4c3d2e';

/** JSON values, small. */
const json = fc.jsonValue({ maxDepth: 3 });

const TYPES = ['message', 'invoke', 'conversationUpdate', 'messageReaction', 'installationUpdate', 'event', 'typing', 'endOfConversation', ''];
const INVOKE_NAMES = ['adaptiveCard/action', 'task/fetch', 'composeExtension/query', 'signin/verifyState', 'config/fetch', 'healthCheck', ''];
/** Dotted paths into an activity that code reads. */
const PATHS = ['type', 'text', 'name', 'id', 'replyToId', 'channelId', 'serviceUrl', 'value', 'value.action', 'value.action.verb', 'value.action.data', 'value.action.data.requestId', 'value.action.data.comment', 'value.reason', 'value.countersign', 'from', 'from.id', 'from.aadObjectId', 'from.name', 'recipient', 'recipient.id', 'conversation', 'conversation.id', 'conversation.tenantId', 'conversation.conversationType', 'conversation.isGroup', 'channelData', 'channelData.tenant', 'channelData.tenant.id', 'entities', 'membersAdded', 'attachments', 'timestamp', 'deliveryMode'];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Record<string, unknown> = target;
  for (const p of parts.slice(0, -1)) {
    if (!at[p] || typeof at[p] !== 'object' || Array.isArray(at[p])) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  if (value === undefined) delete at[parts.at(-1)!];
  else at[parts.at(-1)!] = value;
}

function mutatedActivity(h: Harness) {
  return fc
    .record({
      type: fc.constantFrom(...TYPES),
      name: fc.constantFrom(...INVOKE_NAMES),
      text: fc.constantFrom('help', 'pending', 'status CS-0000', 'delete resource group', '', 'audit export'),
      changes: fc.array(fc.tuple(fc.constantFrom(...PATHS), fc.option(json, { nil: undefined })), { maxLength: 4 }),
    })
    .map(({ type, name, text, changes }) => {
      const a = h.teams.activity(people.alice, opsChannel, { type, name, text, value: { action: { type: 'Action.Execute', verb: 'approve', data: { requestId: 'CS-00000000' } } } });
      for (const [path, value] of changes) setPath(a, path, value);
      return a;
    });
}

async function post(h: Harness, body: unknown, authorization?: string) {
  const res = await fetch(`${h.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

function assertNoInternals(r: { status: number; text: string }, body: unknown) {
  assert.ok([200, 400, 401].includes(r.status), `HTTP ${r.status} ${r.text.slice(0, 300)} for ${JSON.stringify(body).slice(0, 500)}`);
  if (r.status !== 200) assert.doesNotMatch(r.text, /\n\s+at |TypeError|ReferenceError|Cannot read|undefined is not|node_modules/);
}

describe('activity validation fuzz', function () {
  this.timeout(120000);

  it('activityProblem never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const p = activityProblem(v);
        assert.ok(p === undefined || (typeof p === 'string' && p.length < 120));
      }),
      { numRuns: 1000, seed: 4_122_026 },
    );
  });

  describe('over HTTP, authentication off', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness();
    });
    after(async () => {
      await h.stop();
    });

    it('answers arbitrary JSON bodies 200 or 400, never 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(json, async (body) => assertNoInternals(await post(h, body), body)),
        { numRuns: 60, seed: 1_122_026 },
      );
    });

    it('answers activities with fields replaced by arbitrary JSON 200 or 400, never 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(mutatedActivity(h), async (body) => assertNoInternals(await post(h, body), body)),
        { numRuns: 100, seed: 2_122_026 },
      );
      assert.ok(!h.logs.some((l) => l.msg === 'turn failed' || l.msg === 'activity failed'), JSON.stringify(h.logs.filter((l) => l.msg === 'turn failed' || l.msg === 'activity failed').slice(0, 3)));
    });
  });

  describe('over HTTP, authentication on', () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ env: { MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'not-a-real-secret' } });
    });
    after(async () => {
      await h.stop();
    });

    it('answers arbitrary activities without a valid token 400 or 401, never 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(mutatedActivity(h), fc.constantFrom(undefined, 'Bearer x', 'Bearer a.b.c', 'Basic Zm9v', 'Bearer'), async (body, authorization) => {
          const r = await post(h, body, authorization);
          assertNoInternals(r, body);
          assert.notEqual(r.status, 200);
        }),
        { numRuns: 40, seed: 3_122_026 },
      );
    });
  });
});
