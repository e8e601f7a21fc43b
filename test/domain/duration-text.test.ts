import assert from 'node:assert/strict';
import { canonicalRequestId, requestIdAsNamed } from '../../src/domain/request-ids';
import { formatDuration, plural } from '../../src/domain/duration-text';
import { defaultRisk } from '../../src/domain/risk';
import type { ChangeOperation } from '../../src/domain/operation';

describe('durations, counts and request ids as people read and type them', () => {
  it('says a duration in at most two units, in the right number', () => {
    assert.deepEqual([45, 60, 1800, 3600, 5400, 14400, 86400, 90000, 0].map(formatDuration), ['45 seconds', '1 minute', '30 minutes', '1 hour', '1 hour 30 minutes', '4 hours', '1 day', '1 day 1 hour', '0 seconds']);
    assert.equal(plural(1, 'approval'), '1 approval');
    assert.equal(plural(2, 'approval'), '2 approvals');
  });

  it('reads a request id in any case, with Crockford\'s look-alike letters and trailing punctuation', () => {
    assert.equal(canonicalRequestId(' cs-7k3m9qxw. '), 'CS-7K3M9QXW');
    assert.equal(canonicalRequestId('CS-7K3MOQXL'), 'CS-7K3M0QX1');
    assert.equal(canonicalRequestId('req-0001'), 'req-0001');
  });

  it('reads a request id in quotes or brackets, a client\'s curly quotes too', () => {
    for (const typed of ['“CS-7K3M9QXW”', '"cs-7k3m9qxw".', "'CS-7K3M9QXW'", '(CS-7K3M9QXW)', '<CS-7K3M9QXW>', '[CS-7K3M9QXW],']) {
      assert.equal(canonicalRequestId(typed), 'CS-7K3M9QXW', typed);
    }
  });

  it('names an id as typed beside the one it is read as, when a look-alike letter was read as a digit', () => {
    assert.equal(requestIdAsNamed('CS-NOPE0000'), 'CS-N0PE0000 (typed CS-NOPE0000: I and L are read as 1, O as 0)');
    assert.equal(requestIdAsNamed(' cs-7k3m9qxw. '), 'CS-7K3M9QXW');
    assert.equal(requestIdAsNamed('nope'), '"nope"');
  });

  it('says no letter was read as a digit when only quotes, brackets or case were around or in the id', () => {
    for (const typed of ['“CS-7K3M9QXW”', '(cs-7k3m9qxw).', '<CS-7K3M9QXW>']) assert.equal(requestIdAsNamed(typed), 'CS-7K3M9QXW', typed);
    assert.equal(requestIdAsNamed('“cs-nope0000”'), 'CS-N0PE0000 (typed CS-NOPE0000: I and L are read as 1, O as 0)');
    // Not a request id's shape: named as typed, never as an id with letters changed nobody typed.
    assert.equal(requestIdAsNamed('cs-nope'), 'cs-nope');
    assert.equal(requestIdAsNamed('CS-NOPE000U'), 'CS-NOPE000U');
    // What is said back stays short however many brackets were typed before it.
    assert.ok(requestIdAsNamed(`${'('.repeat(5000)}CS-7K3M9QXO`).length < 100);
  });
});

describe('the risk of an operation when its command does not say', () => {
  const s = 'sub';
  const deploy = (rg: string, mode: 'Incremental' | 'Complete' = 'Incremental'): ChangeOperation => ({ kind: 'deployTemplate', subscriptionId: s, resourceGroup: rg, deploymentName: 'd', template: {}, parameters: {}, mode });
  it('ranks deletes above deploys, production above staging, complete mode above incremental', () => {
    assert.equal(defaultRisk({ kind: 'deleteResourceGroup', subscriptionId: s, resourceGroup: 'staging-old' }, {}), 'critical');
    assert.equal(defaultRisk({ kind: 'deleteResource', subscriptionId: s, resourceId: '/x', apiVersion: 'v' }, {}), 'high');
    assert.equal(defaultRisk(deploy('production-api'), { environment: 'production' }), 'high');
    assert.equal(defaultRisk(deploy('staging-api'), { environment: 'staging' }), 'medium');
    assert.equal(defaultRisk(deploy('staging-api', 'Complete'), {}), 'high');
    assert.equal(defaultRisk(deploy('prod-api', 'Complete'), {}), 'critical');
    assert.equal(defaultRisk({ kind: 'createResourceGroup', subscriptionId: s, resourceGroup: 'g', location: 'l', tags: {} }, {}), 'low');
  });
});
