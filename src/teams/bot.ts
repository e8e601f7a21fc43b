/**
 * The Teams side of Countersign: messages become commands, card clicks become decisions. This
 * file routes each activity (the tenant gate first, then a message to its command, a click to its
 * decision, a form's answer to its dialog) to the use cases in src/app; it decides nothing. What an
 * activity's words say is read in activity-input.ts, what an invoke answers is built in replies.ts,
 * a card's buttons and refreshes are answered by card-actions.ts, requests' cards are posted and
 * recorded by request-posting.ts, and the conversations spoken in are remembered by
 * conversation-memory.ts.
 */
import {
  type AdaptiveCardInvokeResponse,
  CardFactory,
  type BotState,
  type InvokeResponse,
  TeamsActivityHandler,
  TurnContext,
  type StatePropertyAccessor,
} from 'botbuilder';
import type { DialogSet, DialogState } from 'botbuilder-dialogs';
import type { Countersign } from '../app/countersign';
import { notCountingTowardsTurn, type StorageFault } from '../app/ports';
import { withinLimit } from '../domain/input-limits';
import type { ApprovalRequest } from '../domain/request';
import { sandboxText } from '../domain/sandbox-text';
import { helpCard, helpTopicCard, queryCard } from '../cards/lists';
import type { Card } from '../cards/render';
import type { RequestCardOptions } from '../cards/request-card';
import { actorOf, clickInSubmission, clientTextOf, messageKeyOf, sourceOf, tenantClaimsOf, timeZoneOf } from './identity';
import { namedPerson } from './mentions';
import { FormMessages, type FormMessageState } from './form-messages';
import { sharedCardOptions, TeamsUserIds } from './personal-cards';
import type { ConversationReferenceStore } from './ports';
import type { RequestDialogOptions } from './request-dialog';
import { messageOf, typedMessage, withoutBotMention, withoutMentions, zoneOf } from './activity-input';
import { ConversationMemory } from './conversation-memory';
import { MESSAGE_RESPONSE, unknownCommandText } from './replies';
import { RequestPosting } from './request-posting';
import { CardActions } from './card-actions';

/** Extra commands handled outside the core (the audit export, by src/audit/access). */
export type AuditCommandHandler = (context: TurnContext, args: string[]) => Promise<void>;

