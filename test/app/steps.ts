/** What a person does in Teams, as the use-case calls the Teams layer makes for it; and the fakes a suite's tests each start on. */
import assert from 'node:assert/strict';
import type { CardClick, ClickResult } from '../../src/app/decisions';
import type { CreateResult } from '../../src/app/requests';
import type { Actor, ApprovalRequest } from '../../src/domain/request';
import type { Store } from '../../src/app/ports';
import { appOnFakes, type AppOnFakes, type AppOnFakesOptions } from '../support/app-on-fakes';
import { opsChannel, sourceIn } from '../support/people';

/** The card message the bot posted for a request (recorded by `asked`). */
function cardOf(requestId: string): string {
  return `card-${requestId}`;
}

/** A message asking for something: interpreted, then created. */
export async function ask(f: Pick<AppOnFakes<Store>, 'app'>, who: Actor, text: string, timeZone?: string): Promise<CreateResult> {
  const meant = f.app.interpret(text);
  if (meant.kind !== 'ready') throw new Error(`"${text}" is not a complete request (${meant.kind})`);
  const extra = { ...(meant.reason ? { reason: meant.reason } : {}), ...(meant.runAt ? { runAt: meant.runAt } : {}), ...(timeZone ? { timeZone } : {}) };
  return f.app.createRequest({ command: meant.command, values: meant.values, ...extra, actor: who, source: sourceIn(opsChannel, 'ask-1') });
}

/** A request that was created, with its card posted in the operations channel. */
export async function asked(f: Pick<AppOnFakes<Store>, 'app'>, who: Actor, text: string, timeZone?: string): Promise<ApprovalRequest> {
  const result = await ask(f, who, text, timeZone);
  assert.ok(result.ok, `not created: ${JSON.stringify(result)}`);
  await f.app.cardPosted(result.request.id, { conversationId: opsChannel.id, activityId: cardOf(result.request.id) });
  return result.request;
}

/** A click on the request's card, as shown (its operation hash) unless `extra` says otherwise. */
export function click(f: Pick<AppOnFakes<Store>, 'app'>, who: Actor, request: ApprovalRequest, verb: string, extra: Partial<CardClick> = {}): Promise<ClickResult> {
  return f.app.click({
    requestId: request.id,
    verb,
    cardHash: request.operationHash,
    actor: who,
    source: sourceIn(opsChannel, `click-${verb}`),
    conversationId: opsChannel.id,
    replyToId: cardOf(request.id),
    ...extra,
  });
}

/** The request `status <id>` typed in the person's personal chat shows, or undefined when it shows none. */
export async function statusShown(f: Pick<AppOnFakes<Store>, 'app'>, who: Actor, requestId: string): Promise<ApprovalRequest | undefined> {
  const answer = await f.app.statusIn(who, requestId, sourceIn({ id: `a:${who.aadObjectId}`, conversationType: 'personal' }, 'status-1'));
  return 'show' in answer ? answer.show : undefined;
}

/** The refusal reason of a click that must have been refused. */
export function refusedWith(result: ClickResult): string {
  assert.equal(result.ok, false, 'the click was accepted');
  return result.ok ? '' : result.refusal.reason;
}

/** Waits for the executions started so far. */
export async function settle(f: AppOnFakes<Store>, ...others: { executor: { idle(): Promise<void> } }[]): Promise<void> {
  await f.app.executor.idle();
  for (const o of others) await o.executor.idle();
}

/** Fails the test when an execution crashed in the background (the executor only logs it). */
export function assertNoCrash(f: AppOnFakes<Store>): void {
  assert.deepEqual(
    f.log.lines.filter((l) => l.level === 'error'),
    [],
  );
}

/**
 * Fresh fakes for each test of the suite, handed to `fakes.set` before it (`options` as a function
 * when they need objects of the test's own, such as a messenger); after it, the executions and rounds
 * of messages of the fakes `fakes.get` then gives (a test may have replaced them) are waited for and,
 * with `noCrash`, no execution may have crashed. The suite's own hooks registered before this call
 * run before these, those registered after it after them.
 */
export function freshFakesEachTest(fakes: { set(f: AppOnFakes): void; get(): AppOnFakes }, options: AppOnFakesOptions | (() => AppOnFakesOptions) = {}, after: { noCrash?: boolean } = {}): void {
  beforeEach(() => fakes.set(appOnFakes(typeof options === 'function' ? options() : options)));
  afterEach(async () => {
    const f = fakes.get();
    await settle(f);
    await f.app.tellingIdle();
    if (after.noCrash) assertNoCrash(f);
  });
}
