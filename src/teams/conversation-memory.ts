/**
 * How Countersign remembers the conversations it is spoken to in, for the messages it sends there
 * later (cards refreshed, approvers told, replies to a request): the conversation's reference is
 * saved when it changed, under a channel's own id too, and a personal chat as the way to reach its
 * person. Written for every message and click, so the write is skipped when nothing changed and a
 * message never waits long for it.
 */
import { type ConversationReference, TurnContext } from 'botbuilder';
import { channelOf } from '../domain/conversation-ids';
import type { Logger } from '../log/context';
import { LruMap } from './bounded-storage';
import { actorOf, knownTimeZoneOf } from './identity';
import type { TeamsUserIds } from './personal-cards';
import type { ConversationReferenceStore } from './ports';

/** How many conversations' stored references are remembered as unchanged (a cache of writes saved). */
const KNOWN_REFERENCES = 2_000;

/** How many people's stored time zones are remembered as unchanged (a cache of reads and writes saved). */
const KNOWN_ZONES = 5_000;

/**
 * A person's personal-chat reference as saved here: a botbuilder reference, with the IANA time zone
 * Teams last sent with their activity (anywhere: a personal chat, a group chat, a channel, a click),
 * in which the messages Countersign sends them on its own name times (reminders, delegation notices).
 */
export type PersonalReference = Partial<ConversationReference> & { timeZone?: string };

/** A conversation's reference not yet stored as it is now: its id, the reference, and how it is compared. */
interface UnsavedReference {
  id: string;
  reference: Partial<ConversationReference>;
  text: string;
}

/** How long a message waits for the write that remembers its conversation (ms), before it goes on without it. */
const REMEMBER_WAIT_MS = 200;

export class ConversationMemory {
  /** Conversations whose reference is known stored as is: only a cache, so bounded. */
  private readonly knownReferences = new LruMap<string, string>(KNOWN_REFERENCES);
  /** People (tenant and object id) whose personal reference is known stored with this zone: only a cache, so bounded. */
  private readonly knownZones = new LruMap<string, string>(KNOWN_ZONES);

  constructor(
    private readonly references: ConversationReferenceStore,
    /** Teams' ids of the people seen, told of each one whose activity is remembered. */
    private readonly teamsUserIds: TeamsUserIds,
    private readonly log: Logger,
  ) {}

