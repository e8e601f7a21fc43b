/**
 * Adaptive Cards (1.5) rendered from the templates in cards/: by the compiled expander in
 * template.ts where a template fits its subset (the request card, on every click), otherwise with
 * adaptivecards-templating, which the compiled one is tested against.
 * The view models are built here; every piece of user-supplied text goes through `md()` so it
 * cannot make links or formatting, and no card leaves with an unexpanded ${...}.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Template } from 'adaptivecards-templating';
import type { CommandSpec, ParameterProblem } from '../domain/catalog';
import { isDecidable, type ApprovalRequest, type RequestState } from '../domain/request';
import type { QueryResult, WhatIfSummary } from '../domain/operation';
import type { HelpEntry, PendingView } from '../app/queries';
import { usage } from '../app/queries';
import { inertLine } from '../domain/text-safety';
import { compileTemplate, type FastTemplate } from './template-fast';

export type Card = Record<string, unknown>;

const CARDS_DIR = path.resolve(__dirname, '..', '..', 'cards');

interface LoadedTemplate {
  json: Record<string, unknown>;
  /** The compiled expander for the subset the card uses (src/teams/template.ts), if it fits. */
  fast: FastTemplate | undefined;
  /** adaptivecards-templating's, made on first need. */
  library?: Template;
}

const templates = new Map<string, LoadedTemplate>();

function template(name: string): LoadedTemplate {
  let t = templates.get(name);
  if (!t) {
    const json = JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;
    t = { json, fast: compileTemplate(json) };
    templates.set(name, t);
  }
  return t;
}

/** The template expanded by adaptivecards-templating itself: the reference the fast path is held to. */
export function expandWithLibrary(name: string, data: object): Card {
  const t = template(name);
  if (!t.library) {
    // The templating library is loaded when first needed, not at start-up (a third of a second).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Template } = require('adaptivecards-templating') as typeof import('adaptivecards-templating');
    t.library = new Template(t.json);
  }
  return t.library.expand({ $root: data }) as Card;
}

function expand(name: string, data: object): Card {
  return template(name).fast?.(data) ?? expandWithLibrary(name, data);
}

export class CardRenderError extends Error {}

function render(name: string, data: object): Card {
  return renderWithText(name, data).card;
}

function renderWithText(name: string, data: object): { card: Card; text: string } {
  const card = expand(name, data);
  const text = JSON.stringify(card);
  // Only template expressions can leave "${" behind: user text has its "$" escaped by md().
  if (text.includes('${')) throw new CardRenderError(`card ${name} has an unexpanded template expression: ${/\$\{[^}]*\}/.exec(text)?.[0]}`);
  return { card, text };
}

