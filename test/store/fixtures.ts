/** Builders for requests and audit events, shared by the store and audit tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEventDraft, AuditEventType, AuditRequestRef } from '../../src/domain/audit';
import { operationHash } from '../../src/domain/canonical';
import type { ApprovalRequest } from '../../src/domain/request';
import { alice } from '../support/people';

export { alice, bob } from '../support/people';


const OPERATION = {
  command: 'restart-vm',
  parameters: { vm: 'web-01', resourceGroup: 'rg-prod' },
  operation: {
    kind: 'resourceAction' as const,
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    resourceId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web-01',
    action: 'restart',
    apiVersion: '2024-07-01',
  },
  target: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod' },
};

/** The operation hash of aRequest's operation, which requestRef's records carry: a request and its records agree, as Countersign writes them. */
const FIXTURE_OPERATION_HASH = operationHash(OPERATION);

export function aRequest(id: string, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    version: 1,
    state: 'pending',
    command: 'restart-vm',
    parameters: { vm: 'web-01', resourceGroup: 'rg-prod' },
    reason: 'patch Tuesday',
    operation: {
      kind: 'resourceAction',
      subscriptionId: '00000000-0000-0000-0000-000000000001',
      resourceId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/web-01',
      action: 'restart',
      apiVersion: '2024-07-01',
    },
    operationHash: FIXTURE_OPERATION_HASH,
    target: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod' },
    requester: alice,
    source: { channelId: 'msteams', conversationId: 'conv-1', conversationType: 'personal', activityId: 'act-1' },
    policy: { approvals: 1, approverRoles: ['approver'], ttlSeconds: 3600, version: 'b'.repeat(64) },
    approvals: [],
    createdAt: '2026-11-02T09:00:00.000Z',
    expiresAt: '2026-11-02T10:00:00.000Z',
    updatedAt: '2026-11-02T09:00:00.000Z',
    sandbox: true,
    ...overrides,
  };
}

export function requestRef(id: string): AuditRequestRef {
  return { id, command: 'restart-vm', parameters: { vm: 'web-01' }, operationHash: FIXTURE_OPERATION_HASH, policyVersion: 'b'.repeat(64) };
}

export function anEvent(type: AuditEventType, overrides: Partial<AuditEventDraft> = {}): AuditEventDraft {
  return {
    type,
    time: '2026-11-02T09:00:00.000Z',
    actor: alice,
    source: { channelId: 'msteams', conversationId: 'conv-1', conversationType: 'personal' },
    request: requestRef('req-1'),
    target: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-prod' },
    outcome: { result: 'ok' },
    ...overrides,
  };
}

/** A time n seconds after a fixed start, ISO-8601 UTC. */
export function timeAt(n: number): string {
  return new Date(Date.UTC(2026, 10, 2, 9, 0, 0) + n * 1000).toISOString();
}

/** A fresh directory under the OS temp dir, removed by the returned function. */
export function tempDir(prefix = 'countersign-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}


export function sequentialIds(prefix = 'rec-'): () => string {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(6, '0')}`;
}
