/**
 * The request card: first who asks to do what and how risky it is, then what will change, where it
 * stands, who approved, what Azure said; the identifiers behind "Details". It is rendered on every
 * click and every card update, so recent renderings are kept.
 */
import { outstandingText, progress, progressText } from '../domain/quorum';
import { deciderText } from '../domain/delegation';
import { withDistinctNames } from '../domain/display-names';
import { plural } from '../domain/duration-text';
import { documentationLinks, failureCause, withoutDocumentationLinks } from '../domain/failure-cause';
import { decidingRoles } from '../domain/policy';
import { isDecidable, type ApprovalRequest, type RequestState } from '../domain/request';
import { cancellable, needsReview, reviewOpen, runsOnBreakGlass, stillUnreached, stoppable } from '../domain/lifecycle';
import { localTime, md, shortened } from './markdown';
import { type Card, renderWithText } from './render';
import { changeView, reasonClipped, riskView, summarySentence } from './request-summary';

/** A state as people read it ("needs re-approval"), not its name in the code. */
export function stateWords(state: RequestState): string {
  return STATE_LOOK[state].label.toLowerCase();
}

const STATE_LOOK: Record<RequestState, { label: string; color: string }> = {
  pending: { label: 'PENDING APPROVAL', color: 'Warning' },
  needs_reapproval: { label: 'NEEDS RE-APPROVAL', color: 'Warning' },
  approved: { label: 'APPROVED', color: 'Good' },
  scheduled: { label: 'APPROVED, SCHEDULED', color: 'Good' },
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
  /**
   * The card as one person sees it (Teams' per-person refresh): only the buttons they can use.
   * Absent: the card everyone shares, with every button of the request's state.
   */
  viewer?: { canApprove: boolean; canReject: boolean; canCancel: boolean; canReview: boolean };
  /** Teams user ids whose client asks for their personal view (refresh.userIds, at most 60). */
  viewerIds?: string[];
}

/**
 * Request cards rendered lately, by the request's whole content and the options: one version is
 * rendered for the click's invoke answer and again for the card updates the notifier sends (and
 * for every message it was posted in). The key is the content itself, not id and version, so a
 * request object that was never stored (a test's, an evidence bundle's) can never be answered with
 * another one's card. The card is kept as its JSON text and parsed for each caller, so no caller
 * can change what the next one gets.
 */
const REQUEST_CARD_CACHE_SIZE = 256;
const requestCards = new Map<string, string>();

export function requestCard(request: ApprovalRequest, options: RequestCardOptions = {}): Card {
  // Namesakes on one request are told apart (display-names.ts): the card is drawn from that view.
  const r = withDistinctNames(request);
  const key = `${JSON.stringify(options)}\u0000${JSON.stringify(r)}`;
  const known = requestCards.get(key);
  if (known !== undefined) return JSON.parse(known) as Card;
  const view = requestCardView(r, options);
  let { card, text } = renderWithText('request', view);
  if (text.length > CARD_MAX_CHARACTERS) ({ card, text } = renderWithText('request', shortView(view)));
  if (requestCards.size >= REQUEST_CARD_CACHE_SIZE) requestCards.delete(requestCards.keys().next().value as string);
  requestCards.set(key, text);
  return card;
}

/**
 * The longest a request card may be, in characters of its JSON. Teams refuses a larger message
 * (413 MessageSizeTooBig, the limit counted over the whole activity in UTF-16) and a card update it
 * refuses leaves the card as it was, at EXECUTING say; so a card whose lists make it longer is
 * rendered again with the first of each list only.
 */
const CARD_MAX_CHARACTERS = 27_000;

/** Lines kept of each list on a card too long for Teams. */
const SHORT_LIST = 3;

type Lines = { line: string }[];

function fewer(lines: Lines): Lines {
  if (lines.length <= SHORT_LIST) return lines;
  return [...lines.slice(0, SHORT_LIST), { line: `and ${lines.length - SHORT_LIST} more lines, left out to keep the card within the size Teams accepts` }];
}

