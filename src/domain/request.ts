import type { DriftRecord, TargetSnapshot } from './drift';
import type { RiskLevel } from './risk';
import type { SchedulePolicy } from './schedule';
import type { ArmError, ArmOperationRef, ChangeOperation, OperationProgress, Target, WhatIfSummary } from './operation';

/** A person as Teams authenticated them: the Entra object id is the identity, the name is for display. */
export interface Actor {
  aadObjectId: string;
  tenantId: string;
  name: string;
}

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

/** The conversation types Teams sends (`conversation.conversationType`): Countersign knows no other. */
export const CONVERSATION_KINDS: readonly ConversationKind[] = ['personal', 'groupChat', 'channel'];

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
  /** Approved, waiting for the time asked for or the command's maintenance window (domain/schedule.ts). */
  | 'scheduled'
  | 'executing'
  | 'succeeded'
  | 'failed'
  | 'unknown'
  | 'rejected'
  | 'cancelled'
  | 'expired';

export const OPEN_STATES: readonly RequestState[] = ['pending', 'needs_reapproval', 'approved', 'scheduled', 'executing'];
/** States a request ends in: nothing changes it afterwards (but a break-glass review). */
export const ENDED_STATES: readonly RequestState[] = ['succeeded', 'failed', 'unknown', 'rejected', 'cancelled', 'expired'];
/** States in which approvers approve or reject, the requester may cancel, and the time to live runs. */
export const DECIDABLE_STATES: readonly RequestState[] = ['pending', 'needs_reapproval'];

/** The policy as it stood when the request was created (the audit trail records its version). */
export interface PolicySnapshot {
  /** All approvals needed (the requirements' counts added up). */
  approvals: number;
  /** Every role that approves (the requirements' roles together). */
  approverRoles: string[];
  /** Approvals needed from each set of roles at once (absent on older requests: `approvals` from `approverRoles`). */
  requirements?: Requirement[];
  ttlSeconds: number;
  /** SHA-256 of the loaded configuration. */
  version: string;
  /** Who is told when the request needs deciding (absent on requests made before it existed: personal chats, no channels). */
  notify?: NotifyPolicy;
  /** When the people who have not decided are reminded (absent: never). */
  reminders?: ReminderPolicy;
  /** Who else may decide once the request waited too long (absent: nobody). */
  escalation?: EscalationPolicy;
  /** Maintenance windows and how long an approval stays valid (absent on requests made before it existed: any time, 7 days). */
  schedule?: SchedulePolicy;
  /** Present only when the command's policy allows break-glass (off by default). */
  breakGlass?: BreakGlassPolicy;
}

/** Who may run the command at once without approval, and how that is reviewed after the fact. */
export interface BreakGlassPolicy {
  /** Roles whose members may use break-glass for the command (they must also be allowed to request it). */
  roles: string[];
  /** Seconds after the use by which an approver must ratify or flag it. */
  reviewWithinSeconds: number;
  /** Conversation ids the loud notice goes to (besides the approvers in personal chats). */
  notify: string[];
  /** At most `count` uses by one person of this command within any `perSeconds` (absent: no limit but the request rate). */
  maxUses?: { count: number; perSeconds: number };
}

/** A break-glass use recorded on its request: it ran without approval and waits for a second person's review. */
export interface BreakGlassUse {
  reason: string;
  usedAt: string;
  reviewDueAt: string;
  /** Set when an approver (never the requester) ratified or flagged it. */
  review?: { verdict: 'ratified' | 'flagged'; by: Actor; at: string; comment?: string };
  /** Set when the review was overdue and escalated. */
  overdueAt?: string;
}

/** One part of a quorum: `count` approvals from distinct people holding any of `roles`. */
export interface Requirement {
  roles: string[];
  count: number;
}

export interface NotifyPolicy {
  /** `personal`: each person who may decide gets the card in a personal chat with Countersign. */
  approvers: 'personal' | 'none';
  /** Conversation ids (channels, group chats) the card is also posted to. */
  channels: string[];
}

export interface ReminderPolicy {
  /** Seconds before expiry at which a reminder is due, largest first (fractions of the time to live already converted). */
  beforeExpirySeconds: number[];
  /** At most this many reminders per request. */
  max: number;
}

export interface EscalationPolicy {
  /** The role that may decide too once the request is escalated. */
  role: string;
  /** Seconds after creation with no decision before it is escalated. */
  afterSeconds: number;
}

/** Someone (or a conversation) Countersign could not bring the request to, and why. */
export interface Unreachable {
  /** An Entra object id, or a conversation id for an approval channel. */
  id: string;
  name?: string;
  why: string;
}

/**
 * Someone (or a channel) a round could not reach only because Countersign's own database failed. `card`:
 * the card Teams took whose recording failed; the round taken up again records that card (its buttons
 * then work) instead of sending a second one.
 */
export interface RoundMissed {
  id: string;
  card?: { conversationId: string; activityId: string };
}

/** The occasions whose round of messages is recorded on the request before it starts (RoundDue). */
export type RoundOccasion = 'created' | 'reapproval' | 'escalated' | 'reminder' | 'break-glass' | 'review-overdue';

/**
 * A round of messages telling people of the request, written with the change that calls for it
 * (its creation, the drift that needs approving again, the escalation, a reminder, a break-glass use
 * and its overdue review) before the first
 * message goes: whom the round has not recorded an outcome for yet. A round a stop cut short, or one
 * whose instance died, is taken up again by whichever instance sweeps first (lifecycle/reach.ts).
 */
