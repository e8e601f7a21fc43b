/**
 * The example config with "delete resource group" needing a quorum (one approval from
 * platform-approvers AND one from security) and a reason of at least 20 characters. Bob, Dave and
 * Frank hold quorum-platform; Erin holds security.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EXAMPLE_CONFIG } from './people';

export function quorumConfigText(): string {
  let text = readFileSync(EXAMPLE_CONFIG, 'utf8');
  const roles = '  auditors:\n';
  assert.ok(text.includes(roles));
  text = text.replace(
    roles,
    '  security:\n    - 44444444-4444-4444-8444-444444444444 # Erin Auditor\n' +
      '  quorum-platform:\n    - 22222222-2222-4222-8222-222222222222 # Bob Approver\n    - 55555555-5555-4555-8555-555555555555 # Dave Lead\n    - c0ffee00-ca70-4ca7-8ca7-ca70ca70ca70 # Frank Approver\n' +
      roles,
  );
  const at = text.indexOf('  - name: delete resource group');
  const policy = '      approvals: 1\n      approverRoles: [platform-approvers]\n';
  const tail = text.slice(at);
  assert.ok(tail.includes(policy));
  const quorum = '      requirements:\n        - role: quorum-platform\n        - role: security\n      reason:\n        required: true\n        minLength: 20\n';
  return text.slice(0, at) + tail.replace(policy, quorum);
}
