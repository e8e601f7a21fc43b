import assert from 'node:assert/strict';
import { buildRequest } from '../../support/requests';
import { evidenceOf } from './evidence-of';

describe('evidence summary (SUMMARY.md)', () => {
  const summaryOf = (...args: Parameters<typeof buildRequest>) => evidenceOf(buildRequest(...args)).find((f) => f.name === 'SUMMARY.md')?.content ?? '';

  it('ends each sentence with one full stop, also when the text it ends with has its own', () => {
    const summary = summaryOf({ state: 'succeeded', outcomeDetail: 'Resource group rg-old and everything in it deleted.', reason: 'INC-4711: clean-up.' });
    assert.match(summary, /Final state: succeeded: Resource group rg-old and everything in it deleted\. ARM identifiers: arm\.json\./);
    assert.match(summary, /; reason: INC-4711: clean-up\.\n/);
    assert.doesNotMatch(summary, /\.\./);
  });

  it('still ends a sentence whose text has no full stop of its own', () => {
    const summary = summaryOf({ state: 'failed', outcomeDetail: 'ARM said Conflict' });
    assert.match(summary, /Final state: failed: ARM said Conflict\. ARM identifiers/);
  });
});