  /**
   * Stores the conversation reference for proactive messages (only when it changed). Remembers the conversation, but a message is not held up by it for long nor fails with it: that
   * write is how Countersign reaches the conversation later, not what the message asks. When the store
   * cannot take it at once (another process holds the write lock, the disk is full), the message goes
   * on after REMEMBER_WAIT_MS (`help`, `status` and `pending` answer; a command that writes meets the
   * store itself and says so), the write finishes or fails on its own (logged), and the next message
   * in the conversation writes it again.
   */
  async rememberWithoutWaiting(context: TurnContext): Promise<void> {
    const unsaved = this.unsavedReference(context);
    if (!unsaved) return this.rememberZoneWithoutWaiting(context);
    const writing = this.saveReference(context, unsaved).then(
      () => true,
      (err: unknown) => {
        this.log.warn({ conversationId: unsaved.id.slice(0, 200), err: String(err) }, 'how to reach this conversation could not be saved; the next message saves it again');
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([writing, new Promise<void>((resolve) => (timer = setTimeout(resolve, REMEMBER_WAIT_MS)))]);
    clearTimeout(timer);
  }

  async rememberConversation(context: TurnContext): Promise<void> {
    const unsaved = this.unsavedReference(context);
    if (unsaved) await this.saveReference(context, unsaved);
    else await this.rememberZone(context);
  }

  /** rememberZone, not holding the message up for long nor failing it (as rememberWithoutWaiting). */
  private async rememberZoneWithoutWaiting(context: TurnContext): Promise<void> {
    const writing = this.rememberZone(context).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, "the sender's time zone could not be saved; their next message saves it again");
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([writing, new Promise<void>((resolve) => (timer = setTimeout(resolve, REMEMBER_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Keeps the sender's time zone (only one this runtime knows) with their personal-chat reference,
   * when Teams sent one and it is not what is stored: the messages Countersign sends them on its own
   * name times in it. A person without a personal chat with Countersign yet has nowhere to keep it
   * (their first message there, or the chat Countersign starts, then takes it up).
   */
  private async rememberZone(context: TurnContext): Promise<void> {
    const zone = knownTimeZoneOf(context.activity);
    const person = actorOf(context.activity);
    if (!zone || !person.aadObjectId || !person.tenantId) return;
    const key = `${person.tenantId}\n${person.aadObjectId}`.toLowerCase();
    if (this.knownZones.get(key) === zone) return;
    const known = (await this.references.getPersonalReference(person.tenantId, person.aadObjectId)) as PersonalReference | undefined;
    if (!known) return;
    if (known.timeZone !== zone) await this.references.savePersonalReference(person.tenantId, person.aadObjectId, { ...known, timeZone: zone });
    this.knownZones.set(key, zone);
  }

  /**
   * The store holds no reference for `conversationId` after all (the notifier found none): the
   * conversation's next message, in it or in any thread of its channel, writes it again.
   */
  forget(conversationId: string): void {
    const channel = channelOf(conversationId);
    for (const [id] of [...this.knownReferences.entries()]) if (id === conversationId || channelOf(id) === channel) this.knownReferences.delete(id);
  }

  /** The conversation's reference when it is not stored as it is now (undefined when it is). */
  private unsavedReference(context: TurnContext): UnsavedReference | undefined {
    this.teamsUserIds.seen(context.activity.from?.aadObjectId, context.activity.from?.id);
    const { activityId: _perActivity, ...reference } = TurnContext.getConversationReference(context.activity);
    const id = context.activity.conversation.id;
    // Who spoke last is not part of how to reach the conversation (the proactive path needs its id,
    // service URL, bot and tenant): in a busy channel the reference is written again only when one
    // of those changes, not once for every other person who types a command.
    const { user: _speaker, ...reach } = reference;
    const text = JSON.stringify(reach);
    return this.knownReferences.get(id) === text ? undefined : { id, reference, text };
  }

  private async saveReference(context: TurnContext, unsaved: UnsavedReference): Promise<void> {
    await this.references.saveReference(unsaved.id, unsaved.reference);
    // A channel's messages come from its threads (<channel id>;messageid=<first post>), and an
    // approval or notice channel is named by the channel's own id: saved under that too, as the way
    // to post a new thread there (conversation-ids.ts).
    const channel = channelOf(unsaved.id);
    if (context.activity.conversation.conversationType === 'channel' && channel !== unsaved.id) {
      await this.references.saveReference(channel, { ...unsaved.reference, conversation: { ...unsaved.reference.conversation, id: channel } });
    }
    // A personal chat is also how Countersign reaches this person later (approvers are told there).
    const person = actorOf(context.activity);
    if (context.activity.conversation.conversationType === 'personal' && person.aadObjectId && person.tenantId) {
      // The zone Teams sent, else the one stored before (an activity without one does not forget it).
      const zone = knownTimeZoneOf(context.activity) ?? ((await this.references.getPersonalReference(person.tenantId, person.aadObjectId)) as PersonalReference | undefined)?.timeZone;
      await this.references.savePersonalReference(person.tenantId, person.aadObjectId, { ...unsaved.reference, ...(zone ? { timeZone: zone } : {}) });
      if (zone) this.knownZones.set(`${person.tenantId}\n${person.aadObjectId}`.toLowerCase(), zone);
    } else {
      await this.rememberZone(context);
    }
    this.knownReferences.set(unsaved.id, unsaved.text);
  }
}