/** The view of a card too long for Teams: each list cut to its first lines. */
function shortView(view: RequestCardView): RequestCardView {
  return { ...view, changeLines: fewer(view.changeLines), resultLines: fewer(view.resultLines), reachLines: fewer(view.reachLines), approvedBy: fewer(view.approvedBy) };
}

/** Teams allows at most 60 users on a per-person refresh. */
const MAX_VIEWERS = 60;

type RequestCardView = ReturnType<typeof requestCardView>;

/** What cards/request.json is expanded with. */
export function requestCardView(r: ApprovalRequest, options: RequestCardOptions = {}) {
  const look = STATE_LOOK[r.state];
  const decidable = isDecidable(r);
  const viewer = options.viewer ?? { canApprove: true, canReject: true, canCancel: true, canReview: true };
  return {
    sandbox: r.sandbox,
    hasNotice: !!options.notice,
    notice: md(options.notice),
    summary: summarySentence(r),
    requestId: r.id,
    hash: r.operationHash,
    viewerIds: options.viewerIds?.length ? options.viewerIds.slice(0, MAX_VIEWERS) : [`8:orgid:${r.requester.aadObjectId}`],
    stateLabel: r.breakGlass ? `BREAK-GLASS · ${runsOnBreakGlass(r) && r.state === 'approved' ? 'RUNS WITHOUT APPROVAL' : look.label}` : look.label,
    // A break-glass use is never shown in the colour of an approval: its words say it ran without one.
    stateColor: r.breakGlass && look.color !== 'Attention' ? 'Warning' : look.color,
    ...riskView(r),
    ...changeView(r),
    facts: detailFacts(r),
    approvalText: `${approvalText(r)}${decidable ? runLaterText(r) : ''}`,
    approvedBy: r.approvals.map((a) => ({ line: `Approved by ${md(deciderText(a))}, ${localTime(a.at)}` })),
    reachLines: reachLines(r).map((line) => ({ line })),
    hasExpiry: decidable,
    expiryText: `Expires ${localTime(r.expiresAt)} if nobody decides.`,
    ...resultView(r),
    canApprove: decidable && viewer.canApprove,
    canReject: decidable && viewer.canReject,
    canCancel: cancellable(r) && viewer.canCancel,
    cancelTitle: r.state === 'scheduled' ? 'Cancel before it runs' : options.viewer ? 'Cancel my request' : 'Cancel (requester only)',
    // Only a deployment can be stopped in Azure once it runs; the requester or an approver may ask.
    canStopRun: stoppable(r),
    // A second person reviews a break-glass use once it ended (decided when clicked: never the requester).
    canReview: needsReview(r) && viewer.canReview,
  };
}

/** What an approver may want to check but not read first: behind "Details". */
function detailFacts(r: ApprovalRequest): { title: string; value: string }[] {
  return [
    { title: 'Request', value: md(r.id) },
    { title: 'Requested by', value: `${md(r.requester.name)}, ${localTime(r.createdAt)}` },
    // The first sentence quotes only the start of a long reason: here it is whole.
    ...(reasonClipped(r) ? [{ title: 'Reason', value: md(r.reason) }] : []),
    { title: 'Command', value: md(r.command) },
    ...Object.entries(r.parameters).map(([k, v]) => ({ title: md(k), value: md(v) })),
    { title: 'Subscription', value: md(r.target.subscriptionId) },
    ...(r.target.resourceGroup ? [{ title: 'Resource group', value: md(r.target.resourceGroup) }] : []),
    ...(r.target.resourceId ? [{ title: 'Resource', value: md(r.target.resourceId) }] : []),
    { title: 'Operation', value: md(describeOperationKind(r.operation.kind)) },
    { title: 'Operation hash', value: md(r.operationHash.slice(0, 16)) },
    { title: 'Policy version', value: md(r.policy.version.slice(0, 12)) },
  ];
}

