/**
 * The request card: what is asked, where it stands, who approved, what Azure said. It is rendered on
 * every click and every card update, so recent renderings are kept.
 */
import { sandboxText } from '../domain/sandbox-text';
import { isDecidable, type ApprovalRequest, type RequestState } from '../domain/request';
import type { WhatIfSummary } from '../domain/operation';
import { formatTime, md } from './markdown';
import { type Card, renderWithText } from './render';

const STATE_LOOK: Record<RequestState, { label: string; color: string }> = {
  pending: { label: 'PENDING APPROVAL', color: 'Warning' },
  needs_reapproval: { label: 'NEEDS RE-APPROVAL', color: 'Warning' },
  approved: { label: 'APPROVED', color: 'Good' },
  executing: { label: 'EXECUTING', color: 'Accent' },
  succeeded: { label: 'SUCCEEDED', color: 'Good' },
  failed: { label: 'FAILED', color: 'Attention' },
  unknown: { label: 'OUTCOME UNKNOWN', color: 'Attention' },
  rejected: { label: 'REJECTED', color: 'Attention' },
  cancelled: { label: 'CANCELLED', color: 'Default' },
  expired: { label: 'EXPIRED', color: 'Default' },
};

export interface RequestCardOptions {
  /** A message for the person who clicked (shown only in the invoke response). */
  notice?: string;
}

/**
 * Request cards rendered lately, by the request's whole content and the notice: one version is
 * rendered for the click's invoke answer and again for the card updates the notifier sends (and
 * for every message it was posted in). The key is the content itself, not id and version, so a
 * request object that was never stored (a test's, an evidence bundle's) can never be answered with
 * another one's card. The card is kept as its JSON text and parsed for each caller, so no caller
 * can change what the next one gets.
 */
const REQUEST_CARD_CACHE_SIZE = 256;
const requestCards = new Map<string, string>();

export function requestCard(r: ApprovalRequest, options: RequestCardOptions = {}): Card {
  const key = `${options.notice ?? ''}\u0000${JSON.stringify(r)}`;
  const known = requestCards.get(key);
  if (known !== undefined) return JSON.parse(known) as Card;
  const { card, text } = renderRequestCard(r, options);
  if (requestCards.size >= REQUEST_CARD_CACHE_SIZE) requestCards.delete(requestCards.keys().next().value as string);
  requestCards.set(key, text);
  return card;
}

function renderRequestCard(r: ApprovalRequest, options: RequestCardOptions): { card: Card; text: string } {
  return renderWithText('request', requestCardView(r, options));
}

/** What cards/request.json is expanded with. */
export function requestCardView(r: ApprovalRequest, options: RequestCardOptions = {}): object {
  const look = STATE_LOOK[r.state];
  const facts = [
    { title: 'Requested by', value: md(r.requester.name) },
    { title: 'Command', value: md(r.command) },
    ...Object.entries(r.parameters).map(([k, v]) => ({ title: md(k), value: md(v) })),
    { title: 'Subscription', value: md(r.target.subscriptionId) },
    ...(r.target.resourceGroup ? [{ title: 'Resource group', value: md(r.target.resourceGroup) }] : []),
    ...(r.target.resourceId ? [{ title: 'Resource', value: md(r.target.resourceId) }] : []),
    { title: 'Operation', value: md(describeOperationKind(r.operation.kind)) },
    { title: 'Operation hash', value: md(r.operationHash.slice(0, 16)) },
  ];
  const result = resultView(r);
  return {
    sandbox: r.sandbox,
    hasNotice: !!options.notice,
    notice: md(options.notice),
    title: md(sandboxText(`${r.command} ${Object.values(r.parameters).join(' ')}`.trim(), r.sandbox)),
    requestId: r.id,
    hash: r.operationHash,
    stateLabel: look.label,
    stateColor: look.color,
    facts,
    hasReason: !!r.reason,
    reason: md(r.reason),
    ...whatIfView(r.whatIf),
    approvalText: approvalText(r),
    approvedBy: r.approvals.map((a) => ({ line: md(`Approved by ${a.approver.name} at ${formatTime(a.at)}`) })),
    hasExpiry: isDecidable(r),
    expiryText: `Expires ${formatTime(r.expiresAt)} (policy ${r.policy.version.slice(0, 12)})`,
    ...result,
    canDecide: isDecidable(r),
    // Only a deployment can be stopped in Azure once it runs; the requester or an approver may ask.
    canStopRun: r.state === 'executing' && r.operation.kind === 'deployTemplate' && !r.execution?.cancellation,
  };
}