/** Anything one of md()'s replacements below would touch (a superset: a match only means "look closer"). */
const MAY_NEED_ESCAPING = /[\\`*_[\]<>~|]|\$\{|:\/\/|www\.|^\s*[-+#]|^\s*\d+\./im;

/**
 * Escapes text for a TextBlock or FactSet value: markdown punctuation is backslash-escaped and
 * URL schemes are broken so that nothing a user typed becomes a link.
 */
export function md(text: string | undefined): string {
  if (!text) return '';
  // One inert line whatever Teams or Azure sent: no line breaks, controls or text-direction characters.
  text = inertLine(text);
  // Most card text (names, ids, times) has nothing to escape: one scan instead of six replaces.
  if (!MAY_NEED_ESCAPING.test(text)) return text;
  return text
    .replace(/[\\`*_[\]<>~|]/g, (c) => `\\${c}`)
    .replace(/\$\{/g, '$\u200B{')
    .replace(/(\w)(:\/\/)/g, '$1\u200B$2')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200B.`)
    .replace(/^(\s*)([-+#])/gm, '$1\\$2')
    .replace(/^(\s*\d+)\./gm, '$1\\.');
}

/** Input values are not markdown; only a "${" is broken (and restored on submit by `fromInput`). */
function inputValue(text: string): string {
  return text.replace(/\$\{/g, '$\u200B{');
}

export function fromInput(text: string): string {
  return text.replace(/\$\u200B\{/g, '${');
}

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
    title: md(`${r.sandbox ? '[SANDBOX] ' : ''}${r.command} ${Object.values(r.parameters).join(' ')}`.trim()),
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

export function formCard(command: CommandSpec, values: Record<string, string>, problems: ParameterProblem[], reason: string | undefined, sandbox: boolean): Card {
  return render('form', formCardView(command, values, problems, reason, sandbox));
}

/** What cards/form.json is expanded with. */
export function formCardView(command: CommandSpec, values: Record<string, string>, problems: ParameterProblem[], reason: string | undefined, sandbox: boolean): object {
  return {
    sandbox,
    title: md(`Complete your request: ${command.name}`),
    description: md(command.description),
    hasProblems: problems.length > 0,
    problems: problems.map((p) => ({ line: md(p.message) })),
    command: command.name,
    fields: command.parameters.map((p) => ({
      id: `param.${p.name}`,
      name: md(p.name),
      label: md(p.description ? `${p.name} (${p.description})` : p.name),
      isChoice: p.type === 'enum',
      choices: (p.allowed ?? []).map((a) => ({ title: md(a), value: a })),
      regex: p.pattern ?? (p.type === 'integer' ? '^-?[0-9]+$' : '^.+$'),
      hint: md(p.type === 'integer' ? `a whole number${p.min !== undefined ? ` from ${p.min}` : ''}${p.max !== undefined ? ` to ${p.max}` : ''}` : p.pattern ? `matching ${p.pattern}` : `the ${p.name}`),
      value: inputValue(values[p.name] ?? p.default ?? ''),
    })),
    reason: inputValue(reason ?? ''),
  };
}

export function confirmCard(command: CommandSpec, values: Record<string, string>, reason: string | undefined, sandbox: boolean): Card {
  return render('confirm', confirmCardView(command, values, reason, sandbox));
}

/** What cards/confirm.json is expanded with. */
export function confirmCardView(command: CommandSpec, values: Record<string, string>, reason: string | undefined, sandbox: boolean): object {
  const policy = command.policy;
  return {
    sandbox,
    command: command.name,
    summary: md(`${command.name} ${Object.values(values).join(' ')}`),
    facts: [...Object.entries(values).map(([k, v]) => ({ title: md(k), value: md(v) })), ...(reason ? [{ title: 'Reason', value: md(reason) }] : [])],
    policyText: md(policy ? `Needs ${policy.approvals} approval(s) from ${policy.approverRoles.join(' or ')} (not you) within ${Math.round(policy.ttlSeconds / 60)} minutes.` : ''),
  };
}

export interface ListSection {
  heading: string;
  lines: string[];
}

export function listCard(title: string, intro: string | undefined, sections: ListSection[], sandbox: boolean): Card {
  return render('list', listCardView(title, intro, sections, sandbox));
}

/** What cards/list.json is expanded with. */
export function listCardView(title: string, intro: string | undefined, sections: ListSection[], sandbox: boolean): object {
  return {
    sandbox,
    title: md(title),
    hasIntro: !!intro,
    intro: md(intro),
    sections: sections.map((s) => ({ heading: md(s.heading), lines: (s.lines.length ? s.lines : ['(none)']).map((l) => ({ line: md(l) })) })),
  };
}

export function helpCard(entries: HelpEntry[], sandbox: boolean): Card {
  return listCard(
    'Countersign commands',
    'Type a command with its parameters; add "reason: ..." to tell approvers why. Sensitive commands need a second person to approve.',
    [
      {
        heading: 'Operations',
        lines: entries.map((e) => `${e.usage}: ${e.description} (${e.approval}${e.allowed ? '' : '; you may not request it'})`),
      },
      {
        heading: 'Built in',
        lines: [
          'help: this list',
          'pending: requests waiting for you, and your own open requests',
          'status <request-id>: where a request stands',
          'audit export <from> <to> [csv|jsonl|ocsf]: a 15-minute download link for the audit trail (auditors, personal chat)',
        ],
      },
    ],
    sandbox,
  );
}

export function pendingCard(view: PendingView, sandbox: boolean): Card {
  const line = (r: ApprovalRequest) =>
    `${r.id}: ${r.command} ${Object.values(r.parameters).join(' ')} by ${r.requester.name}, ${r.state}, ${r.approvals.length}/${r.policy.approvals} approval(s)${r.state === 'pending' ? `, expires ${formatTime(r.expiresAt)}` : ''}`;
  return listCard('Pending requests', undefined, [
    { heading: 'Waiting for your decision', lines: view.toDecide.map(line) },
    { heading: 'Your open requests', lines: view.mine.map(line) },
  ], sandbox);
}

export function queryCard(result: QueryResult, sandbox: boolean): Card {
  const lines = result.rows.map((row) => row.map((cell, i) => `${result.columns[i]}: ${cell}`).join(' | '));
  if (result.truncated) lines.push(`(more rows not shown)`);
  return listCard(result.title, undefined, [{ heading: `${result.rows.length} row(s)`, lines }], sandbox);
}

export function commandUsage(command: CommandSpec): string {
  return usage(command);
}

function describeOperationKind(kind: string): string {
  return kind.replace(/([A-Z])/g, ' $1').toLowerCase();
}

function shortId(id: string): string {
  const m = /\/providers\/(.+)$/i.exec(id);
  return m ? m[1] : id;
}

export function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, ' UTC');
}
