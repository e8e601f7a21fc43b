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
  ApproverLostRole = 'approver-lost-role',
  MissingIdentity = 'missing-identity',
  /** The clicked card message is not one Countersign posted for that request. */
  CardMismatch = 'card-mismatch',
}

export interface Refusal {
  reason: RefusalReason;
  message: string;
  requestId?: string;
}

export function refusal(reason: RefusalReason, message: string, requestId?: string): Refusal {
  return requestId === undefined ? { reason, message } : { reason, message, requestId };
}