function approvalText(r: ApprovalRequest): string {
  const roles = r.policy.approverRoles.join(' or ');
  const got = r.approvals.length;
  if (r.state === 'pending') return md(`Needs ${r.policy.approvals} approval(s) from ${roles}, not the requester: ${got} so far.`);
  if (r.state === 'needs_reapproval') return md(`Needs ${r.policy.approvals} approval(s) again from ${roles}, not the requester: ${got} so far (the earlier approvals no longer count).`);
  return md(`${got} of ${r.policy.approvals} approval(s) from ${roles}.`);
}

function whatIfView(w: WhatIfSummary | undefined) {
  if (!w) return { hasWhatIf: false, whatIfSummary: '', whatIfChanges: [] };
  const counts = new Map<string, number>();
  for (const c of w.changes) counts.set(c.changeType, (counts.get(c.changeType) ?? 0) + 1);
  const summary = w.changes.length === 0 ? 'No resource changes.' : [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
  const shown = w.changes.filter((c) => c.changeType !== 'NoChange' && c.changeType !== 'Ignore').slice(0, 15);
  return {
    hasWhatIf: true,
    whatIfSummary: md(summary),
    whatIfChanges: shown.map((c) => ({
      line: md(`${symbol(c.changeType)} ${c.changeType}: ${shortId(c.resourceId)}${c.changedPaths?.length ? ` (${c.changedPaths.slice(0, 4).join(', ')})` : ''}`),
    })),
  };
}

function symbol(changeType: string): string {
  return { Create: '+', Delete: '-', Modify: '~', Deploy: '!', NoChange: '=', Ignore: '*', Unsupported: '?' }[changeType] ?? '?';
}

function resultView(r: ApprovalRequest) {
  const lines: string[] = [];
  let title = '';
  let style = 'default';
  const ex = r.execution;
  if (r.state === 'needs_reapproval' && r.drift) {
    title = `Not executed: what it would do changed since it was approved (found ${formatTime(r.drift.detectedAt)}). Decide again.`;
    style = 'warning';
    lines.push(...r.drift.changes.map((c) => `Changed: ${c}`));
  } else if (r.state === 'executing') {
    title = 'Executing';
    style = 'accent';
    const p = ex?.progress;
    lines.push(p ? `${p.state}${p.total ? `: ${p.done ?? 0} of ${p.total} operation(s) done` : ''}` : 'Started; waiting for Azure Resource Manager.');
    const resumed = ex?.resumedAt?.at(-1);
    if (resumed) lines.push(`Resumed at ${formatTime(resumed)} after Countersign restarted; following the same Azure operation.`);
    if (ex?.cancellation) lines.push(`Cancellation requested by ${ex.cancellation.by.name} at ${formatTime(ex.cancellation.at)}; waiting for Azure to stop the deployment.`);
  } else if (r.state === 'succeeded') {
    title = 'Succeeded';
    style = 'good';
    if (r.outcomeDetail) lines.push(r.outcomeDetail);
    for (const [k, v] of Object.entries(ex?.outputs ?? {})) lines.push(`Output ${k}: ${JSON.stringify(v)}`);
  } else if (r.state === 'failed' || r.state === 'unknown') {
    title = r.state === 'failed' ? 'Failed' : 'Outcome unknown: check the target in Azure';
    style = 'attention';
    if (ex?.error) {
      lines.push(`${ex.error.code}: ${ex.error.message}`);
      for (const d of ex.error.details ?? []) lines.push(`- ${d}`);
    } else if (r.outcomeDetail) lines.push(r.outcomeDetail);
  } else if (r.state === 'rejected' && r.rejection) {
    title = `Rejected by ${r.rejection.by.name} at ${formatTime(r.rejection.at)}`;
    style = 'attention';
    if (r.rejection.comment) lines.push(`Comment: ${r.rejection.comment}`);
  } else if (r.state === 'cancelled' && r.cancellation) {
    title = `Cancelled by ${r.cancellation.by.name} at ${formatTime(r.cancellation.at)}`;
    if (ex && r.outcomeDetail) lines.push(r.outcomeDetail);
  } else if (r.state === 'expired') {
    title = `Expired at ${formatTime(r.expiresAt)}`;
    lines.push('Nobody approved it in time. Ask again if it is still needed.');
  }
  if (ex && !isDecidable(r)) {
    if (ex.ref.correlationId) lines.push(`Correlation id: ${ex.ref.correlationId}`);
    for (const id of ex.ref.resourceIds.slice(0, 5)) lines.push(`ARM id: ${id}`);
  }
  return {
    hasResult: !!title,
    resultTitle: md(title),
    resultStyle: style,
    resultLines: lines.map((line) => ({ line: md(line) })),
  };
}

function describeOperationKind(kind: string): string {
  return kind.replace(/([A-Z])/g, ' $1').toLowerCase();
}

function shortId(id: string): string {
  const m = /\/providers\/(.+)$/i.exec(id);
  return m ? m[1] : id;
}