export class CountersignBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private loadedDialogs?: { set: DialogSet; requestDialog: string };
  auditCommand?: AuditCommandHandler;
  /** Teams' ids of the people Countersign has seen, for the cards' per-person refresh. */
  readonly teamsUserIds = new TeamsUserIds();
  /** The person's open form or confirmation, and the requests their confirmations created. */
  private readonly forms: FormMessages;
  /** How to reach the conversations the bot is spoken to in, saved as they change. */
  private readonly memory: ConversationMemory;
  /** Requests created from the conversation, and their cards posted there and recorded. */
  private readonly posting: RequestPosting;
  /** A card's buttons and refreshes answered. */
  private readonly cardActions: CardActions;

  constructor(
    private readonly app: Countersign,
    references: ConversationReferenceStore,
    /** Per person per conversation, so two people filling forms in one channel never mix. */
    private readonly conversationState: BotState,
  ) {
    super();
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');
    this.memory = new ConversationMemory(references, this.teamsUserIds, app.log);
    this.posting = new RequestPosting(app, (r) => this.sharedOptions(r), (err) => this.faultOf(err));
    this.cardActions = new CardActions(app, (r) => this.sharedOptions(r), (err) => this.faultOf(err));
    this.forms = new FormMessages(conversationState.createProperty<FormMessageState>('formMessages'), app.sandbox);

    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if ((context.activity.membersAdded ?? []).some((m) => m.id === botId)) {
        await this.memory.rememberConversation(context);
        await context.sendActivity(this.say('Countersign is here. Type "help" for the commands; every sensitive one needs a second person to approve it.'));
      }
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    // One person's messages in one conversation are taken one after the other, their form state
    // read after the last one saved it: two answers to one card (a double click) cannot both see it
    // open. (Across instances, the request id a confirmation derives stops a second request.)
    const a = context.activity;
    const key = a.type === 'message' ? `${a.conversation?.id ?? ''}\u0000${a.from?.aadObjectId ?? a.from?.id ?? ''}` : undefined;
    const turn = async () => {
      await super.run(context);
      try {
        await this.conversationState.saveChanges(context, false);
      } catch (err) {
        // Its answers went (a request made, a form posted): told now that "nothing was changed"
        // would be false. The form state stays as it was; an answer to the new form is told it is
        // not active, and the request a confirmation derives is not made twice.
        if (!context.responded) throw err;
        this.app.log.error({ err: err instanceof Error ? err.message : String(err) }, 'the form state of this turn could not be saved: its answers stand');
      }
    };
    if (key === undefined) return turn();
    const before = this.turnsOf.get(key) ?? Promise.resolve();
    // Its wait for the person's earlier turn is not its own store work's (turn-deadline.ts): a
    // message behind a slow one was refused at once, told its database could not be reached.
    const mine = notCountingTowardsTurn(() => before).then(turn, turn);
    const settled = mine.catch(() => undefined);
    this.turnsOf.set(key, settled);
    try {
      await mine;
    } finally {
      if (this.turnsOf.get(key) === settled) this.turnsOf.delete(key);
    }
  }

  /** The last message turn of each person in each conversation, for the next to wait for. */
  private readonly turnsOf = new Map<string, Promise<unknown>>();

  /** Every activity passes the app's tenant gate first. */
  protected override async onTurnActivity(context: TurnContext): Promise<void> {
    const a = context.activity;
    const actor = actorOf(a);
    // The channel and tenant first: only past them are the activity's ids Teams' own, and only then
    // is a refusal recorded as that person's (tenant.refused records hold the ids as claimed, bounded).
    const admission = await this.app.admit(actor, sourceOf(a), a.type, tenantClaimsOf(a));
    // Told like every other refusal: [SANDBOX] in sandbox mode. Past the gate's budget a minute a
    // message is not answered at all (no reply into a conversation of a tenant not served); an
    // invoke still is, in its HTTP answer, which posts nothing.
    if (!admission.ok) return admission.counted && a.type !== 'invoke' ? undefined : this.answer(context, admission.message);
    const kind = a.type === 'invoke' ? 'click' : a.type === 'message' ? 'message' : 'other';
    const refused = await this.app.admitClientText({ kind, activityType: String(a.type), actor, source: sourceOf(a), conversationType: a.conversation?.conversationType, texts: clientTextOf(a) });
    if (refused) return this.answer(context, refused.message);
    await super.onTurnActivity(context);
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action') {
      // An invoke Countersign has no use for is the sender's mistake (400), not a server failure (501).
      // botbuilder reads some of them (fileConsent/invoke, composeExtension/submitAction,
      // application/search) before it finds no handler: it throws on one without its value, and
      // answers one whose value it finds wrong 400 with no body or with its own error object. Each
      // gets the same answer, in our words, and none is a failed turn.
      const answer = await super.onInvokeActivity(context).catch(() => ({ status: 501 }));
      const name = context.activity.name;
      const error = typeof name === 'string' && name
        ? `Countersign does not handle "${name.slice(0, 64)}" invokes (only adaptiveCard/action).`
        : 'This invoke has no name; Countersign handles only adaptiveCard/action invokes.';
      return answer.status >= 400 ? { status: 400, body: { error } } : answer;
    }
    const response = await this.handleCardAction(context);
    return { status: 200, body: response };
  }

  // ---- messages ---------------------------------------------------------------------------------

  /** A message edited (Teams' `messageUpdate`, eventType `editMessage`): what it asked for stands as first read. */
  protected override async dispatchMessageUpdateActivity(context: TurnContext): Promise<void> {
    // An undeleted message is back as it was: nothing to say.
    if (eventTypeOf(context.activity) === 'undeleteMessage') return;
    await this.answerMessageChange(context, 'edited');
  }

  /** A message deleted (`messageDelete`, eventType `softDeleteMessage`): a request made from it is not withdrawn. */
  protected override async dispatchMessageDeleteActivity(context: TurnContext): Promise<void> {
    await this.answerMessageChange(context, 'deleted');
  }

  private async answerMessageChange(context: TurnContext, change: 'edited' | 'deleted'): Promise<void> {
    const messageKey = messageKeyOf(context.activity);
    if (!messageKey) return;
    const a = context.activity;
    const addressed = sourceOf(a).conversationType === 'personal' || (a.entities ?? []).some((e) => e.type === 'mention' && (e as { mentioned?: { id?: unknown } }).mentioned?.id === a.recipient?.id);
    const text = await this.app.messageChanged({ actor: actorOf(a), source: sourceOf(a), messageKey, change, addressed });
    if (text) await context.sendActivity(this.say(text));
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    await this.memory.rememberWithoutWaiting(context);
    const dc = await this.dialogs().set.createContext(context);
    // Teams sends the mention as an entity; a leftover <at>…</at> (clients that omit it) goes too.
    const text = withoutBotMention(context.activity).replace(/^\s*<at>[^<]*<\/at>/i, '').trim();
    const isSubmit = !!context.activity.value && !text;
    // (A messageBack carries a text too, the button's: it is no command then either.)
    const submittedClick = clickInSubmission(context.activity);
    if (submittedClick) {
      // A request card's action sent as a message: refused (and audited) as a click, never decided.
      const result = await this.app.click({ ...submittedClick, actor: actorOf(context.activity), source: sourceOf(context.activity), conversationId: context.activity.conversation.id, submitted: true });
      if (!result.ok) await context.sendActivity(this.say(result.refusal.message));
      return;
    }
    if (isSubmit) {
      const open = dc.activeDialog ? await this.forms.openMessage(context) : undefined;
      const clicked = context.activity.replyToId;
      if (dc.activeDialog && (clicked === undefined || open === undefined || clicked === open)) {
        await dc.continueDialog();
        return;
      }
      // An answer from another card than the form waiting for this person (an old copy, someone
      // else's in a shared conversation): it neither goes on with their form nor changes that card.
      // Their own confirmation answered again (a double click) is told what it made; any other is refused and recorded.
      const created = await this.forms.createdFrom(context, clicked);
      if (created) {
        await context.sendActivity(this.say(`This confirmation already created request ${created}. Type "status ${created}" to see where it stands.`));
        return;
      }
      const value = context.activity.value as { countersign?: unknown; command?: unknown };
      const refused = await this.app.formAnswerRefused({
        actor: actorOf(context.activity),
        source: sourceOf(context.activity),
        answer: typeof value.countersign === 'string' ? value.countersign : '(none)',
        ...(typeof value.command === 'string' ? { command: value.command } : {}),
        ...(clicked !== undefined ? { answered: clicked } : {}),
        formOpen: !!dc.activeDialog,
      });
      await context.sendActivity(this.say(refused.message));
      return;
    }
    if (await this.forms.openedByThis(context)) {
      // Teams sent the message again (its first turn was slow): not another command; the form it opened stands.
      await context.sendActivity(this.say('This message already opened a form for its request, above: fill it in there, or type a new command.'));
      return;
    }
    if (dc.activeDialog) {
      await this.forms.close(context, 'Replaced', 'You typed another command, so this form is no longer active.');
      await dc.cancelAllDialogs();
    }
    await this.dispatch(context, text, dc);
  }

  private async dispatch(context: TurnContext, text: string, dc: Awaited<ReturnType<DialogSet['createContext']>>): Promise<void> {
    const actor = actorOf(context.activity);
    const what = this.app.interpret(text);
    switch (what.kind) {
      case 'empty':
      case 'builtin':
        if (what.kind === 'empty' || what.name === 'help') {
          const zone = timeZoneOf(context.activity);
          const examples = { soon: this.app.exampleDay(1, zone), later: this.app.exampleDay(3, zone) };
          if (what.kind === 'builtin' && what.topic) await this.helpOn(context, what.topic, examples);
          else await this.sendCard(context, helpCard(await this.app.help(actor), this.app.sandbox, examples));
        } else {
          await this.posting.showPending(context);
        }
        return;
      case 'status': {
        if (!what.requestId) {
          await context.sendActivity(this.say('Usage: status <request-id>. Type "pending" to see open requests.'));
          return;
        }
        const answer = await this.app.statusIn(actor, what.requestId, sourceOf(context.activity));
        // Bound to the request like every other card of it: its buttons work and it is kept current.
        if ('show' in answer) await this.posting.postRequestCard(context, answer.show);
        else await context.sendActivity(this.say(answer.say));
        return;
      }
      case 'audit':
        if (this.auditCommand) await this.auditCommand(context, what.args);
        else await context.sendActivity(this.say('Audit export from Teams is not enabled on this Countersign.'));
        return;
      case 'delegate': {
        const answer = await this.app.delegate({ actor, source: sourceOf(context.activity), delegate: await namedPerson(context), when: withoutMentions(what.rest), ...zoneOf(context), ...messageOf(context) });
        await context.sendActivity(this.say(answer.ok ? answer.text : answer.refusal.message));
        return;
      }
      case 'extra-words':
        await context.sendActivity(this.say(`"${what.command}" does not take "${what.extra}", so nothing was done. ${what.usage}`));
        return;
      case 'revoke-delegation': {
        const person = await namedPerson(context);
        const answer = await this.app.revokeDelegation({ actor, source: sourceOf(context.activity), ...(person ? { delegate: person } : {}), ...zoneOf(context), ...messageOf(context) });
        await context.sendActivity(this.say(answer.ok ? answer.text : answer.refusal.message));
        return;
      }
      case 'cancel': {
        // Typed, a cancel would act on no card: the card's button is the one way, and status posts the card.
        const id = what.requestId?.slice(0, 64);
        await context.sendActivity(this.say(id
          ? `To cancel ${id}, use the Cancel button on its card (the requester can; approvers too while it waits for its run time). Type "status ${id}" to have its card posted here.`
          : 'To cancel a request, use the Cancel button on its card (the requester can; approvers too while it waits for its run time). Type "status <request-id>" to have its card posted here, or "pending" to see your open requests.'));
        return;
      }
      case 'typed-decision': {
        // Typed, an approval would bind to no card: the card shows what is decided, and its button decides it.
        const id = what.requestId?.slice(0, 64);
        const button = DECISION_BUTTONS[what.verb];
        const card = id ? `${id}'s card (type "status ${id}" to have it posted here)` : 'the request\'s card (type "pending" for the requests waiting for you, with their cards)';
        await context.sendActivity(this.say(`Countersign does not take a typed "${what.verb}": use the ${button} button on ${card}, which shows what you are deciding. Nothing was decided.`));
        return;
      }
      case 'delegations':
        await context.sendActivity(this.say(await this.app.delegations(actor, sourceOf(context.activity), timeZoneOf(context.activity))));
        return;
      case 'unknown': {
        const hint = what.suggestions.length ? ` Did you mean: ${what.suggestions.join(', ')}?` : '';
        await context.sendActivity(this.say(`${unknownCommandText(what.text)}${hint} Type "help" for the list.`));
        return;
      }
      case 'incomplete': {
        const options: RequestDialogOptions = { command: what.command.name, values: what.values, problems: what.problems, ...(what.reason ? { reason: what.reason } : {}), ...(what.runAt ? { runAt: what.runAt } : {}) };
        if (!what.command.sensitive) {
          // A read-only command has no form: what was wrong, and how it is typed.
          await context.sendActivity(this.say(`${what.problems.map((p) => p.message.replace(/[.\s]+$/, '')).join('; ')}. Type it as: ${this.app.usage(what.command)}`));
          return;
        }
        const refused = await this.app.mayRequest({ command: what.command, values: what.values, actor, source: sourceOf(context.activity), ...(what.reason ? { reason: what.reason } : {}), ...zoneOf(context) });
        if (refused) {
          await context.sendActivity(this.say(refused.message));
          return;
        }
        await dc.beginDialog(this.dialogs().requestDialog, options);
        return;
      }
      case 'break-glass': {
        const inner = what.request;
        const usage = 'Usage: break-glass <command with all its parameters> reason: <why this cannot wait for approval>. Nothing was run.';
        if (inner.kind === 'incomplete' && inner.command.sensitive) {
          // A command that does not allow it is refused as such (audited), whatever is missing.
          const refused = await this.app.mayBreakGlass({ command: inner.command, values: inner.values, ...(inner.reason ? { reason: inner.reason } : {}), ...zoneOf(context), actor, source: sourceOf(context.activity) });
          await context.sendActivity(this.say(refused?.message ?? `${inner.problems.map((p) => p.message.replace(/[.\s]+$/, '')).join('; ')}. ${usage}`));
          return;
        }
        if (inner.kind === 'unknown') {
          // The command is what is wrong: said as the plain path says it, with the same suggestions.
          const hint = inner.suggestions.length ? ` Did you mean: ${inner.suggestions.join(', ')}?` : '';
          await context.sendActivity(this.say(`${unknownCommandText(inner.text)}${hint} ${usage}`));
          return;
        }
        if (inner.kind !== 'ready') {
          // A run time given twice is named, as without break-glass.
          await context.sendActivity(this.say(inner.kind === 'extra-words' ? `${inner.usage} ${usage}` : usage));
          return;
        }
        const answering = typedMessage(context);
        const result = await this.app.breakGlass({ command: inner.command, values: inner.values, ...(inner.reason ? { reason: inner.reason } : {}), ...(inner.runAt ? { runAt: inner.runAt } : {}), ...(answering ? { answering } : {}), ...zoneOf(context), actor, source: sourceOf(context.activity) });
        if (!result.ok) await context.sendActivity(this.say('refusal' in result ? result.refusal.message : result.error));
        else await this.posting.postRequestCard(context, result.request);
        return;
      }
      case 'ready':
        if (!what.command.sensitive) {
          const q = await this.app.runQuery(what.command, what.values, actor, sourceOf(context.activity));
          if (q.ok) await this.sendCard(context, queryCard(q.result, this.app.sandbox));
          else await context.sendActivity(this.say(q.whole ? q.error : `${what.command.name} failed: ${q.error}`));
          return;
        }
        await this.posting.createAndPost(context, { command: what.command.name, values: what.values, problems: [], ...(what.reason ? { reason: what.reason } : {}), ...(what.runAt ? { runAt: what.runAt } : {}) }, typedMessage(context));
        return;
      default: {
        // Every kind interpret.ts returns has its case above: a new one does not compile until it has.
        const unanswered: never = what;
        return unanswered;
      }
    }
  }

  /** `help <words>`: the usage of the commands they name, or that they name none (and what may have been meant). */
  private async helpOn(context: TurnContext, topic: string, examples: { soon: string; later: string }): Promise<void> {
    const about = await this.app.helpOn(actorOf(context.activity), topic);
    const card = helpTopicCard(topic, about.commands, this.app.sandbox, examples);
    if (card) return this.sendCard(context, card);
    // A card's button typed as a command: what it is, and where it is.
    const typed = this.app.interpret(topic);
    if (typed.kind === 'typed-decision' || typed.kind === 'cancel') {
      const button = typed.kind === 'cancel' ? 'Cancel' : DECISION_BUTTONS[typed.verb];
      await context.sendActivity(this.say(`${button} is a button on a request's card, not a typed command: the card shows what you decide. Type "pending" for the requests waiting for you, with their cards, or "status <request-id>" for one request's card.`));
      return;
    }
    const hint = about.suggestions.length ? ` Did you mean: ${about.suggestions.join(', ')}?` : '';
    await context.sendActivity(this.say(`${unknownCommandText(topic)} There is no help for it.${hint} Type "help" alone for every command.`));
  }

  // ---- card actions -----------------------------------------------------------------------------

  private async handleCardAction(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    await this.memory.rememberWithoutWaiting(context);
    return this.cardActions.answer(context);
  }

  /** Which of the store's own failures `err` is, if any; telling the person must not fail on it. */
  private faultOf(err: unknown): StorageFault | undefined {
    try {
      return this.app.storageFault(err);
    } catch {
      return undefined;
    }
  }

  /** The store holds no reference for `conversationId` after all: its next message writes it again. */
  forgetReference(conversationId: string): void {
    this.memory.forget(conversationId);
  }

  /** The card everyone shares names whose clients ask for their own view. */

  sharedOptions(request: ApprovalRequest): RequestCardOptions {
    return sharedCardOptions((r) => this.app.cardViewers(r), this.teamsUserIds, request);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /**
   * The request form's dialogs, built with the first message: botbuilder-dialogs takes over half a
   * second to load, which start-up (and a bot that only ever sees clicks) need not pay.
   */
  private dialogs(): { set: DialogSet; requestDialog: string } {
    if (!this.loadedDialogs) {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { DialogSet } = require('botbuilder-dialogs') as typeof import('botbuilder-dialogs');
      const { REQUEST_DIALOG, RequestDialog } = require('./request-dialog') as typeof import('./request-dialog');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const set = new DialogSet(this.dialogState);
      set.add(new RequestDialog(this.app, (ctx, o, answering) => this.posting.createAndPost(ctx, o, answering), this.forms));
      this.loadedDialogs = { set, requestDialog: REQUEST_DIALOG };
    }
    return this.loadedDialogs;
  }

  private async sendCard(context: TurnContext, card: Card): Promise<void> {
    await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
  }

  /** A refusal told to whoever sent the activity: as the invoke's answer for a click, as a reply to a message. */
  private async answer(context: TurnContext, text: string): Promise<void> {
    if (context.activity.type === 'invoke') {
      await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { statusCode: 200, type: MESSAGE_RESPONSE, value: this.say(text) } } });
    } else if (context.activity.type === 'message' && withinLimit('conversationId', String(context.activity.conversation?.id)) && withinLimit('activityId', String(context.activity.id ?? ''))) {
      // A conversation id past its limit names no conversation Teams made: nothing is sent there. Nor
      // in reply to an activity id past its limit (no message Teams made), which the reply's URL names.
      await context.sendActivity(this.say(text));
    }
  }

  private say(text: string): string {
    return sandboxText(text, this.app.sandbox);
  }
}

/** The button a typed decision stands for. */
const DECISION_BUTTONS = { approve: 'Approve', reject: 'Reject', ratify: 'Ratify break-glass', flag: 'Flag break-glass' } as const;

/** Teams' kind of a message change (`editMessage`, `softDeleteMessage`, `undeleteMessage`), if it says. */
function eventTypeOf(activity: TurnContext['activity']): string | undefined {
  const data = activity.channelData as { eventType?: unknown } | undefined;
  return typeof data?.eventType === 'string' ? data.eventType : undefined;
}
