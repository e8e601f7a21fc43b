/**
 * `npm run local:as -- bob approve <request-id>`: clicks a request card's button as another person
 * of the local trial (`npm run local`), so one person can play the approver too. The click goes
 * through the Agents Playground's invoke endpoint with that person as `from`, like a click in Teams:
 * the bot checks it as any other, and the card on the Playground page changes.
 *
 * A development tool only: not part of the deployed bot nor of the `countersign` CLI. It reads the
 * request and the ids of its card messages from the local bot's SQLite store (read-only).
 *
 *   npm run local:as -- <person> approve|reject|cancel <request-id> [comment for a rejection]
 *
 * <person> is a Playground user: bob, carol, dave, erin, frank or alice (or a user id, user-bob).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { canonicalRequestId } from '../src/app/request-ids';
import { databaseFile, readSettings } from '../src/settings';

const VERBS = ['approve', 'reject', 'cancel'];
const USAGE = 'Usage: npm run local:as -- <person> approve|reject|cancel <request-id> [comment]\n  e.g. npm run local:as -- bob approve CS-7K3M9QXW';

interface PlaygroundConfig {
  currentUser?: { id?: string };
  users?: { id?: string }[];
  groupChats?: { id: string; name: string; members?: string[] }[];
}

async function main(argv: string[]): Promise<number> {
  const [person, verb, typedId, ...comment] = argv;
  if (!person || !verb || !typedId || !VERBS.includes(verb.toLowerCase())) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const userId = person.startsWith('user-') ? person : `user-${person.toLowerCase()}`;
  const requestId = canonicalRequestId(typedId);
  const settings = readSettings(process.env);
  // The same port variable as scripts/local.ts.
  const playground = `http://127.0.0.1:${Number(process.env.PLAYGROUND_PORT || 56150)}`;

  // The Playground's people (a person it does not know is named here, not as its 400 later).
  let config: PlaygroundConfig = {};
  try {
    const res = await fetch(`${playground}/_internal/v1/config`);
    if (res.ok) config = ((await res.json()) as { config?: PlaygroundConfig }).config ?? {};
  } catch {
    process.stderr.write(`The Agents Playground does not answer at ${playground}. Start the local trial first: npm run local\n`);
    return 1;
  }
  const people = [config.currentUser?.id, ...(config.users ?? []).map((u) => u.id)].filter((id): id is string => typeof id === 'string');
  if (people.length > 0 && !people.includes(userId)) {
    process.stderr.write(`There is no person ${person} in the Playground: its people are ${people.map((id) => id.replace(/^user-/, '')).join(', ')}.\n${USAGE}\n`);
    return 2;
  }

  const file = databaseFile(settings.dataDir);
  let found: { hash: string; state: string; cards: { conversationId: string; activityId: string }[] } | undefined;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT body FROM requests WHERE id = ?').get(requestId) as { body: string } | undefined;
      if (row) {
        const r = JSON.parse(row.body) as { operationHash: string; state: string };
        const cards = db
          .prepare('SELECT conversation_id AS conversationId, activity_id AS activityId FROM card_messages WHERE request_id = ? ORDER BY rowid')
          .all(requestId) as { conversationId: string; activityId: string }[];
        found = { hash: r.operationHash, state: r.state, cards };
      }
    } finally {
      db.close();
    }
  } catch (err) {
    process.stderr.write(`Cannot read the local bot's store ${path.relative(process.cwd(), file)}: ${(err as Error).message}\nStart the local trial first: npm run local\n`);
    return 1;
  }
  if (!found) {
    process.stderr.write(`There is no request ${requestId} in ${path.relative(process.cwd(), file)}.\n`);
    return 1;
  }
  if (found.cards.length === 0) {
    process.stderr.write(`Request ${requestId} has no card posted yet. Type "status ${requestId}" in the Playground, then try again.\n`);
    return 1;
  }

  // The card in a group chat the person belongs to, where they would click in Teams; else the newest.
  const theirs = new Set((config.groupChats ?? []).filter((c) => c.members?.includes(userId)).map((c) => c.id));
  const card = [...found.cards].reverse().find((c) => theirs.has(c.conversationId)) ?? found.cards[found.cards.length - 1];

  const data: Record<string, unknown> = { requestId, hash: found.hash, ...(comment.length ? { comment: comment.join(' ') } : {}) };
  const res = await fetch(`${playground}/_conversation/v1/invoke`, {
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
  const text = await res.text();
  if (!res.ok) {
    process.stderr.write(`The Playground answered ${res.status}: ${text.slice(0, 300)}\n`);
    return 1;
  }
  process.stdout.write(`${userId} clicked ${verb} on request ${requestId}: ${answerOf(text)}\n`);
  return 0;
}

/** What the bot answered the click with, in a line: its message, or the card's state and notice. */
function answerOf(text: string): string {
  try {
    const body = JSON.parse(text) as { type?: string; value?: unknown; body?: { type?: string; value?: unknown } };
    const answer = body.body ?? body;
    if (typeof answer.value === 'string') return answer.value;
    const card = JSON.stringify(answer.value ?? {});
    const state = /"(PENDING APPROVAL|NEEDS RE-APPROVAL|APPROVED|EXECUTING|SUCCEEDED|FAILED|OUTCOME UNKNOWN|REJECTED|CANCELLED|EXPIRED)"/.exec(card)?.[1];
    const notice = /"style":"attention","items":\[\{"type":"TextBlock","text":"([^"]*)"/.exec(card)?.[1];
    return [state ? `the card now says ${state}` : 'the bot answered', notice ? `(${notice})` : ''].join(' ').trim();
  } catch {
    return text.slice(0, 300);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
