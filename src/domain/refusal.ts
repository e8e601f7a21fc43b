/**
 * Every way Countersign says no. Each refusal carries a reason code (recorded in the audit trail)
 * and a message the person can act on, naming the request where there is one.
 */
export enum RefusalReason {
  SelfApproval = 'self-approval',
  NotAnApprover = 'not-an-approver',
  AlreadyApprovedByYou = 'already-approved-by-you',
  AlreadyDecided = 'already-decided',
  Expired = 'expired',
  StaleCard = 'stale-card',
  NotRequester = 'not-requester',
  UnknownRequest = 'unknown-request',
  UnknownAction = 'unknown-action',
  NotAllowedToRequest = 'not-allowed-to-request',
  ConversationNotAllowed = 'conversation-not-allowed',
  TenantNotAllowed = 'tenant-not-allowed',
  ChannelNotAllowed = 'channel-not-allowed',
  ApproverLostRole = 'approver-lost-role',
  /** At execution, the command's current policy asks for more than the approvals given under the policy it was approved by. */
  PolicyTightened = 'policy-tightened',
  RequesterLostRole = 'requester-lost-role',
  /** At execution, the request's reason no longer meets the command's reason rule as configured now (policy.reason, tightened since). */
  ReasonRuleTightened = 'reason-rule-tightened',
  /** At execution, the conversation the request was asked from is no longer one the command's policy allows (policy.conversations, narrowed since). */
  ConversationRuleTightened = 'conversation-rule-tightened',
  BreakGlassWithdrawn = 'break-glass-withdrawn',
  MissingIdentity = 'missing-identity',
  /** The clicked card message is not one Countersign posted for that request. */
  CardMismatch = 'card-mismatch',
  /** Right before execution, what would happen differed from what was approved: not executed. */
  DriftDetected = 'drift-detected',
  /** Only the requester or an approver may stop a running operation. */
  NotAllowedToCancel = 'not-allowed-to-cancel',
  /** The running operation is one Azure cannot cancel (only deployments can be). */
  NotCancellable = 'not-cancellable',
  /** Another run of Countersign holds the execution's lease and has not let it expire. */
  LeaseHeld = 'lease-held',
  /** This run of Countersign no longer holds the execution's lease: another one took it over. */
  LeaseLost = 'lease-lost',
  /** A field the client sent is longer than its documented limit (docs/limits.md). */
  InputTooLong = 'input-too-long',
  /** A reason, comment or parameter value holds a line break, control, text-direction or invisible character. */
  UnsafeText = 'unsafe-text',
  /** The activity names a conversation type Teams does not send (not personal, groupChat or channel): where it came from is not known. */
  UnknownConversationType = 'unknown-conversation-type',
  /** This person started more new requests than their rate allows (docs/limits.md). */
  RateLimited = 'rate-limited',
  /** The database connection broke while the click was being saved: whether it counted is not known here. */
  OutcomeUnconfirmed = 'outcome-unconfirmed',
  /** Delegation is turned off in the config (delegation.enabled). */
  DelegationDisabled = 'delegation-disabled',
  /** Someone tried to delegate to themselves. */
  SelfDelegation = 'self-delegation',
  /** Someone who holds no approver role of their own, only a delegation, tried to pass it on. */
  DelegationChain = 'delegation-chain',
  /** The end of the delegation is not later than now. */
  DelegationNotInFuture = 'delegation-not-in-future',
  /** The delegation would last longer than delegation.maxDuration. */
  DelegationTooLong = 'delegation-too-long',
  /** `delegate` named no one, or a time Countersign cannot read. */
  DelegationMalformed = 'delegation-malformed',
  /** The person named by @mention could not be identified (no Entra object id from Teams). */
  DelegateUnknown = 'delegate-unknown',
  /** `revoke delegation` with no delegation in force to revoke. */
  NoDelegation = 'no-delegation',
  /** The person used break-glass for the command as often as its policy allows in the window (breakGlass.maxUses). */
  BreakGlassLimit = 'break-glass-limit',
  /** The approvals a revoked delegation carried, taken off a request still to be decided. */
  DelegationRevoked = 'delegation-revoked',
  /** The approvals a delegation carried, taken off a request still to be decided when its time ran out. */
  DelegationEnded = 'delegation-ended',
  /** The request's command is no longer in the config (or is no longer sensitive): nothing more of it runs. */
  CommandRemoved = 'command-removed',
  /** A delegate tried to decide a request asked for by the person they stand in for. */
  OnBehalfOfRequester = 'on-behalf-of-requester',
  /** The person's authority already counted (they approved, or someone did on their behalf). */
  AuthorityAlreadyCounted = 'authority-already-counted',
  /** Microsoft Graph could not say whether the person is in an Entra group a role lists: refused, never granted. */
  MembershipUnknown = 'membership-unknown',
  /** The approval would fill no quorum requirement still open (what the approver holds is already met). */
  FillsNoRequirement = 'fills-no-requirement',
  /** The policy requires a reason and the one given is missing, too short or says nothing. */
  ReasonInsufficient = 'reason-insufficient',
  /** The run time asked for (`at <time>`) is unreadable, past, or further ahead than the approval stays valid. */
  RunTimeRefused = 'run-time-refused',
  /** `break-glass` for a command whose policy does not allow it: it can never run this way. */
  BreakGlassNotAllowed = 'break-glass-not-allowed',
  /** `break-glass` by someone outside the policy's break-glass roles. */
  NotAllowedToBreakGlass = 'not-allowed-to-break-glass',
  /** `break-glass` without `reason: ...`. */
  BreakGlassReasonMissing = 'break-glass-reason-missing',
  /** The requester tried to review their own break-glass use: a second person must. */
  SelfReview = 'self-review',
  /** Ratify or flag on a request that is not a break-glass use, is still running, or was reviewed already. */
  NotReviewable = 'not-reviewable',
  /**
   * Not executed: the request's stored row claims an authority (approvals, break-glass, an execution
   * under way) or an operation its audit records do not hold: the row was edited in the database.
   */
  NotInAudit = 'not-in-audit',
  /**
   * The requester already has an open request (pending, waiting for approval again, approved,
   * scheduled or running) for the same operation: a second would run it twice once approved.
   */
  AlreadyRequested = 'already-requested',
  /**
   * `status <id>` (or another look at one request) by someone who may not see that request: answered
   * as for a request that does not exist (`unknown-request`), so that ids cannot be probed; the audit
   * records which it was.
   */
  NotAllowedToSee = 'not-allowed-to-see',
  /**
   * An answer to a request form or confirmation that is not the one waiting for this person's answer
   * (an old copy of theirs, or someone else's in a shared conversation): nothing was requested.
   */
  FormMismatch = 'form-mismatch',
}

export interface Refusal {
  reason: RefusalReason;
  message: string;
  requestId?: string;
}

export function refusal(reason: RefusalReason, message: string, requestId?: string): Refusal {
  return requestId === undefined ? { reason, message } : { reason, message, requestId };
}
