import type { DriftRecord, TargetSnapshot } from './drift';
import type { RiskLevel } from './risk';
import type { ArmError, ArmOperationRef, ChangeOperation, OperationProgress, Target, WhatIfSummary } from './operation';

/** A person as Teams authenticated them: the Entra object id is the identity, the name is for display. */
export interface Actor {
  aadObjectId: string;
  tenantId: string;
  name: string;
}

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

/** Where an activity came from. */
export interface Source {
  channelId: string;
  conversationId: string;
  conversationType: ConversationKind;
  activityId?: string;
}

export type RequestState =
  | 'pending'
  /** What would happen changed after the approval (drift): approvals were cleared, decide again. */
  | 'needs_reapproval'
  | 'approved'
  | 'executing'
  | 'succeeded'
  | 'failed'
  | 'unknown'
  | 'rejected'
  | 'cancelled'
  | 'expired';

export const OPEN_STATES: readonly RequestState[] = ['pending', 'needs_reapproval', 'approved', 'executing'];
/** States in which approvers approve or reject, the requester may cancel, and the time to live runs. */
export const DECIDABLE_STATES: readonly RequestState[] = ['pending', 'needs_reapproval'];

/** The policy as it stood when the request was created (the audit trail records its version). */
export interface PolicySnapshot {
  approvals: number;
  approverRoles: string[];
  ttlSeconds: number;
  /** SHA-256 of the loaded configuration. */
  version: string;
}

export interface Approval {
  approver: Actor;
  at: string;
  /** The operation hash the approver approved (always equal to the request's). */
  operationHash: string;
  /** The approver is a delegate deciding with this person's authority (absent on older requests). */
  onBehalfOf?: Actor;
  /** The delegation that carried it: re-checked at execution. */
  delegationId?: string;
}

export interface Decision {
  by: Actor;
  at: string;
  comment?: string;
  /** A rejection by a delegate, with this person's authority. */
  onBehalfOf?: Actor;
  delegationId?: string;
}

/** Who is running an execution, until when (renewed while it runs; an expired lease may be taken over). */
export interface ExecutionLease {
  owner: string;
  expiresAt: string;
}

export interface Execution {
  startedAt: string;
  finishedAt?: string;
  ref: ArmOperationRef;
  lease?: ExecutionLease;
  /** Someone asked Azure to cancel the running operation (deployments). */
  cancellation?: Decision;
  /** When another run of Countersign took the execution over after its lease expired. */
  resumedAt?: string[];
  progress?: OperationProgress;
  outputs?: Record<string, unknown>;
  summary?: string;
  error?: ArmError;
}

export interface ApprovalRequest {
  id: string;
  /** Bumped on every saved change; updates are compare-and-swap on it. */
  version: number;
  state: RequestState;
  command: string;
  /** Canonical parameter values, by declared name. */
  parameters: Record<string, string>;
  reason?: string;
  operation: ChangeOperation;
  /** SHA-256 over the canonical JSON of {command, parameters, target, operation}. */
  operationHash: string;
  target: Target;
  requester: Actor;
  source: Source;
  policy: PolicySnapshot;
  approvals: Approval[];
  rejection?: Decision;
  cancellation?: Decision;
  whatIf?: WhatIfSummary;
  /** The target as it stood when approval was asked for (operations other than deployments): drift is measured against it. */
  baseline?: TargetSnapshot;
  /** The latest drift found right before execution: what changed since the approval. */
  drift?: DriftRecord;
  execution?: Execution;
  /** Why the request ended where it did, in words (failed, unknown, expired, role re-check). */
  outcomeDetail?: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  /** How risky approvers are told it is (the command's `risk`, or the operation's default). Absent on requests made before it existed. */
  risk?: RiskLevel;
  /** True when the operation ran against the local ARM sandbox, not Azure. */
  sandbox: boolean;
}

export function isDecidable(r: Pick<ApprovalRequest, 'state'>): boolean {
  return DECIDABLE_STATES.includes(r.state);
}
