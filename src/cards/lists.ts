/**
 * The list cards: help, pending requests, query results, and the plain list they are all drawn as.
 */
import { withDistinctNames } from '../domain/display-names';
import { isDecidable, type ApprovalRequest } from '../domain/request';
import { stateWords } from './request-card';
import { commandWords, namesTopic } from '../domain/command-words';
import type { QueryResult } from '../domain/operation';
import type { HelpEntry, PendingView } from '../app/queries';
import { plural } from '../domain/duration-text';
import { localTime, md, shortened } from './markdown';
import { type Card, render, renderWithText } from './render';

/**
 * The longest a help or table card may be, in characters of its JSON: Teams answers a larger
 * message with 413, and the person would get no answer at all.
 */
const TABLE_MAX_CHARACTERS = 27_000;

export interface ListSection {
  heading: string;
  /** Plain text (escaped here), or card text already made safe, e.g. with a time Teams shows in the reader's zone. */
  lines: (string | { markdown: string })[];
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
    sections: sections.map((s) => ({ heading: md(s.heading), lines: (s.lines.length ? s.lines : ['(none)']).map((l) => ({ line: typeof l === 'string' ? md(l) : l.markdown })) })),
  };
}

/**
 * The commands a person may use. `soon`/`later`: the dates the examples use (tomorrow and in a few
 * days, in the reader's zone), so that no example is a date already past.
 */
export function helpCard(entries: HelpEntry[], sandbox: boolean, examples: { soon: string; later: string }): Card {
  // A large catalog would pass the size Teams accepts in a message (and `help` would answer nothing):
  // its descriptions go first, then the commands past those that fit are counted.
  const full = renderWithText('list', helpCardView(entries.map(helpLine), sandbox, examples));
  if (full.text.length <= TABLE_MAX_CHARACTERS) return full.card;
  let lines = entries.map((e) => helpLine({ ...e, description: '' }));
  let shown = lines.length;
  for (;;) {
    const more = entries.length - shown;
    const listed = more > 0 ? [...lines.slice(0, shown), `… and ${plural(more, 'more command')}: type a command's name alone for a form that asks for its parameters`] : lines;
    const { card, text } = renderWithText('list', helpCardView(listed, sandbox, examples));
    if (text.length <= TABLE_MAX_CHARACTERS || shown <= 1) return card;
    shown = Math.max(1, Math.min(shown - 1, Math.floor((shown * TABLE_MAX_CHARACTERS) / text.length)));
    lines = lines.slice(0, shown);
  }
}

function helpLine(e: HelpEntry): string {
  // A read-only command is run, not requested (its approval text says read-only).
  const not = e.approval.startsWith('read-only') ? 'run' : 'request';
  return `${e.usage}${e.description ? `: ${e.description}` : ''} (${e.approval}${e.allowed ? '' : `; you may not ${not} it`})`;
}

function helpCardView(operations: string[], sandbox: boolean, { soon, later }: { soon: string; later: string }): object {
  return listCardView(
    'Countersign commands',
    'Type a command with its parameters; add "reason: ..." to tell approvers why. Sensitive commands need a second person to approve: the people who may decide get the card in a personal chat with Countersign, and are reminded as the command says.',
    [
      {
        heading: 'Operations',
        lines: operations,
      },
      {
        heading: 'Built in',
        lines: builtInLines({ soon, later }),
      },
    ],
    sandbox,
  );
}

/** The built-in commands, one line each: how each is typed, then what it does. */
function builtInLines({ soon, later }: { soon: string; later: string }): string[] {
  return [
    'help: this list',
    'pending: requests waiting for you, and your own open requests',
    'status <request-id>: where a request stands',
    `<command> ... at <time>: approve now, run later (at ${soon}T02:00, at 02:00 in your time zone, or ISO 8601 with Z); commands with maintenance windows wait for the next one`,
    'break-glass <command> ... reason: <why>: only where the policy allows it, runs at once without approval; the approvers are told and must ratify or flag it afterwards',
    'audit export <from> <to> [csv|jsonl|ocsf]: a 15-minute download link for the audit trail (auditors, personal chat)',
    `delegate @person until <time>: while you are away, they decide with your approver roles (until ${later}, until ${later}T18:00, until 18:00 or for 3d, in your time zone)`,
    'delegations: the delegations you gave and received',
    'revoke delegation [@person]: end your delegation now',
  ];
}