/** Before a decision: that it will not run at once when approved, and when it will (what approvers decide on). */
function runLaterText(r: ApprovalRequest): string {
  const windows = (r.policy.schedule?.windows.length ?? 0) > 0;
  // To approve again, its drift found when it was to run: the time asked for is past, so it runs at once.
  if (r.requestedRunAt && r.state === 'needs_reapproval' && r.drift && Date.parse(r.requestedRunAt) <= Date.parse(r.drift.detectedAt)) {
    return ` It was to run at ${localTime(r.requestedRunAt)}, as its requester asked: once approved again, it runs ${windows ? "in its command's maintenance windows (at once if one is open)" : 'at once'}.`;
  }
  if (r.requestedRunAt) return ` Once approved, it waits to run until ${localTime(r.requestedRunAt)}${windows ? ', then for its maintenance window' : ''}, as its requester asked.`;
  return windows ? ' Once approved, it runs only in its command\'s maintenance windows.' : '';
}

function approvalText(r: ApprovalRequest): string {
  // Nobody approved it, and nobody is asked to: an approver reviews it once it has ended.
  if (runsOnBreakGlass(r)) return `No approval: run on break-glass. An approver from ${md(decidingRoles(r).join(' or '))}, not the requester, reviews it once it has ended.`;
  if (r.policy.requirements) return quorumText(r);
  const roles = md(decidingRoles(r).join(' or '));
  const got = r.approvals.length;
  const needed = plural(r.policy.approvals, 'approval');
  const sofar = got === 0 ? 'none yet' : `${got} so far`;
  if (r.state === 'pending') return `Needs ${needed} from ${roles}, not the requester: ${sofar}.`;
  if (r.state === 'needs_reapproval') return `Needs ${needed} again from ${roles}, not the requester: ${sofar} (the earlier approvals no longer count).`;
  return `${got} of ${needed} from ${roles}.`;
}

/** A quorum: each requirement and who met it, "platform-approvers: 1 of 1 — Bob; security: 0 of 1". */
function quorumText(r: ApprovalRequest): string {
  const each = md(progressText(r, (a) => deciderText(a)));
  if (r.state === 'pending') return `Needs approvals from each of these roles, by different people, not the requester: ${each}.`;
  if (r.state === 'needs_reapproval') return `Needs approvals again from each of these roles, by different people (the earlier approvals no longer count): ${each}.`;
  return `${each}.`;
}

/**
 * While it can be decided: who else may decide it since it was escalated, and who could not be told
 * of it; and, for a break-glass use until it is reviewed, who its loud notice did not reach.
 */
function reachLines(r: ApprovalRequest): string[] {
  const decidable = isDecidable(r);
  if (!decidable && !reviewOpen(r)) return [];
  const lines: string[] = [];
  if (decidable && r.escalation) lines.push(`Escalated to ${md(r.escalation.role)} at ${localTime(r.escalation.at)}: they may decide it too.`);
  const missed = stillUnreached(r);
  if (missed.length > 0) {
    const shown = missed.slice(0, 5).map((u) => `${md(u.name ?? u.id)} (${md(u.why)})`);
    lines.push(`Could not reach: ${shown.join(', ')}${missed.length > 5 ? ` and ${missed.length - 5} more` : ''}.`);
  }
  return lines;
}

/**
 * How much of what Azure or a deployment said the card shows. Outputs, drift differences and
 * Azure's messages have no size of their own: a template can output a long list, an error message
 * can quote a whole policy. Teams refuses a message that is too large (HTTP 413), and a card update
 * refused would leave the card at EXECUTING; so each is cut, and the rest counted (the stored
 * request keeps them whole).
 */
const SHOWN = { lines: 10, line: 300, azureText: 1000 } as const;

/** At most SHOWN.lines of them, then how many more. */
function firstLines(lines: string[], what: string): string[] {
  if (lines.length <= SHOWN.lines) return lines;
  const more = lines.length - SHOWN.lines;
  return [...lines.slice(0, SHOWN.lines), `and ${more} more ${more === 1 ? what : `${what}s`}`];
}

