/**
 * The audit log's indexes as `audit verify` judges them, from what a store's catalog says
 * (src/audit/verify/schema-findings.ts), on a stand-in for the catalog.
 */
import assert from 'node:assert/strict';
import { schemaFindings, type AuditIndex, type StoredSchema } from '../../src/audit/verify/schema-findings';

const REQUEST: AuditIndex = { name: 'audit_log_request', state: 'as-made', holds: 'requests', where: 'request_id IS NOT NULL' };
const ACTOR: AuditIndex = { name: 'audit_log_actor_folded', state: 'as-made', holds: 'actors', where: 'actor_id IS NOT NULL' };

/** A catalog with these indexes, each holding `entries` (of which `past` are of records after the seq asked about). */
function catalog(indexes: AuditIndex[], counts: Record<string, { entries: number; past: number } | undefined>): StoredSchema & { asked: [string, number][] } {
  const asked: [string, number][] = [];
  return {
    asked,
    missingAuditTriggers: async () => [],
    tables: async () => ({ present: new Set<string>(), created: [] }),
    requestsWithoutRow: async () => [],
    auditIndexes: async () => indexes,
    auditIndexEntries: async (index, lastSeq) => {
      asked.push([index.name, lastSeq]);
      return counts[index.name];
    },
  };
}

describe('audit verify: the indexes of the audit log', () => {
  it('finds the indexes whole when each holds one entry per record it must, records appended since the scan counted in', async () => {
    const schema = catalog([REQUEST, ACTOR], { audit_log_request: { entries: 12, past: 2 }, audit_log_actor_folded: { entries: 7, past: 0 } });
    const f = await schemaFindings(schema, { lastSeq: 10, named: { requests: 10, actors: 7 } });
    assert.deepEqual([f.indexProblems, f.warnings], [[], []]);
    assert.deepEqual(schema.asked, [['audit_log_request', 10], ['audit_log_actor_folded', 10]]);
  });

  it('names an index holding fewer entries, or more, than the records it must', async () => {
    const f = await schemaFindings(catalog([REQUEST, ACTOR], { audit_log_request: { entries: 11, past: 2 }, audit_log_actor_folded: { entries: 9, past: 0 } }), { lastSeq: 10, named: { requests: 10, actors: 7 } });
    assert.deepEqual(f.indexProblems, [
      "the index audit_log_request holds 11 entries for the 12 records that name a request: 1 of them is missing from it, hidden from whatever reads one request's records through it. The records themselves are as verified; rebuild the index (REINDEX audit_log_request) and find out who changed it",
      'the index audit_log_actor_folded holds 9 entries for the 7 records that name an actor: 2 entries more than there are such records, for records that are not there or are another\'s. The records themselves are as verified; rebuild the index (REINDEX audit_log_actor_folded) and find out who changed it',
    ]);
  });

  it('counts nothing when the records did not verify whole, and says so of an index the database would not count through', async () => {
    const schema = catalog([REQUEST, ACTOR], { audit_log_request: { entries: 1, past: 0 }, audit_log_actor_folded: undefined });
    assert.deepEqual((await schemaFindings(schema, { lastSeq: 4 })).indexProblems, []);
    assert.deepEqual(schema.asked, []);
    const f = await schemaFindings(schema, { lastSeq: 4, named: { requests: 1, actors: 3 } });
    assert.deepEqual(f.indexProblems, []);
    assert.deepEqual(f.warnings, ['the index audit_log_actor_folded could not be counted through itself, so whether it holds all the records that name an actor was not checked']);
  });
});
