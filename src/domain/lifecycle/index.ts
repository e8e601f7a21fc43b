/**
 * The request lifecycle as pure transitions:
 *
 *   pending → approved → executing → succeeded | failed | unknown | cancelled (a deployment stopped in Azure)
 *   pending → rejected | cancelled | expired
 *   approved → failed (an approver lost the role before execution)
 *   approved → needs_reapproval (drift: what would happen changed) → approved | rejected | cancelled | expired
 *   pending → scheduled (approved, waiting for its time or window) → executing | cancelled | expired
 *   (break-glass) → approved without approval → executing → … → review: ratified | flagged (overdue: escalated)
 *
 * An execution is held under a lease (owner, expiry) renewed while it runs; a run of Countersign
 * whose lease expired (it died) is taken over by another, which resumes the same ARM operation.
 *
 * Each transition returns the next request (version + 1) and the audit events that must be
 * committed with it, or a typed refusal. Nothing here does I/O or reads a clock.
 * This is its public surface: decision.ts decides a request, execution.ts runs an approved one,
 * reach.ts records reminders, escalation and who could (not) be told.
 */
export type { DecisionContext, Transition } from './transition';
export type { AskingRules, CommandGone } from './asking-rules';
export { approve, cancel, cancellable, endIfUnaskable, expire, fillsOpenRequirement, howItEnded, isPastExpiry, lapsedDelegations, reject, scheduleLapsedText, withdrawDelegatedApprovals, withoutLapsedApprovals, type DelegationEnd } from './decision';
export { approvalLapsed, approvalLapsedText, claimedApprovalValidUntil, expireAfterAuditLoss, expireUnstarted, lastApprovedAt, missedWindow, OPEN_AT_AUDIT_LOSS, missedWindowText, moveToNextOpening, scheduleDue, windowOpen, type MissedWindow } from './schedule';
export { breakGlassDueAt, breakGlassLimitRefusal, breakGlassUsesAfter, breakGlassRefusal, breakGlassRound, breakGlassUse, markReviewOverdue, needsReview, reviewBreakGlass, reviewOpen, reviewOverdue, runsOnBreakGlass } from './break-glass';
export {
  changesRound,
  dueReminder,
  escalate,
  escalationDue,
  peopleToDecide,
  stillUnreached,
  reachEvents,
  reachShown,
  recordReach,
  remind,
  missedOf,
  resumeRound,
  roundToResume,
  unreachableAfter,
  withRound,
  type ReachOccasion,
  type ReachOutcome,
} from './reach';
export { detectDrift, type DriftFound, notExecutedText, readyToRun, startExecution, whyNotToRun } from './claim';
export {
  cancelRefused,
  finishExecution,
  leaseLostEvent,
  recordProgress,
  recordStarted,
  releaseLease,
  renewLease,
  requestCancellation,
  resumeExecution,
  stoppable,
} from './execution';
export { authorityBegins, createdEvent, expectationHashOf, JUDGED_RECORD_TYPES, leftOutOfIndex, refuseUnaudited, unauditedAuthority, notBeforeOfVersions, unbackedFields, unbackedVersion, type UnbackedField } from './evidence';
export { approvalHistory, wholeRequestRefusals, type ApprovalFate, type GivenApproval } from './approval-history';
export { oweOutcomeMessage, outcomeMessageFree, outcomeMessageText, owedByChange, settleOutcomeMessage, takeOutcomeMessage } from './outcome-message';
