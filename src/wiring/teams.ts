/**
 * The Teams side as the composition root (src/composition-root.ts) wires it: the Bot Framework
 * adapter, the notifier that keeps cards up to date and the messenger that reaches approvers, both
 * sending through that adapter within Teams' rate limits.
 */
import type { Logger } from '../log/context';
import type { Settings } from '../settings';
import type { CountersignStore } from '../store/countersign-store';
import { createAdapter } from '../teams/adapter';
import { cardLeaseMs, TeamsNotifier } from '../teams/notifier';
import { TeamsApproverMessenger } from '../teams/personal-conversations';
import { ConversationRateLimiter, shareOfLimits } from '../teams/rate-limit';
import type { Telemetry } from '../telemetry';

/**
 * The Teams adapter and what sends through it: the notifier (card updates, within each instance's
 * share of Teams' rate limits, which a turn's replies count in too) and the approver messenger.
 * `current` is the store as the composition root holds it at each call (it is wrapped after this).
 */
export function teamsSending(settings: Settings, log: Logger, current: () => CountersignStore, azure: { sandbox: boolean }, telemetry: Telemetry | undefined): { adapter: ReturnType<typeof createAdapter>; notifier: TeamsNotifier; messenger: TeamsApproverMessenger } {
  const adapter = createAdapter(settings.microsoftApp, log, (err) => current().storageFault(err), settings.teamsSendTimeoutMs, azure.sandbox);
  const notifier = new TeamsNotifier(adapter, settings.microsoftApp.id, { getReference: (id) => current().conversations.getReference(id), getCardMessages: (id) => current().cards.getCardMessages(id), claimCardVersion: (id, m, v, l) => current().cards.claimCardVersion(id, m, v, l), releaseCardVersion: (id, m, v, h, shown) => current().cards.releaseCardVersion(id, m, v, h, shown), getSettledCardMessages: (id) => current().cards.getSettledCardMessages(id), storageFault: (err) => current().storageFault(err) }, log);
  // Several instances send into the same conversations: each keeps to its share of Teams' limits.
  notifier.limiter = new ConversationRateLimiter(shareOfLimits(settings.instances), () => performance.now(), undefined, telemetry?.sendThrottled);
  // A turn's replies count in the same windows (and wait for room ahead of the notifier's sends, at
  // most as long as the adapter says: its bound must reach the limiter).
  adapter.limiter = { acquire: (conversationId, ahead, maxWaitMs) => notifier.limiter.acquire(conversationId, ahead, maxWaitMs) };
  // A card version's lease keeps other instances' newer updates back while this one's travels. On
  // SQLite there is one instance: a process restarted after a crash is that same instance and takes
  // up the cards its predecessor held at once, instead of waiting for their leases to run out.
  if (settings.store.kind === 'sqlite') notifier.cardLease.holder = 'sqlite';
  // An instance gone is taken as gone for its cards no later than for its executions (cardLeaseMs).
  notifier.cardLease.ms = cardLeaseMs(settings.executionLeaseMs);
  const messenger = new TeamsApproverMessenger(adapter, settings.microsoftApp.id, notifier, {
    getReference: (id) => current().conversations.getReference(id),
    saveReference: (id, r) => current().conversations.saveReference(id, r),
    getPersonalReference: (t, id) => current().conversations.getPersonalReference(t, id),
    savePersonalReference: (t, id, r) => current().conversations.savePersonalReference(t, id, r),
    storageFault: (err) => current().storageFault(err),
  }, log);
  return { adapter, notifier, messenger };
}
