/**
 * Control characters a client puts in ids are refused at the gate, on both stores, and the refusal
 * is audited: U+0000 cannot be kept by PostgreSQL's text at all, so a store lookup with it would fail
 * instead of finding nothing, and the tampered click would leave no record.
 */
import assert from 'node:assert/strict';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres';
import { auditOf, requestVia } from '../support/flows';
import { startHarness, type Harness } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { opsChannel, people } from '../support/teams';

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`control characters in client ids refused at the gate, audited (${backend})`, function () {
    this.timeout(60_000);
    let h: Harness;
    let db: TestDatabase | undefined;
    let pgStore: PostgresStore | undefined;
    before(async () => {
      if (backend === 'PostgreSQL') {
        db = await createTestDatabase();
        pgStore = await openPostgresStore({ connection: db.connection });
      }
      h = await startHarness(pgStore ? { wrapStore: () => pgStore! } : {});
    });
    after(async () => {
      await h.stop();
      await pgStore?.close();
      await db?.drop();
    });

    const last = async () => (await auditOf(h)).at(-1)!;

    it('refuses a click whose requestId holds U+0000, naming the field, and records it as click.refused', async () => {
      const { cardId } = await requestVia(h, 'delete resource group staging-old');
      const answer = await h.teams.click(people.bob, cardId, 'approve', { data: { requestId: 'CS-\u0000X' } });
      assert.equal(answer.status, 200);
      assert.match(String(answer.body.value), /requestId holds the control character U\+0000 \(at position 4\), which no Teams message or card carries\. Nothing was changed\./);
      const record = await last();
      assert.equal(record.type, 'click.refused');
      assert.equal(record.outcome.reason, 'unsafe-text');
      const kept = (record.data?.controlled as Record<string, { prefix: string; length: number; character: string }>).requestId;
      assert.deepEqual({ prefix: kept.prefix, length: kept.length, character: kept.character }, { prefix: 'CS-\\u0000X', length: 5, character: 'U+0000' });
      assert.ok(!h.logs.some((l) => Number(l.level) >= 50), 'no error logged');
    });

    it('refuses a message with U+0000 in its text, and a tab in a conversation id', async () => {
      const before = h.connector.sent.length;
      const typed = await h.teams.post(h.teams.activity(people.alice, opsChannel, { type: 'message', text: 'status CS-\u0000ABC' }));
      assert.equal(typed.status, 200);
      assert.match(String(h.teams.since(before)[0]?.activity.text), /messageText holds the control character U\+0000 \(at position 11\)/);
      assert.equal((await last()).type, 'request.refused');
      await h.teams.post(h.teams.activity(people.alice, { ...opsChannel, id: '19:ops\tchannel@thread.tacv2' }, { type: 'message', text: 'help' }));
      const record = await last();
      assert.equal(record.type, 'request.refused');
      assert.match(String(record.outcome.detail), /conversationId holds the control character U\+0009 \(at position 7\)/);
      assert.ok(!h.logs.some((l) => Number(l.level) >= 50), 'no error logged');
    });

    it('refuses a request and a click from a display name holding half of a surrogate pair, naming it, before any is saved', async () => {
      const { cardId, requestId } = await requestVia(h, 'delete resource group staging-old', people.dave);
      const before = h.connector.sent.length;
      await h.teams.say({ ...people.alice, name: 'Alice \uD800' }, 'delete resource group staging-old');
      assert.match(String(h.teams.since(before)[0]?.activity.text), /name holds U\+D800 \(at position 7\), half of a character, which no Teams message or card carries\. Nothing was changed\./);
      assert.equal((await last()).outcome.reason, 'unsafe-text');
      const answer = await h.teams.click({ ...people.bob, name: 'Bob \uDC00' }, cardId, 'approve');
      assert.match(String(answer.body.value), /name holds U\+DC00 \(at position 5\), half of a character/);
      const record = await last();
      assert.equal(record.type, 'click.refused');
      assert.equal(record.actor?.name, 'Bob \uFFFD');
      assert.equal((await h.bot.deps.store.requests.get(requestId))?.approvals.length, 0);
      assert.ok(!h.logs.some((l) => Number(l.level) >= 50), 'no error logged');
    });

    it('records a refusal whose actor id holds U+0000 (escaped), so the record can be stored', async () => {
      await h.teams.post(h.teams.activity({ ...people.alice, aadObjectId: `${people.alice.aadObjectId}\u0000` }, opsChannel, { type: 'message', text: 'help' }));
      const record = await last();
      assert.equal(record.type, 'request.refused');
      assert.equal(record.actor?.aadObjectId, `${people.alice.aadObjectId}\\u0000`);
    });
  });
}
