/**
 * A message edited or deleted after Countersign answered it. Teams tells the bot (a `messageUpdate`
 * or `messageDelete` activity naming the message's id), but what a message asked for was read when
 * it arrived: a request made from it keeps what it said then, and deleting the message withdraws
 * nothing. The person is told so, and what to do instead, rather than left to believe the edit or
 * the deletion changed the request.
 */
import { commandWords } from '../domain/command-words';
import { cancellable } from '../domain/lifecycle';
import { requestEvent } from '../domain/audit';
import { standing, type Actor, type ApprovalRequest, type Source } from '../domain/request';
import { commandNamesOf, type AppDeps } from './context';
import { requestIdFor } from './ids';

export type MessageChange = 'edited' | 'deleted';

export interface ChangedMessage {
  actor: Actor;
  /** Where the change was made, from the authenticated activity. */
  source: Source;
  /** The changed message's key (its conversation and activity id), as when it arrived. */
  messageKey: string;
  change: MessageChange;
  /** Whether the message, as changed, is addressed to Countersign (a personal chat, or it @mentions the bot). */
  addressed: boolean;
}

/** What to tell the person about their changed message; undefined when there is nothing to say. */
export async function answerMessageChange(deps: Pick<AppDeps, 'store' | 'log' | 'clock' | 'config'>, m: ChangedMessage): Promise<string | undefined> {
  const id = requestIdFor(m.messageKey);
  const request = await deps.store.requests.get(id);
  const mine = request && request.requester.aadObjectId.toLowerCase() === m.actor.aadObjectId.toLowerCase() && request.requester.tenantId === m.actor.tenantId;
  if (!request || !mine) {
    // A deleted message that asked for nothing lost nothing; an edited one may have been a correction,
    // if it was meant for Countersign at all (in a channel, most edits are of others' conversation).
    return m.change === 'edited' && m.addressed ? 'Countersign reads a message once, when it is sent: your edit was not read, and nothing was changed. Send the corrected command as a new message.' : undefined;
  }
  deps.log.info({ requestId: id, change: m.change }, `the message that asked for a request was ${m.change}`);
  // What the requester's message says now is no longer what the request was made from: compliance
  // reading the trail must see that it changed, before anyone is told.
  await recordMessageChange(deps, request, m);
  const what = `request ${id} (${commandWords(request.command, request.parameters, commandNamesOf(deps))})`;
  const open = cancellable(request);
  if (m.change === 'edited') {
    const instead = open ? ` To ask for something else, cancel ${id} with the Cancel button on its card (type "status ${id}" to have it posted here), then send the command again as a new message.` : ' Send a new message to ask for something else.';
    return `You edited the message that asked for ${what}. A request does not change with its message: ${id} ${standing(request.state)}, as first asked.${instead}`;
  }
  const withdraw = open ? ` To withdraw it, use the Cancel button on its card (type "status ${id}" to have it posted here).` : '';
  return `You deleted the message that asked for ${what}. Deleting it does not withdraw the request: ${id} ${standing(request.state)}.${withdraw}`;
}

/** The audit record of a requester's change to the message their request was made from. */
async function recordMessageChange(deps: Pick<AppDeps, 'store' | 'clock'>, request: ApprovalRequest, m: ChangedMessage): Promise<void> {
  const detail = m.change === 'edited'
    ? `The requester edited the message that asked for ${request.id} after asking; the request keeps what the message first said.`
    : `The requester deleted the message that asked for ${request.id} after asking; the request is not withdrawn by it.`;
  await deps.store.audit.append([requestEvent(request, 'request.message_changed', deps.clock.now().toISOString(), { result: 'ok', detail }, { actor: m.actor, source: m.source, data: { change: m.change, state: request.state } })]);
}