/** Lines are markdown: user and Azure text escaped, times for the reader's clock, Microsoft's documentation as links. */
function resultView(r: ApprovalRequest) {
  const lines: string[] = [];
  let title = '';
  let style = 'default';
  const ex = r.execution;
  lines.push(...breakGlassLines(r));
  if (r.state === 'needs_reapproval' && r.drift) {
    title = `Not executed: what it would do changed since it was approved (found ${localTime(r.drift.detectedAt)}). Decide again.`;
    style = 'warning';
    lines.push(...firstLines(r.drift.changes.map((c) => `Changed: ${md(shortened(c, SHOWN.line))}`), 'difference'));
  } else if (r.state === 'scheduled' && r.runAt) {
    title = `Runs at ${localTime(r.runAt)}`;
    style = 'good';
    lines.push(...scheduleLines(r));
  } else if (r.state === 'executing') {
    title = 'Executing';
    style = 'accent';
    const p = ex?.progress;
    lines.push(p ? md(`${shortened(p.state, SHOWN.line)}${p.total ? `: ${p.done ?? 0} of ${plural(p.total, 'operation')} done` : ''}`) : 'Started; waiting for Azure Resource Manager.');
    const resumed = ex?.resumedAt?.at(-1);
    if (resumed) lines.push(`Resumed ${localTime(resumed)} after Countersign restarted; following the same Azure operation.`);
    if (ex?.cancellation) lines.push(`Cancellation requested by ${md(deciderText(ex.cancellation))}, ${localTime(ex.cancellation.at)}; waiting for Azure to stop the deployment.`);
  } else if (r.state === 'succeeded') {
    title = 'Succeeded';
    style = 'good';
    if (r.outcomeDetail) lines.push(md(shortened(r.outcomeDetail, SHOWN.azureText)));
    lines.push(...firstLines(Object.entries(ex?.outputs ?? {}).map(([k, v]) => md(shortened(`Output ${k}: ${JSON.stringify(v)}`, SHOWN.line))), 'output'));
    if (ex?.withheldOutputs?.length) {
      const names = ex.withheldOutputs.join(', ');
      lines.push(md(shortened(`Withheld, as ${ex.withheldOutputs.length === 1 ? 'it looks' : 'they look'} secret (read in Azure by whoever may): output ${names}`, SHOWN.line)));
    }
  } else if (r.state === 'failed' || r.state === 'unknown') {
    style = 'attention';
    const cause = ex?.error ? failureCause(ex.error) : r.outcomeDetail && shortened(r.outcomeDetail, SHOWN.azureText);
    title = r.state === 'failed' ? `Failed${cause ? `: ${md(cause)}` : ''}` : 'Outcome unknown: check the target in Azure';
    if (r.state === 'unknown' && cause) lines.push(md(cause));
    if (ex?.error) {
      lines.push(md(shortened(`Azure said ${ex.error.code}: ${withoutDocumentationLinks(ex.error.message)}`, SHOWN.azureText)));
      for (const link of documentationLinks(ex.error)) lines.push(`[Microsoft's documentation: ${link.replace(/^https:\/\//, '')}](${link})`);
    }
  } else if (r.state === 'rejected' && r.rejection) {
    title = `Rejected by ${md(deciderText(r.rejection))}, ${localTime(r.rejection.at)}`;
    style = 'attention';
    if (r.rejection.comment) lines.push(`Comment: ${md(r.rejection.comment)}`);
  } else if (r.state === 'cancelled' && r.cancellation) {
    title = `Cancelled by ${md(deciderText(r.cancellation))}, ${localTime(r.cancellation.at)}`;
    if (ex && r.outcomeDetail) lines.push(md(shortened(r.outcomeDetail, SHOWN.azureText)));
    // Approved and waiting for its time: those who approved it read that it never ran.
    else if (r.runAt && r.approvals.length > 0) lines.push(`It was approved and to run at ${localTime(r.runAt)}; cancelled before it started, nothing was sent to Azure.`);
  } else if (r.state === 'expired' && r.expiredAtAuditLoss) {
    // Not for want of approvers: an accepted loss of audit records ended it, before its time perhaps.
    title = `Expired ${localTime(r.expiredAtAuditLoss.at)}, when a loss of audit records was accepted`;
    style = 'attention';
    lines.push(md(shortened(r.outcomeDetail ?? 'Not executed: what was lost may show it already ran, or was rejected. Check the target in Azure; ask again if it is still needed.', SHOWN.azureText)));
  } else if (r.state === 'expired') {
    title = `Expired ${localTime(r.expiresAt)}`;
    // Scheduled, it was approved: its approval stopped being valid before the run started.
    if (r.runAt && r.approvals.length > 0) lines.push(`Approved, but not run: it was to run at ${localTime(r.runAt)} and had not started when its approval stopped being valid. Nothing was sent to Azure. Ask again if it is still needed.`);
    // Approved for now (or a break-glass use), and nothing started it while that held (expireUnstarted).
    else if (r.breakGlass || (r.approvals.length > 0 && progress(r).every((p) => p.met))) lines.push(`${r.breakGlass ? 'Not run' : 'Approved, but not run'}: it had not started when its ${r.breakGlass ? 'break-glass use' : 'approval'} stopped being valid. Nothing was sent to Azure. Ask again if it is still needed.`);
    // Approved in part: those who approved read that it needed more, not that nobody did.
    else if (r.approvals.length > 0) lines.push(md(`It did not get every approval it needs in time: still needed ${outstandingText(r)}. Ask again if it is still needed.`));
    else lines.push('Nobody approved it in time. Ask again if it is still needed.');
  }
  if (!title && r.breakGlass) title = 'BREAK-GLASS: run without approval';
  if (r.breakGlass && style !== 'attention') style = 'warning';
  if (ex && !isDecidable(r)) {
    if (ex.ref.correlationId) lines.push(md(shortened(`Correlation id: ${ex.ref.correlationId}`, SHOWN.line)));
    for (const id of ex.ref.resourceIds.slice(0, 5)) lines.push(md(shortened(`ARM id: ${id}`, SHOWN.azureText)));
  }
  return {
    hasResult: !!title,
    resultTitle: title,
    resultStyle: style,
    resultLines: lines.map((line) => ({ line })),
  };
}

