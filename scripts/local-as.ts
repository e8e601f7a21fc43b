/**
 * `npm run local:as -- bob approve <request-id>`: clicks a request card's button as another person
 * of the local trial (`npm run local`), so one person can play the approver too. The click goes
 * through the Agents Playground's invoke endpoint with that person as `from`, like a click in Teams:
 * the bot checks it as any other, and the card on the Playground page changes.
 *
 * A development tool only: not part of the deployed bot nor of the `countersign` CLI. It reads the
 * request and the ids of its card messages from the local bot's SQLite store (read-only).
 *
 *   npm run local:as -- <person> approve|reject|cancel|ratify|flag <request-id> [comment for a rejection or a flag]
 *
 * ratify and flag are the Ratify / Flag buttons by which an approver reviews a break-glass use.
 *
 * <person> is a Playground user: bob, carol, dave, erin, frank or alice (or a user id, user-bob).
 *
 * Its exit code says what became of the click (docs/development.md#approving-as-someone-else-in-the-playground),
 * so that a script driving the trial can tell them apart: EXIT below.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Verb } from '../src/app/decisions';
import { editDistance } from '../src/domain/edit-distance';
import { canonicalRequestId, requestIdAsNamed } from '../src/domain/request-ids';
import { databaseFile, readSettings, type PostgresSettings, type Settings } from '../src/settings';
import { postgresDatabaseConnection } from '../src/cli/audit-database';
import { describeTarget, openPostgresStore } from '../src/store/postgres';
import { DEFAULT_PLAYGROUND_PORT, localTrialFile, playgroundPortSetting, runningLocalTrial } from './local-trial-file';
import { nodeProblem } from '../src/node-version';

/**
 * The card's buttons by verb (cards/request.json), every action the bot takes from a card (a verb
 * added to the app's Verb and not here does not compile): approve, reject (its Reject card asks for
 * a comment), cancel, and the review of a break-glass use, Ratify and Flag.
 */
const ACTIONS: Record<Verb, { comment: boolean }> = {
  approve: { comment: false },
  reject: { comment: true },
  cancel: { comment: false },
  ratify: { comment: false },
  flag: { comment: true },
};
const VERBS = Object.keys(ACTIONS);

/**
 * What the exit code says: the bot took the click; nothing was clicked (a problem here: the Node, the
 * store, no such request or card); the words typed were wrong; the click was refused (by the bot: its
 * answer says why; or by the Playground: the person is not in the card's conversation); the bot could
 * not be reached (the Playground does not answer, or answers that the bot did not).
 */
const EXIT = { accepted: 0, notClicked: 1, usage: 2, refused: 3, unreachable: 4 } as const;
const USAGE =
  `Usage: npm run local:as -- <person> ${VERBS.join('|')} <request-id> [comment, for reject and flag]\n` +
  '  e.g. npm run local:as -- bob approve CS-7K3M9QXW, or npm run local:as -- dave ratify CS-7K3M9QXW for a break-glass use';

interface PlaygroundConfig {
  currentUser?: { id?: string };
  users?: { id?: string }[];
  groupChats?: { id: string; name: string; members?: string[] }[];
}

