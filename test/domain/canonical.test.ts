import assert from 'node:assert/strict';
import { auditRecordBody, auditRecordHash, canonicalJson, operationHash, sha256Hex } from '../../src/domain/canonical';
import type { AuditRecord } from '../../src/domain/audit';
import type { ChangeOperation } from '../../src/domain/operation';

const SUB = '00000000-0000-4000-8000-00000000abcd';
const template = { $schema: 'x', resources: [{ type: 'Microsoft.Web/sites', name: 'api', properties: { httpsOnly: true } }] };
const deployment: ChangeOperation = {
  kind: 'deployTemplate',
  subscriptionId: SUB,
  resourceGroup: 'production-api-service',
  deploymentName: 'countersign-req-0001',
  template,
  parameters: { environment: 'production' },
  mode: 'Incremental',
};
const input: Parameters<typeof operationHash>[0] = {
  command: 'deploy',
  parameters: { environment: 'production', service: 'api-service' },
  target: { subscriptionId: SUB, resourceGroup: 'production-api-service' },
  operation: deployment,
};
const baseline = operationHash(input);

describe('canonical JSON', () => {
  it('writes keys in one order whatever order they were built in', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 'x' } }), '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('refuses a value JSON cannot hold', () => {
    assert.throws(() => canonicalJson(undefined), TypeError);
  });

  it('hashes as SHA-256 in hex', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('the operation hash an approval binds to', () => {
  it('is the same for the same operation built with keys in another order', () => {
    const reordered = {
      operation: {
        mode: 'Incremental' as const,
        parameters: { environment: 'production' },
        template: { resources: [{ properties: { httpsOnly: true }, name: 'api', type: 'Microsoft.Web/sites' }], $schema: 'x' },
        deploymentName: 'countersign-req-0001',
        resourceGroup: 'production-api-service',
        subscriptionId: SUB,
        kind: 'deployTemplate' as const,
      },
      target: { resourceGroup: 'production-api-service', subscriptionId: SUB },
      parameters: { service: 'api-service', environment: 'production' },
      command: 'deploy',
    };
    assert.equal(operationHash(reordered), baseline);
    assert.match(baseline, /^[0-9a-f]{64}$/);
  });

  const changes: [string, typeof input][] = [
    ['the command', { ...input, command: 'deploy now' }],
    ['a parameter', { ...input, parameters: { ...input.parameters, environment: 'staging' } }],
    ['an added parameter', { ...input, parameters: { ...input.parameters, extra: '' } }],
    ['the target resource group', { ...input, target: { ...input.target, resourceGroup: 'staging-api-service' } }],
    ['the target resource', { ...input, target: { ...input.target, resourceId: `/subscriptions/${SUB}/resourceGroups/x/providers/a/b/c` } }],
    ['the deployment mode', { ...input, operation: { ...deployment, mode: 'Complete' } }],
    ['a deployment parameter', { ...input, operation: { ...deployment, parameters: { environment: 'staging' } } }],
    [
      'one property deep in the template',
      { ...input, operation: { ...deployment, template: { ...template, resources: [{ ...template.resources[0], properties: { httpsOnly: false } }] } } },
    ],
    ['the subscription', { ...input, operation: { ...deployment, subscriptionId: '00000000-0000-4000-8000-00000000ffff' } }],
  ];
  for (const [what, changed] of changes) {
    it(`changes when ${what} changes`, () => {
      assert.notEqual(operationHash(changed), baseline);
    });
  }
});

describe('the hash of an audit record', () => {
  const record: AuditRecord = {
    schemaVersion: 1,
    id: 'evt-1',
    seq: 1,
    prevHash: '0'.repeat(64),
    hash: 'to be replaced',
    type: 'request.created',
    time: '2026-03-02T09:00:00.000Z',
    outcome: { result: 'ok' },
  };

  it('covers every field but the hash itself', () => {
    assert.equal(auditRecordHash(record), auditRecordHash({ ...record, hash: 'anything else' }));
    assert.doesNotMatch(auditRecordBody(record), /to be replaced/);
    assert.equal(auditRecordHash(record), sha256Hex(auditRecordBody(record)));
  });

  it('changes when any recorded field changes', () => {
    for (const changed of [{ ...record, seq: 2 }, { ...record, prevHash: '1'.repeat(64) }, { ...record, outcome: { result: 'refused' as const } }]) {
      assert.notEqual(auditRecordHash(changed), auditRecordHash(record));
    }
  });
});
