import assert from 'node:assert/strict';
import type { DecisionContext, Transition } from '../../src/domain/lifecycle';
import type { Refusal } from '../../src/domain/refusal';
import type { Actor, Source } from '../../src/domain/request';
import { bob, frank, dave, minutesIn, TENANT } from '../support/requests';

/** Bob, Frank and Dave hold platform-approvers in the request's tenant; nobody else does. */
const APPROVER_IDS = new Set([bob, frank, dave].map((a) => a.aadObjectId.toLowerCase()));

export function holdsApproverRole(actor: Actor): boolean {
  return actor.tenantId === TENANT && APPROVER_IDS.has(actor.aadObjectId.toLowerCase());
}

export function decisionBy(actor: Actor, options: { now?: Date; cardHash?: string; source?: Source; zone?: string } = {}): DecisionContext {
  return {
    now: options.now ?? minutesIn(10),
    actor,
    isApprover: holdsApproverRole,
    ...(options.cardHash !== undefined ? { cardHash: options.cardHash } : {}),
    ...(options.source ? { source: options.source } : {}),
    ...(options.zone ? { zone: options.zone } : {}),
  };
}

export function accepted(t: Transition): Extract<Transition, { ok: true }> {
  if (!t.ok) assert.fail(`expected the transition to go through, but it was refused: ${t.refusal.reason}: ${t.refusal.message}`);
  return t;
}

export function refused(t: Transition): Refusal {
  if (t.ok) assert.fail(`expected a refusal, but the request moved to ${t.request.state}`);
  return t.refusal;
}
