import assert from 'node:assert/strict';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import type { CardMessage } from '../../src/app/ports';
import type { NotifierStores } from '../../src/teams/notifier';
import type { ApprovalRequest } from '../../src/domain/request';
import { TeamsNotifier } from '../../src/teams/notifier';
import { requestIn } from '../support/requests';

/** The highest version claimed per card message, as the database shared by several instances keeps it. */
function sharedClaims() {
  const sent = new Map<string, number>();
  return async (requestId: string, message: CardMessage, version: number): Promise<boolean> => {
    const key = `${requestId}/${message.activityId}`;
    if ((sent.get(key) ?? 0) >= version) return false;
    sent.set(key, version);
    return true;
  };
}

/** A notifier whose Bot Connector only records the card updates (version shown, per activity). */
function recordingNotifier(claimCardVersion = sharedClaims(), updates: { activityId: string; card: string }[] = []) {
  const card: CardMessage = { conversationId: '19:ops-channel@thread.tacv2', activityId: 'card-1' };
  const conversations = {
    getCardMessages: async () => [card],
    claimCardVersion,
    getReference: async () => ({ conversation: { id: card.conversationId }, serviceUrl: 'http://127.0.0.1:9/' }),
    saveReference: async () => undefined,
    saveCardMessage: async () => undefined,
  } as unknown as NotifierStores;
  const adapter = {
    continueConversationAsync: async (_appId: string, _ref: unknown, logic: (ctx: TurnContext) => Promise<void>) =>
      logic({
        updateActivity: async (activity: { id: string; attachments: { content: unknown }[] }) => {
          updates.push({ activityId: activity.id, card: JSON.stringify(activity.attachments[0].content) });
        },
      } as unknown as TurnContext),
  } as unknown as CloudAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  return { notifier: new TeamsNotifier(adapter, '', conversations, log), updates };
}

describe('Card updates for everyone', () => {
  it('sends one update showing the newest state when a request changes several times at once', async () => {
    // An approval is followed at once by the claim and the start of execution: three versions.
    const approved: ApprovalRequest = requestIn('approved');
    const executing: ApprovalRequest = requestIn('executing');
    const started: ApprovalRequest = { ...executing, version: executing.version + 1, execution: { ...executing.execution!, ref: { resourceIds: ['/subscriptions/x/resourceGroups/staging-old'] } } };
    const { notifier, updates } = recordingNotifier();
    void notifier.cardChanged(approved);
    void notifier.cardChanged(executing);
    void notifier.cardChanged(started);
    await notifier.idle();
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.equal(updates[0].activityId, 'card-1');
    assert.match(updates[0].card, /Executing/);
  });

  it('still sends a later change once the first update has gone', async () => {
    const { notifier, updates } = recordingNotifier();
    await notifier.cardChanged(requestIn('executing'));
    await notifier.cardChanged(requestIn('succeeded'));
    await notifier.idle();
    assert.equal(updates.length, 2);
    assert.match(updates[1].card, /Succeeded/);
  });

  it('renders a card only when Teams lets its update go, from the newest version by then, and sends no stale one after', async () => {
    const { notifier, updates } = recordingNotifier();
    // Teams' budget for the channel is spent: the first update waits until the test lets it go.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let calls = 0;
    notifier.limiter = { acquire: async () => (calls++ === 0 ? held : undefined) } as unknown as typeof notifier.limiter;
    const done = notifier.cardChanged(requestIn('approved'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the settle time: the update is waiting
    void notifier.cardChanged(requestIn('executing'));
    void notifier.cardChanged(requestIn('succeeded'));
    letGo();
    await done;
    await notifier.idle();
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('sends a change once when several instances are told of it', async () => {
    const claims = sharedClaims();
    const updates: { activityId: string; card: string }[] = [];
    const instances = [recordingNotifier(claims, updates), recordingNotifier(claims, updates), recordingNotifier(claims, updates)];
    await Promise.all(instances.map((i) => i.notifier.cardChanged(requestIn('executing'))));
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
  });

  it('sends no older card after another instance sent a newer one', async () => {
    const claims = sharedClaims();
    const updates: { activityId: string; card: string }[] = [];
    const slow = recordingNotifier(claims, updates);
    const fast = recordingNotifier(claims, updates);
    // The slow instance's update waits for Teams' budget while the other sends a newer version.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    slow.notifier.limiter = { acquire: () => held } as unknown as typeof slow.notifier.limiter;
    const done = slow.notifier.cardChanged(requestIn('executing'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fast.notifier.cardChanged(requestIn('succeeded'));
    letGo();
    await done;
    assert.equal(updates.length, 1, `expected one card update, got ${updates.length}`);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('sends the same version again when Teams asks for a retry', async () => {
    const updates: { activityId: string; card: string }[] = [];
    const { notifier } = recordingNotifier(sharedClaims(), updates);
    notifier.retryOptions = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
    let failures = 1;
    const adapter = (notifier as unknown as { adapter: CloudAdapter }).adapter;
    const original = adapter.continueConversationAsync.bind(adapter);
    (adapter as unknown as { continueConversationAsync: unknown }).continueConversationAsync = async (appId: string, ref: unknown, logic: (ctx: TurnContext) => Promise<void>) => {
      if (failures-- > 0) {
        return logic({ updateActivity: async () => Promise.reject(Object.assign(new Error('Too Many Requests'), { statusCode: 429 })) } as unknown as TurnContext);
      }
      return original(appId, ref as never, logic);
    };
    await notifier.cardChanged(requestIn('succeeded'));
    assert.equal(updates.length, 1);
    assert.match(updates[0].card, /Succeeded/);
  });

  it('waits as long as Teams\' Retry-After says before sending again', async () => {
    const updates: { activityId: string; card: string }[] = [];
    const { notifier } = recordingNotifier(sharedClaims(), updates);
    notifier.retryOptions = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };
    let failures = 1;
    const adapter = (notifier as unknown as { adapter: CloudAdapter }).adapter;
    const original = adapter.continueConversationAsync.bind(adapter);
    const throttled = Object.assign(new Error('Too Many Requests'), { statusCode: 429, response: { status: 429, headers: { get: (n: string) => (n === 'retry-after' ? '1' : undefined) } } });
    (adapter as unknown as { continueConversationAsync: unknown }).continueConversationAsync = async (appId: string, ref: unknown, logic: (ctx: TurnContext) => Promise<void>) => {
      if (failures-- > 0) return logic({ updateActivity: async () => Promise.reject(throttled) } as unknown as TurnContext);
      return original(appId, ref as never, logic);
    };
    const started = Date.now();
    await notifier.cardChanged(requestIn('succeeded'));
    assert.ok(Date.now() - started >= 1000, `sent again after ${Date.now() - started} ms, before Retry-After's second`);
    assert.equal(updates.length, 1);
  });
});