/** The literal words a built-in's line begins with ("revoke delegation" of "revoke delegation [@person]: ..."). */
function builtInName(line: string): string {
  const words: string[] = [];
  for (const w of line.split(':')[0].split(/\s+/)) {
    if (/[<[.]/.test(w)) break;
    words.push(w);
  }
  return words.join(' ');
}

/**
 * `help <words>`: the lines of the commands and built-ins those words name, each as `help` lists it;
 * undefined when they name none.
 */
export function helpTopicCard(topic: string, entries: HelpEntry[], sandbox: boolean, examples: { soon: string; later: string }): Card | undefined {
  const builtIns = builtInLines(examples).filter((l) => namesTopic(builtInName(l), topic));
  if (entries.length === 0 && builtIns.length === 0) return undefined;
  const sections: ListSection[] = [];
  if (entries.length > 0) sections.push({ heading: 'Operations', lines: entries.map(helpLine) });
  if (builtIns.length > 0) sections.push({ heading: 'Built in', lines: builtIns });
  return listCard(`Help: ${shortened(topic, 80)}`, 'Type "help" alone for every command.', sections, sandbox);
}

/** When a listed request's wait ends: an open one's expiry, a scheduled one's run (and until when its approval holds). */
function lineTime(r: ApprovalRequest): string {
  if (isDecidable(r)) return `, expires ${localTime(r.expiresAt)}`;
  if (r.state === 'scheduled' && r.runAt) return `, runs at ${localTime(r.runAt)} (approval valid until ${localTime(r.expiresAt)})`;
  return '';
}

/** When a break-glass use's review is due, or that it is overdue. */
function reviewTime(r: ApprovalRequest): string {
  if (!r.breakGlass) return '';
  return r.breakGlass.overdueAt ? `, review overdue since ${localTime(r.breakGlass.reviewDueAt)}` : `, review due ${localTime(r.breakGlass.reviewDueAt)}`;
}

/**
 * The pending card: each section lists the oldest requests the view holds (at most PENDING_SHOWN,
 * which keeps the card well under the about 100 KB Teams accepts in a message, and readable), then
 * how many more there are.
 */
export function pendingCard(view: PendingView, sandbox: boolean): Card {
  // Lines as long as their requests' words (a value may hold 200 characters, a name 256): PENDING_SHOWN
  // of each kind could pass the size Teams accepts in a message, and "pending" would answer nothing.
  // Fewer of each are listed then, the rest counted, as for more than PENDING_SHOWN.
  let shown = Math.max(view.toDecide.length, view.mine.length, view.toReview?.length ?? 0);
  for (;;) {
    const { card, text } = renderWithText('list', pendingCardView(view, sandbox, shown));
    if (text.length <= TABLE_MAX_CHARACTERS || shown <= 1) return card;
    shown = Math.max(1, Math.min(shown - 1, Math.floor((shown * TABLE_MAX_CHARACTERS) / text.length)));
  }
}

/** What cards/list.json is expanded with for `pending`, listing at most `shown` requests of each kind. */
function pendingCardView(view: PendingView, sandbox: boolean, shown: number): object {
  // The requester's words are escaped; the expiry is Teams' DATE/TIME functions, which escaping would break.
  const line = (r: ApprovalRequest) => ({
    markdown: `${md(`${r.id}: ${commandWords(r.command, r.parameters, view.commandNames)} by ${withDistinctNames(r).requester.name}, ${stateWords(r.state)}, ${r.approvals.length} of ${plural(r.policy.approvals, 'approval')}`)}${lineTime(r)}`,
  });
  const section = (heading: string, all: readonly ApprovalRequest[], count: number, lineOf = line) => {
    const listed = all.slice(0, shown);
    const more = count - listed.length;
    return {
      heading: more > 0 ? `${heading} (${count})` : heading,
      lines: more > 0 ? [...listed.map(lineOf), `… and ${plural(more, 'more request')} (the oldest are shown; status <request-id> shows any one)`] : listed.map(lineOf),
    };
  };
  const elsewhere = view.elsewhereCount > 0
    ? `Only the requests of this conversation are listed here. ${plural(view.elsewhereCount, 'other')} asked elsewhere: type "pending" in your personal chat with Countersign to see them.`
    : undefined;
  // Graph could not confirm a group membership: "(none)" must not read as "nothing waits for you".
  const unknown = view.membershipUnknown
    ? `${view.membershipUnknown.replace(/[.\s]+$/, '')}. Requests decided through that membership are not listed: type "pending" again in a minute.`
    : undefined;
  // Break-glass uses waiting for a review: listed when there are any (most people never have one).
  const review = (r: ApprovalRequest) => ({
    markdown: `${md(`${r.id}: ${commandWords(r.command, r.parameters, view.commandNames)} by ${withDistinctNames(r).requester.name}, run without approval (break-glass), ${stateWords(r.state)}`)}${reviewTime(r)}; ratify or flag it on its card`,
  });
  const reviews = view.toReviewCount ? [section('Break-glass uses waiting for your review', view.toReview ?? [], view.toReviewCount, review)] : [];
  // Requests lost under the store: "(none)" must not read as "nothing is open" either.
  return listCardView('Pending requests', [view.untrusted, unknown, elsewhere].filter((x) => x !== undefined).join(' ') || undefined, [
    section('Waiting for your decision', view.toDecide, view.toDecideCount),
    ...reviews,
    section('Your open requests', view.mine, view.mineCount),
  ], sandbox);
}

/**
 * The longest a table card may be, in characters of its JSON, and a cell's text. Each cell carries
 * its own markup, so fifty rows of five columns are already most of what Teams accepts in a message
 * (it answers a larger one with 413 and the person would get no answer at all); resources with many
 * tags would pass it. A cell is cut, and a table still too long shows its first rows only, as a
 * question with more rows than Countersign lists does.
 */
const CELL_MAX = 200;

/** A read-only answer as a table people can read: a header row, then one row per thing found. */
export function queryCard(result: QueryResult, sandbox: boolean): Card {
  let rows = result.rows.map((row) => row.map((cell) => shortened(cell, CELL_MAX)));
  let { card, text } = renderWithText('table', queryCardView({ ...result, rows }, sandbox));
  while (text.length > TABLE_MAX_CHARACTERS && rows.length > 1) {
    // Rows are about the same size: keep the share of them that fits, and measure again.
    rows = rows.slice(0, Math.max(1, Math.min(rows.length - 1, Math.floor((rows.length * TABLE_MAX_CHARACTERS) / text.length))));
    ({ card, text } = renderWithText('table', queryCardView({ ...result, rows, truncated: true }, sandbox)));
  }
  return card;
}

/** What cards/table.json is expanded with. */
export function queryCardView(result: QueryResult, sandbox: boolean): object {
  const row = (cells: string[], weight: string) => ({ cells: cells.map((c) => ({ text: md(c) || ' ', weight })) });
  // Names and tags need the room; short columns (type, location) less.
  const width = (column: string) => (/^(name|tags|resource|value|property)/i.test(column) ? 3 : 2);
  return {
    sandbox,
    title: md(result.title),
    countText: result.rows.length === 0 ? 'Nothing found.' : `${plural(result.rows.length, 'result')}${result.truncated ? ' shown' : ''}`,
    hasRows: result.rows.length > 0,
    columns: result.columns.map((c) => ({ width: width(c) })),
    rows: [row(result.columns, 'Bolder'), ...result.rows.map((r) => row(r, 'Default'))],
    truncated: !!result.truncated,
  };
}

