/**
 * The requester's side of a request, as a botbuilder-dialogs waterfall: when parameters are
 * missing or invalid, ask for them with an Adaptive Card form (validated, asked again with the
 * problems shown), then have the requester confirm before the request is created.
 */
import { CardFactory, type TurnContext } from 'botbuilder';
import {
  ComponentDialog,
  Prompt,
  type PromptOptions,
  type PromptRecognizerResult,
  WaterfallDialog,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { ParameterProblem } from '../domain/catalog';
import { actorOf, sourceOf } from './identity';
import type { Countersign } from '../app/countersign';
import type { CreateInput } from '../app/requests';
import { sandboxText } from '../domain/sandbox-text';
import { confirmCard, formCard, fromInput } from '../cards/form-cards';
import type { FormMessages } from './form-messages';

export const REQUEST_DIALOG = 'countersign.request';
const FORM_PROMPT = 'countersign.form';
const CONFIRM_PROMPT = 'countersign.confirm';

export interface RequestDialogOptions {
  command: string;
  values: Record<string, string>;
  problems: ParameterProblem[];
  reason?: string;
  /** The run time asked for, as typed after `at`. */
  runAt?: string;
  /** True once the person submitted the form: from then on every problem is shown, missing values too. */
  submitted?: boolean;
}

/** The submitted card's values, or the kind of submission a prompt waits for. */
type Submission = Record<string, unknown> & { countersign?: string };

/** A prompt answered by an Action.Submit from the card it sent (a message with `value`). */
class CardSubmitPrompt extends Prompt<Submission> {
  constructor(
    id: string,
    private readonly accepts: string[],
    private readonly forms: FormMessages,
  ) {
    super(id);
  }

  protected async onPrompt(context: TurnContext, _state: object, options: PromptOptions, isRetry: boolean): Promise<void> {
    const activity = isRetry && options.retryPrompt ? options.retryPrompt : options.prompt;
    if (!activity) return;
    // A retry replaces the card that was answered the wrong way.
    if (isRetry) await this.forms.close(context, 'Replaced', 'See the card below.');
    await this.forms.send(context, activity);
  }

  protected async onRecognize(context: TurnContext): Promise<PromptRecognizerResult<Submission>> {
    const value = context.activity.value as Submission | undefined;
    if (value && typeof value === 'object' && typeof value.countersign === 'string' && this.accepts.includes(value.countersign)) {
      return { succeeded: true, value };
    }
    return { succeeded: false };
  }
}

/**
 * Creates the request and posts its card; the request's id, when it was created. `answering`: the
 * confirmation answered (its conversation and message), which makes one request however often it is sent.
 */
export type CreateAndPost = (context: TurnContext, options: RequestDialogOptions, answering?: CreateInput['answering']) => Promise<string | undefined>;

export class RequestDialog extends ComponentDialog {
  constructor(
    private readonly app: Countersign,
    private readonly createAndPost: CreateAndPost,
    private readonly forms: FormMessages,
  ) {
    super(REQUEST_DIALOG);
    this.addDialog(new CardSubmitPrompt(FORM_PROMPT, ['form', 'form-cancel'], forms));
    this.addDialog(new CardSubmitPrompt(CONFIRM_PROMPT, ['confirm', 'confirm-cancel'], forms));
    this.addDialog(
      new WaterfallDialog('steps', [(s) => this.askForm(s), (s) => this.checkForm(s), (s) => this.confirmed(s)]),
    );
    this.initialDialogId = 'steps';
  }

  private options(step: WaterfallStepContext): RequestDialogOptions {
    return step.options as RequestDialogOptions;
  }

  private async askForm(step: WaterfallStepContext) {
    const o = this.options(step);
    const command = this.app.command(o.command);
    if (!command) {
      await step.context.sendActivity(`The command "${o.command}" is no longer configured.`);
      return step.endDialog();
    }
    if (o.problems.length === 0) return step.next({ countersign: 'form-skip' });
    // Before the person has submitted the form, a value they have not typed yet is no mistake: only what they typed wrong is shown.
    const shown = o.submitted ? o.problems : o.problems.filter((p) => !p.missing);
    const card = CardFactory.adaptiveCard(formCard(command, o.values, shown, o.reason, this.app.sandbox));
    const retry = CardFactory.adaptiveCard(
      formCard(command, o.values, [...shown, { parameter: '(form)', message: 'Use the form\'s Continue button, or type a new command.' }], o.reason, this.app.sandbox),
    );
    return step.prompt(FORM_PROMPT, { prompt: { attachments: [card] }, retryPrompt: { attachments: [retry] } });
  }

  private async checkForm(step: WaterfallStepContext) {
    const o = this.options(step);
    const submitted = step.result as Submission;
    if (submitted.countersign === 'form-cancel') {
      await this.forms.close(step.context, 'Cancelled', 'Nothing was requested.');
      await step.context.sendActivity(this.say('Cancelled: nothing was requested.'));
      return step.endDialog();
    }
    const command = this.app.command(o.command)!;
    let values = o.values;
    let reason = o.reason;
    if (submitted.countersign === 'form') {
      const named: Record<string, string> = {};
      for (const p of command.parameters) {
        const v = submitted[`param.${p.name}`];
        if (typeof v === 'string' || typeof v === 'number') named[p.name] = fromInput(String(v));
      }
      reason = typeof submitted.reason === 'string' && submitted.reason.trim() ? fromInput(submitted.reason.trim()) : undefined;
      const check = await this.app.checkForm({ command, named, values: named, actor: actorOf(step.context.activity), source: sourceOf(step.context.activity), ...(reason ? { reason } : {}), ...(o.runAt ? { runAt: o.runAt } : {}) });
      if (!check.ok) {
        await this.forms.close(step.context, 'Replaced', 'Some values need fixing: see the form below.');
        return step.replaceDialog(REQUEST_DIALOG, { command: o.command, values: { ...named }, problems: check.problems, submitted: true, ...(reason ? { reason } : {}), ...(o.runAt ? { runAt: o.runAt } : {}) });
      }
      values = check.values;
      await this.forms.close(step.context, 'Sent', 'Confirm below to ask for approval.');
    }
    // The run time typed with the command (`at ...`) goes with the request the form completes.
    const next: RequestDialogOptions = { command: o.command, values, problems: [], ...(reason ? { reason } : {}), ...(o.runAt ? { runAt: o.runAt } : {}) };
    (step.values as Record<string, unknown>).request = next;
    const card = CardFactory.adaptiveCard(confirmCard(command, values, reason, this.app.sandbox, o.runAt));
    return step.prompt(CONFIRM_PROMPT, { prompt: { attachments: [card] }, retryPrompt: { attachments: [card] } });
  }

  private async confirmed(step: WaterfallStepContext) {
    const submitted = step.result as Submission;
    if (submitted.countersign !== 'confirm') {
      await this.forms.close(step.context, 'Cancelled', 'Nothing was requested.');
      await step.context.sendActivity(this.say('Cancelled: nothing was requested.'));
      return step.endDialog();
    }
    const confirmation = step.context.activity.replyToId ?? (await this.forms.openMessage(step.context));
    const answering = confirmation ? { key: `${step.context.activity.conversation?.id ?? ''}/${confirmation}`, what: 'confirmation' as const } : undefined;
    const requestId = await this.createAndPost(step.context, (step.values as Record<string, unknown>).request as RequestDialogOptions, answering);
    if (requestId) {
      await this.forms.created(step.context, confirmation, requestId);
      await this.forms.close(step.context, `Requested: ${requestId}`, `This confirmation created request ${requestId}; its card is below.`);
    } else {
      await this.forms.close(step.context, 'Not requested', 'See the message below.');
    }
    return step.endDialog();
  }

  private say(text: string): string {
    return sandboxText(text, this.app.sandbox);
  }
}
