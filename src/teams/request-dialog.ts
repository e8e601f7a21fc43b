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
import { checkParameters, type ParameterProblem } from '../domain/catalog';
import type { Countersign } from '../app/countersign';
import { sandboxText } from '../domain/sandbox-text';
import { confirmCard, formCard, fromInput } from '../cards/form-cards';

export const REQUEST_DIALOG = 'countersign.request';
const FORM_PROMPT = 'countersign.form';
const CONFIRM_PROMPT = 'countersign.confirm';

export interface RequestDialogOptions {
  command: string;
  values: Record<string, string>;
  problems: ParameterProblem[];
  reason?: string;
}

/** The submitted card's values, or the kind of submission a prompt waits for. */
type Submission = Record<string, unknown> & { countersign?: string };

/** A prompt answered by an Action.Submit from the card it sent (a message with `value`). */
class CardSubmitPrompt extends Prompt<Submission> {
  constructor(
    id: string,
    private readonly accepts: string[],
  ) {
    super(id);
  }

  protected async onPrompt(context: TurnContext, _state: object, options: PromptOptions, isRetry: boolean): Promise<void> {
    const activity = isRetry && options.retryPrompt ? options.retryPrompt : options.prompt;
    if (activity) await context.sendActivity(activity);
  }

  protected async onRecognize(context: TurnContext): Promise<PromptRecognizerResult<Submission>> {
    const value = context.activity.value as Submission | undefined;
    if (value && typeof value === 'object' && typeof value.countersign === 'string' && this.accepts.includes(value.countersign)) {
      return { succeeded: true, value };
    }
    return { succeeded: false };
  }
}

export type CreateAndPost = (context: TurnContext, options: RequestDialogOptions) => Promise<void>;

export class RequestDialog extends ComponentDialog {
  constructor(
    private readonly app: Countersign,
    private readonly createAndPost: CreateAndPost,
  ) {
    super(REQUEST_DIALOG);
    this.addDialog(new CardSubmitPrompt(FORM_PROMPT, ['form', 'form-cancel']));
    this.addDialog(new CardSubmitPrompt(CONFIRM_PROMPT, ['confirm', 'confirm-cancel']));
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
    const card = CardFactory.adaptiveCard(formCard(command, o.values, o.problems, o.reason, this.app.sandbox));
    const retry = CardFactory.adaptiveCard(
      formCard(command, o.values, [...o.problems, { parameter: '(form)', message: 'Use the form\'s Continue button, or type a new command.' }], o.reason, this.app.sandbox),
    );
    return step.prompt(FORM_PROMPT, { prompt: { attachments: [card] }, retryPrompt: { attachments: [retry] } });
  }

  private async checkForm(step: WaterfallStepContext) {
    const o = this.options(step);
    const submitted = step.result as Submission;
    if (submitted.countersign === 'form-cancel') {
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
      const check = checkParameters(command, { args: [], named });
      reason = typeof submitted.reason === 'string' && submitted.reason.trim() ? fromInput(submitted.reason.trim()) : undefined;
      if (!check.ok) {
        return step.replaceDialog(REQUEST_DIALOG, { command: o.command, values: { ...named }, problems: check.problems, ...(reason ? { reason } : {}) });
      }
      values = check.values;
    }
    const next: RequestDialogOptions = { command: o.command, values, problems: [], ...(reason ? { reason } : {}) };
    (step.values as Record<string, unknown>).request = next;
    const card = CardFactory.adaptiveCard(confirmCard(command, values, reason, this.app.sandbox));
    return step.prompt(CONFIRM_PROMPT, { prompt: { attachments: [card] }, retryPrompt: { attachments: [card] } });
  }

  private async confirmed(step: WaterfallStepContext) {
    const submitted = step.result as Submission;
    if (submitted.countersign !== 'confirm') {
      await step.context.sendActivity(this.say('Cancelled: nothing was requested.'));
      return step.endDialog();
    }
    await this.createAndPost(step.context, (step.values as Record<string, unknown>).request as RequestDialogOptions);
    return step.endDialog();
  }

  private say(text: string): string {
    return sandboxText(text, this.app.sandbox);
  }
}
