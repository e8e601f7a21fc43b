/**
 * The form and confirmation messages of a person's request in a conversation. Once a form or
 * confirmation is answered, cancelled or replaced, its message is updated to say so and loses its
 * buttons; a confirmation that created a request is remembered, so a late click on an old copy says
 * which request it already created instead of making another.
 */
import { CardFactory, type StatePropertyAccessor, type TurnContext } from 'botbuilder';
import { closedFormCard } from '../cards/form-cards';

export interface FormMessageState {
  /** The message id of the form or confirmation waiting for an answer. */
  open?: string;
  /** The id of the typed message that opened the latest form: Teams may send that message again. */
  openedBy?: string;
  /** Confirmation message ids and the request each created (the latest few). */
  created?: [string, string][];
}

const REMEMBERED = 20;

export class FormMessages {
  constructor(
    private readonly state: StatePropertyAccessor<FormMessageState>,
    private readonly sandbox: boolean,
  ) {}

  /** Sends a form or confirmation card and remembers it as the one waiting for an answer. */
  async send(context: TurnContext, activity: Parameters<TurnContext['sendActivity']>[0]): Promise<void> {
    const sent = await context.sendActivity(activity);
    const s = await this.state.get(context, {});
    if (sent?.id) s.open = sent.id;
    // Opened by a typed command (not by an answer to a form): remembered, to know it if it comes again.
    const a = context.activity;
    if (a.type === 'message' && a.value === undefined && a.id) s.openedBy = a.id;
    await this.state.set(context, s);
  }

  /** Whether this typed message is the one that opened the person's latest form, sent again by Teams. */
  async openedByThis(context: TurnContext): Promise<boolean> {
    const id = context.activity.id;
    return !!id && (await this.state.get(context, {})).openedBy === id;
  }

  /**
   * Replaces the answered (or abandoned) card with what became of it: the one waiting for this
   * person's answer. A card that cannot be updated (deleted, too old) is left as it is.
   */
  async close(context: TurnContext, title: string, text: string): Promise<void> {
    const s = await this.state.get(context, {});
    // Only this person's own card waiting for an answer: never a message a click merely names (an
    // approval card, someone else's form), which would be overwritten for everyone.
    const id = s.open;
    delete s.open;
    await this.state.set(context, s);
    if (!id) return;
    await context
      .updateActivity({ id, type: 'message', attachments: [CardFactory.adaptiveCard(closedFormCard(title, text, this.sandbox))] })
      .catch(() => undefined);
  }

  /** Remembers that the confirmation answered in this turn created the request. */
  async created(context: TurnContext, messageId: string | undefined, requestId: string): Promise<void> {
    if (!messageId) return;
    const s = await this.state.get(context, {});
    s.created = [...(s.created ?? []).filter(([m]) => m !== messageId), [messageId, requestId] as [string, string]].slice(-REMEMBERED);
    await this.state.set(context, s);
  }

  /** The request a confirmation message already created, if it did. */
  async createdFrom(context: TurnContext, messageId: string | undefined): Promise<string | undefined> {
    if (!messageId) return undefined;
    return (await this.state.get(context, {})).created?.find(([m]) => m === messageId)?.[1];
  }

  /** The id of the card waiting for an answer (before it is closed). */
  async openMessage(context: TurnContext): Promise<string | undefined> {
    return (await this.state.get(context, {})).open;
  }
}