async function main(argv: string[]): Promise<number> {
  // A second terminal on the system's Node would fail to open the store with a misleading message.
  const wrongNode = nodeProblem();
  if (wrongNode) {
    process.stderr.write(`Cannot act in the local trial: ${wrongNode}\n`);
    return EXIT.notClicked;
  }
  const [person, typedVerb, typedId, ...comment] = argv;
  const verb = typedVerb?.toLowerCase();
  if (verb && !VERBS.includes(verb)) {
    const near = VERBS.find((v) => editDistance(v, verb) <= 2);
    process.stderr.write(`Unknown action "${typedVerb}"${near ? `: did you mean ${near}?` : `: it is one of ${VERBS.join(', ')}.`}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (!person || !verb || !typedId) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  // Words an action does not take are refused, not dropped: only Reject and Flag ask for a comment.
  if (comment.length > 0 && !ACTIONS[verb as Verb].comment) {
    const extra = comment.join(' ');
    process.stderr.write(`${verb} takes only a request id, not "${extra}": its card button carries no comment (only reject and flag take one). Remove "${extra}" and run it again.\n${USAGE}\n`);
    return EXIT.usage;
  }
  const userId = person.startsWith('user-') ? person : `user-${person.toLowerCase()}`;
  const requestId = canonicalRequestId(typedId);
  const settings = readSettings(process.env);
  const { port, from, noTrial } = playgroundPort(settings.dataDir);
  const playground = `http://127.0.0.1:${port}`;
  // Said wherever the data folder may be the wrong one: no running `npm run local` recorded itself in it.
  const dataDirHint = noTrial ? `\n${noTrial}` : '';

  // The Playground's people (a person it does not know is named here, not as its 400 later).
  let config: PlaygroundConfig = {};
  try {
    const res = await fetch(`${playground}/_internal/v1/config`);
    if (res.ok) config = ((await res.json()) as { config?: PlaygroundConfig }).config ?? {};
  } catch {
    process.stderr.write(`The Agents Playground does not answer at ${playground} (${from}).${process.env.PLAYGROUND_PORT ? '' : dataDirHint}\nStart the local trial first: npm run local\n`);
    return EXIT.unreachable;
  }
  const people = [config.currentUser?.id, ...(config.users ?? []).map((u) => u.id)].filter((id): id is string => typeof id === 'string');
  if (people.length > 0 && !people.includes(userId)) {
    process.stderr.write(`There is no person ${person} in the Playground: its people are ${people.map((id) => id.replace(/^user-/, '')).join(', ')}.\n${USAGE}\n`);
    return EXIT.usage;
  }

  const where = storeName(settings);
  let found: Found | undefined;
  try {
    found = settings.store.kind === 'postgres' ? await readPostgres(settings.store.postgres, requestId) : readSqlite(databaseFile(settings.dataDir), requestId);
  } catch (err) {
    process.stderr.write(`Cannot read the local bot's store ${where}: ${(err as Error).message}${dataDirHint}\nStart the local trial first: npm run local\n`);
    return EXIT.notClicked;
  }
  if (!found) {
    process.stderr.write(`There is no request ${requestIdAsNamed(typedId)} in ${where}.${dataDirHint}\n`);
    return EXIT.notClicked;
  }
  if (found.cards.length === 0) {
    process.stderr.write(`Request ${requestId} has no card posted yet. Type "status ${requestId}" in the Playground, then try again.\n`);
    return EXIT.notClicked;
  }

  // The card in a group chat the person belongs to, where they would click in Teams; else the newest.
  const theirs = new Set((config.groupChats ?? []).filter((c) => c.members?.includes(userId)).map((c) => c.id));
  const card = [...found.cards].reverse().find((c) => theirs.has(c.conversationId)) ?? found.cards[found.cards.length - 1];

  const data: Record<string, unknown> = { requestId, hash: found.hash, ...(comment.length ? { comment: comment.join(' ') } : {}) };
  let res: Response;
  try {
    res = await fetch(`${playground}/_conversation/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'adaptiveCard/action',
        from: { id: userId },
        conversation: { id: card.conversationId },
        replyToId: card.activityId,
        value: { action: { type: 'Action.Execute', verb: verb.toLowerCase(), data } },
      }),
    });
  } catch (err) {
    process.stderr.write(`The Agents Playground at ${playground} stopped answering when ${userId} clicked ${verb} (${(err as Error).message}): whether the bot got the click is not known. Is npm run local still running? "status ${requestId}" in the Playground shows the request as it is.\n`);
    return EXIT.unreachable;
  }
  const text = await res.text();
  if (res.status >= 500) {
    // The Playground answers 502 when the bot does not answer it (stopped, or failed on the click).
    process.stderr.write(`The Playground answered ${res.status}: ${text.slice(0, 300)}\nIt could not get an answer from the bot: is npm run local still running (its terminal says why the bot stopped)? "status ${requestId}" in the Playground shows the request as it is.\n`);
    return EXIT.unreachable;
  }
  if (!res.ok) {
    process.stderr.write(`The Playground answered ${res.status}: ${text.slice(0, 300)}\n`);
    if (/UserNotFound/.test(text)) {
      // The only card of the request is in a conversation this person is not in (Alice's personal chat).
      const chats = (config.groupChats ?? []).filter((c) => c.members?.includes(userId)).map((c) => `*${c.name}*`);
      process.stderr.write(`${userId} is not in the conversation holding the request's card. Ask for the request in ${chats.length ? chats.join(' or ') : 'a group chat they are in'}, where ${userId} can click it, then try again.\n`);
    }
    if (/ActivityNotFoundInConversation/.test(text)) {
      // The Playground keeps its messages in memory: a card posted before `npm run local` last started is not on its page.
      const chat = (config.groupChats ?? []).find((c) => c.id === card.conversationId)?.name;
      process.stderr.write(`The request's card is not on the Playground's page: it keeps its messages in memory only, so a card posted before npm run local last started is gone. Type "status ${requestId}" in ${chat ? `*${chat}*` : 'the Playground'} to post it again, then run this again.\n`);
    }
    return EXIT.refused;
  }
  const answer = answerOf(text);
  if (answer.verdict === 'accepted') {
    process.stdout.write(`${userId} clicked ${verb} on request ${requestId}: ${answer.line}\n`);
    return EXIT.accepted;
  }
  if (answer.verdict === 'refused') {
    process.stderr.write(`${userId} clicked ${verb} on request ${requestId}, and the bot refused it: ${answer.line}\n`);
    return EXIT.refused;
  }
  process.stderr.write(`${userId} clicked ${verb} on request ${requestId}, and the bot's answer could not be read: ${answer.line}. "status ${requestId}" in the Playground shows the request as it is.\n`);
  return EXIT.notClicked;
}

/**
 * The Playground's port, and what chose it (said when it does not answer): PLAYGROUND_PORT here, else
 * the port a running `npm run local` recorded in the data folder, else the default. noTrial says, when
 * no running `npm run local` recorded itself in this data folder, which file was looked for and that
 * COUNTERSIGN_DATA_DIR must be the one `npm run local` was started with.
 */
function playgroundPort(dataDir: string): { port: number; from: string; noTrial?: string } {
  const running = runningLocalTrial(dataDir);
  const file = shown(localTrialFile(dataDir));
  const here = process.env.COUNTERSIGN_DATA_DIR ? `here it is ${process.env.COUNTERSIGN_DATA_DIR}` : 'here it is not set, so ./data';
  const noTrial = running
    ? undefined
    : `${existsSync(localTrialFile(dataDir)) ? `${file} was left by an npm run local that has stopped` : `No running npm run local is recorded in ${file}`}: ` +
      `COUNTERSIGN_DATA_DIR must be the one npm run local was started with (${here}).`;
  const found = noTrial ? { noTrial } : {};
  if (process.env.PLAYGROUND_PORT) return { port: playgroundPortSetting(process.env), from: 'PLAYGROUND_PORT', ...found };
  if (running) return { port: running.playgroundPort, from: `the port npm run local recorded in ${file}` };
  return { port: DEFAULT_PLAYGROUND_PORT, from: 'the default port; PLAYGROUND_PORT chooses another, as for npm run local', ...found };
}

/** A path as typed relative to here when it is under here, else in full. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}


interface CardElement {
  type?: string;
  id?: unknown;
  text?: unknown;
  style?: unknown;
  separator?: unknown;
  weight?: unknown;
  items?: CardElement[];
  columns?: CardElement[];
}

/**
 * What the bot answered the click with, in a line, and whether it took it. The bot (src/teams/card-actions.ts)
 * answers a click it took with the request's card as it now is, and one it refused with the card and a
 * notice saying why (an attention container above the state), or with a message in place of the card
 * (no such request, a card it did not post, or it could not record the click). So: a card without a
 * notice, accepted (its state and result line); a notice or a message, refused (it, and the state);
 * anything else, unreadable.
 */
function answerOf(text: string): { verdict: 'accepted' | 'refused' | 'unreadable'; line: string } {
  let body: { value?: unknown; body?: { value?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { verdict: 'unreadable', line: `it is not JSON: ${text.slice(0, 300)}` };
  }
  const answer = body.body ?? body;
  if (typeof answer.value === 'string') return { verdict: 'refused', line: plainText(answer.value) };
  const card = (answer.value ?? {}) as { body?: CardElement[] };
  const blocks = card.body ?? [];
  // The card's layout (cards/request.json): the notice (an attention container) comes before the
  // column set (id "state") whose left column holds the state, the request id on its right; the
  // result is a container after a separator, headed by a bold line (the approvals' progress is one
  // too, not bold).
  const stateAt = blocks.findIndex((b) => b.type === 'ColumnSet' && b.id === 'state');
  const notice = blocks.slice(0, Math.max(stateAt, 0)).find((b) => b.type === 'Container' && b.style === 'attention')?.items?.[0]?.text;
  const state = blocks[stateAt]?.columns?.[0]?.items?.[0]?.text;
  const outcome = blocks.find((b, i) => i > stateAt && b.type === 'Container' && b.separator === true && b.items?.[0]?.weight === 'Bolder')?.items?.[0]?.text;
  // A request approved to run at once has no result yet: who decided is the approvals' last "Approved by" line.
  const lines = blocks
    .filter((b, i) => i > stateAt && b.type === 'Container' && b.separator === true)
    .flatMap((b) => b.items ?? [])
    .map((b) => b.text)
    .filter((t): t is string => typeof t === 'string');
  const approvedBy = lines.filter((t) => t.startsWith('Approved by ')).at(-1);
  // A reviewed break-glass use: its result says how it ran, the review line who ratified or flagged it.
  const reviewedBy = lines.find((t) => /^BREAK-GLASS (ratified|FLAGGED) by /.test(t));
  const result = [typeof outcome === 'string' && outcome ? outcome : approvedBy, reviewedBy].filter((t) => !!t).join('; ');
  if (typeof state !== 'string') return { verdict: 'unreadable', line: 'it is a card that has no state' };
  const now = [`the card now says ${plainText(state)}`, result ? `: ${plainText(result)}` : ''].join('');
  if (typeof notice === 'string' && notice) return { verdict: 'refused', line: `${plainText(notice)} (${now})` };
  return { verdict: 'accepted', line: now };
}

/**
 * Card text as a terminal shows it: the DATE and TIME expressions Teams evaluates in the reader's
 * time zone become UTC date and time, and the card's markdown escapes are dropped.
 */
function plainText(cardText: string): string {
  return cardText
    .replace(/\{\{DATE\(([^,)]+)(?:,\s*\w+)?\)\}\}\s*\{\{TIME\(([^)]+)\)\}\}/g, (expression, date: string) => {
      const t = utc(date);
      return t ? `${t.date} ${t.time}` : expression;
    })
    .replace(/\{\{DATE\(([^,)]+)(?:,\s*\w+)?\)\}\}/g, (expression, date: string) => utc(date)?.date ?? expression)
    .replace(/\{\{TIME\(([^)]+)\)\}\}/g, (expression, time: string) => utc(time)?.time ?? expression)
    .replace(/\\([\\`*_[\]<>~|#+.-])/g, '$1')
    .replace(/\u200B/g, '');
}

/** 2026-12-05T12:27:00Z as 2026-12-05 and 12:27 UTC. */
function utc(iso: string): { date: string; time: string } | undefined {
  const t = new Date(iso.trim());
  if (Number.isNaN(t.getTime())) return undefined;
  const text = t.toISOString();
  return { date: text.slice(0, 10), time: `${text.slice(11, 16)} UTC` };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);

interface Found {
  hash: string;
  state: string;
  cards: { conversationId: string; activityId: string }[];
}

/** The store the local bot uses, as the messages name it: its SQLite file, or the PostgreSQL database COUNTERSIGN_STORE=postgres names. */
function storeName(settings: Settings): string {
  return settings.store.kind === 'postgres' ? `the PostgreSQL database ${describeTarget(postgresDatabaseConnection(settings.store.postgres))}` : shown(databaseFile(settings.dataDir));
}

/** Read-only, beside the running bot (SQLite lets one process write while others read). */
function readSqlite(file: string, requestId: string): Found | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT body FROM requests WHERE id = ?').get(requestId) as { body: string } | undefined;
    if (!row) return undefined;
    const r = JSON.parse(row.body) as { operationHash: string; state: string };
    const cards = db
      .prepare('SELECT conversation_id AS conversationId, activity_id AS activityId FROM card_messages WHERE request_id = ? ORDER BY rowid')
      .all(requestId) as { conversationId: string; activityId: string }[];
    return { hash: r.operationHash, state: r.state, cards };
  } finally {
    db.close();
  }
}

/** Through the store itself, never migrating: several processes share a PostgreSQL database. */
async function readPostgres(pg: PostgresSettings, requestId: string): Promise<Found | undefined> {
  const store = await openPostgresStore({ connection: { ...postgresDatabaseConnection(pg), max: 2 }, migrate: 'never' });
  try {
    const r = await store.requests.get(requestId);
    return r ? { hash: r.operationHash, state: r.state, cards: await store.cards.getCardMessages(requestId) } : undefined;
  } finally {
    await store.close();
  }
}