export interface RoundDue {
  occasion: RoundOccasion;
  /** When it began, or was last taken up again: names the round (a late write of an older one leaves it alone). */
  at: string;
  /** Object ids told in personal chats, and conversation ids, whose outcome is not recorded yet. */
  people: string[];
  channels: string[];
  /** A stop recorded some of them as not reached: taken up again at the next sweep, without waiting. */
  cut?: true;
  /**
   * Those among them recorded as not reached only because Countersign's own database failed during
   * the round (their chat could not be looked up, or their card could not be recorded): once they are
   * all that is left of the round (nobody else's message may still be on its way), it is taken up
   * again at the next sweep, which can write only once the database works again.
   */
  missed?: RoundMissed[];
  /** How many times it was taken up again. */
  resumed?: number;
}

export interface Approval {
  approver: Actor;
  at: string;
  /** The operation hash the approver approved (always equal to the request's). */
  operationHash: string;
  /** The index of the policy requirement this approval fills (absent on older requests: the only one). */
  requirement?: number;
  /** The approver is a delegate deciding with this person's authority (absent on older requests). */
  onBehalfOf?: Actor;
  /** The delegation that carried it: re-checked at execution. */
  delegationId?: string;
  /** When that delegation was to end (absent on older requests): past it, the approval no longer counts. */
  delegationUntil?: string;
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
  /** The owner let the lease go at this time (a graceful stop, or a run that could not send) rather than let it expire. */
  releasedAt?: string;
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
  /** The names of the outputs withheld as secret (deployment-outputs.ts): neither kept nor shown. */
  withheldOutputs?: string[];
  summary?: string;
  error?: ArmError;
}

export interface ApprovalRequest {
  id: string;
  /** Bumped on every saved change; updates are compare-and-swap on it. */
  version: number;
  /**
   * The version its card shows, when later writes changed nothing the card shows (an owed outcome
   * message taken or settled, a round of messages recorded or taken up again: lifecycle/transition.ts
   * bookkeeping); absent, the card shows `version`.
   * Card updates claim this version, so those writes do not make a card outdated.
   */
  cardVersion?: number;
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
  /**
   * Set when an accepted loss of audit records expired it, unrun (countersign audit accept-loss): when,
   * and where the log then ended (null: it was empty). Its card says so rather than that nobody
   * approved it in time: what was lost may hold its approval and run.
   */
  expiredAtAuditLoss?: { at: string; head: number | null };
  createdAt: string;
  /** Pending: when it expires undecided. Scheduled: when the approval stops being valid if it has not started. */
  expiresAt: string;
  /** The run time the requester asked for (`... at <time>`), resolved to an instant. */
  requestedRunAt?: string;
  /** Scheduled: when it will start (the time asked for, or the next maintenance window moment). */
  runAt?: string;
  /** When it last changed: a write no card shows (lifecycle/transition.ts bookkeeping) leaves it as it was. */
  updatedAt: string;
  /** How risky approvers are told it is (the command's `risk`, or the operation's default). Absent on requests made before it existed. */
  risk?: RiskLevel;
  /**
   * Where it runs as approvers are told ("in PRODUCTION"), decided when it was made from its
   * subscription's configured environment and its names (risk.ts environmentOf). Absent when
   * nothing said one, and on requests made before it was recorded (the card then reads the names).
   */
  environment?: string;
  /** True when the operation ran against the local ARM sandbox, not Azure. */
  sandbox: boolean;
  /** Reminders sent so far and the latest reminder point handled (recorded before they are sent). */
  reminders?: { sent: number; lastPointAt: string };
  /** Set once the request waited past the policy's escalation delay: the escalation role may decide too. */
  escalation?: { role: string; at: string };
  /** Run at once without approval (break-glass): reviewed after the fact. */
  breakGlass?: BreakGlassUse;
  /** Who could not be told of the request when it was last tried (shown on the card). */
  unreachable?: Unreachable[];
  /** The round of messages under way, while anyone in it has no recorded outcome. */
  round?: RoundDue;
  /**
   * The message telling the requester how the execution ended, while Teams has not taken it:
   * recorded with the outcome, removed once sent (or given up), so a run that died in between
   * leaves it for the next to send (lifecycle/outcome-message.ts).
   */
  outcomeMessage?: OwedMessage;
}

/**
 * The message owed to the requester at the request's end: since when, when a run last took it to
 * send, how many runs tried, and its text when it is not an execution's outcome (a rejection, an
 * expiry, a request not executed), written as the change that ended the request was.
 */
export interface OwedMessage {
  since: string;
  takenAt: string;
  attempts: number;
  text?: string;
}

/**
 * Where a request stands, as people read it after its id ("Request CS-1 has succeeded"): refusals
 * say it so, never by the state's name in the code ("is already unknown", "is already needs_reapproval").
 */
const STANDING: Record<RequestState, string> = {
  pending: 'is waiting for approval',
  needs_reapproval: 'is waiting for approval again',
  approved: 'is approved and about to run',
  scheduled: 'is approved and scheduled to run',
  executing: 'is running',
  succeeded: 'has succeeded',
  failed: 'has failed',
  unknown: 'has run, with an unknown outcome',
  rejected: 'was rejected',
  cancelled: 'was cancelled',
  expired: 'has expired',
};

export function standing(state: RequestState): string {
  return STANDING[state];
}

/** The version of the request its card shows: its own, or the one before its bookkeeping writes (cardVersion). */
export function shownVersion(r: Pick<ApprovalRequest, 'version' | 'cardVersion'>): number {
  return r.cardVersion ?? r.version;
}

export function isDecidable(r: Pick<ApprovalRequest, 'state'>): boolean {
  return DECIDABLE_STATES.includes(r.state);
}