/** BREAK-GLASS first, whatever the state: who ran it without approval, why, and where its review stands. */
function breakGlassLines(r: ApprovalRequest): string[] {
  const use = r.breakGlass;
  if (!use) return [];
  const lines = [`BREAK-GLASS: run by ${md(r.requester.name)} without approval, ${localTime(use.usedAt)}. Reason: ${md(use.reason)}`];
  if (use.review) {
    lines.push(`BREAK-GLASS ${use.review.verdict === 'ratified' ? 'ratified' : 'FLAGGED'} by ${md(use.review.by.name)}, ${localTime(use.review.at)}${use.review.comment ? `: ${md(use.review.comment)}` : ''}`);
  } else {
    lines.push(`BREAK-GLASS review by an approver (not the requester) due ${localTime(use.reviewDueAt)}${use.overdueAt ? ': OVERDUE, escalated' : ''}.`);
  }
  return lines;
}

/** Why it waits, and until when the approval holds: the drift check and role re-check run when it starts. */
function scheduleLines(r: ApprovalRequest): string[] {
  const asked = r.requestedRunAt ? [`Asked to run at ${localTime(r.requestedRunAt)}.`] : [];
  const windows = r.policy.schedule?.windows.length ? ['Its command runs only in its maintenance windows.'] : [];
  return [...asked, ...windows, `Approved; it can be cancelled until it starts. The approval is valid until ${localTime(r.expiresAt)}; what it would do is checked again right before it runs.`];
}

function describeOperationKind(kind: string): string {
  return kind.replace(/([A-Z])/g, ' $1').toLowerCase();
}
