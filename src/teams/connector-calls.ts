/**
 * How each call to the Bot Connector (the Teams service Countersign posts and updates its messages
 * through) behaves, whoever makes it: a turn's reply, a card update, a proactive message, a chat
 * started. botbuilder builds the clients; reused-clients.ts hands every one of them to
 * `boundConnectorCalls` once, when it is built.
 *
 * - **Bounded in time** (COUNTERSIGN_TEAMS_SEND_TIMEOUT): a connector that never answers would hold
 *   a notification round at one person, every later update of a request's card, or a turn (and so a
 *   graceful stop) forever. The bound covers the whole call: the token, the request and the answer.
 * - **Tried once.** botbuilder's HTTP pipeline retries 429, 408 and 5xx answers and broken connections
 *   up to three more times on its own, beneath Countersign's retry (`withTeamsRetry`): one card update was
 *   tried 24 times, those repeats went round the per-conversation rate limiter, and a new message
 *   the connector had accepted but answered 500 (or whose connection broke) was posted again, so a
 *   person got two cards of which the first refused every click. Countersign's retry is the only one.
 * - **A new message whose answer was lost is not sent again**: the connector may have posted it.
 *   Its error says so and deliberately carries no HTTP status, because retries are decided on the
 *   status (Teams' 502 and 504 are retried for calls that are safe to repeat).
 */

import { statusOf } from './teams-retry';

/** The parts of @azure/core-rest-pipeline's pipeline used here (the Azure SDKs are src/azure's to import). */
interface PipelineRequest {
  method: string;
  url: string;
  abortSignal?: AbortSignal;
}
interface PipelinePolicy {
  name: string;
  sendRequest(request: PipelineRequest, next: (request: PipelineRequest) => Promise<unknown>): Promise<unknown>;
}
interface Pipeline {
  addPolicy(policy: PipelinePolicy, options?: { phase?: 'Serialize' }): void;
  removePolicy(options: { name: string }): unknown[];
  getOrderedPolicies(): { name: string }[];
}

/** What botbuilder's connector clients (ServiceClientContext) keep their HTTP pipeline in; private there. */
interface WithPipeline {
  client?: { pipeline?: Pipeline };
}

/**
 * How long a Bot Connector call may take when nobody says otherwise (tests; the bot takes
 * COUNTERSIGN_TEAMS_SEND_TIMEOUT, whose default is the same and explained in docs/operations.md).
 */
export const DEFAULT_CALL_TIMEOUT_MS = 15_000;

/** @azure/core-rest-pipeline's retry policy, added to every client by default (up to 3 retries). */
const LIBRARY_RETRY_POLICY = 'defaultRetryPolicy';
const DEADLINE_POLICY = 'countersignConnectorDeadline';

/** A Bot Connector call that got no answer in time; it fails rather than holding its caller. */
export class ConnectorTimeoutError extends Error {
  constructor(
    /** The Bot Connector operation, as botbuilder names it (sendToConversation, updateActivity, ...). */
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`Teams did not answer ${operation} within ${durationText(timeoutMs)}`);
    this.name = 'ConnectorTimeoutError';
  }
}

/**
 * A new message (or reply) the connector may have posted although its answer was an error: 5xx, or
 * the connection broke after it was sent. No HTTP status on purpose: it is not sent again.
 */
class MessageOutcomeUnknownError extends Error {
  constructor(
    readonly operation: string,
    /** Teams' answer, when there was one (5xx); undefined when the connection broke. */
    readonly answeredStatus: number | undefined,
    options: { cause: unknown },
  ) {
    super(`${answeredStatus ? `Teams answered ${answeredStatus} to` : 'the connection to Teams broke during'} ${operation}: it may have been posted, so it was not sent again`, options);
    this.name = 'MessageOutcomeUnknownError';
  }
}

/**
 * Makes a connector client botbuilder built try each call once, within `timeoutMs`. Throws when the
 * client is not shaped as botbuilder 4.23's are: Countersign would otherwise run, unnoticed, with
 * calls that can hang and be posted twice.
 */
export function boundConnectorCalls<C extends object>(client: C, timeoutMs: number): C {
  const pipeline = (client as WithPipeline).client?.pipeline;
  if (!pipeline || typeof pipeline.removePolicy !== 'function' || typeof pipeline.addPolicy !== 'function') {
    throw new Error('botbuilder\'s connector client has no HTTP pipeline where Countersign expects it (client.pipeline): its calls cannot be bounded in time nor kept from retrying; check the botbuilder version');
  }
  if (pipeline.getOrderedPolicies().some((p) => p.name === DEADLINE_POLICY)) return client;
  pipeline.removePolicy({ name: LIBRARY_RETRY_POLICY });
  // Outside every other policy but serialisation: the deadline covers the token, the request and the answer.
  pipeline.addPolicy(deadlinePolicy(timeoutMs), { phase: 'Serialize' });
  return client;
}

function deadlinePolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: DEADLINE_POLICY,
    async sendRequest(request, next) {
      const operation = connectorOperation(request.method, request.url);
      const deadline = new AbortController();
      request.abortSignal = request.abortSignal ? AbortSignal.any([request.abortSignal, deadline.signal]) : deadline.signal;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new ConnectorTimeoutError(operation, timeoutMs);
          // Aborting closes the connection; not every step listens (the token lookup), so the call is failed here too.
          deadline.abort(err);
          reject(err);
        }, timeoutMs);
      });
      const sent = next(request);
      // What the call does after its deadline no longer reaches anyone.
      sent.catch(() => undefined);
      try {
        return await Promise.race([sent, late]);
      } catch (err) {
        throw isMessagePost(request.method, operation) && answerLost(err) ? new MessageOutcomeUnknownError(operation, statusOf(err), { cause: err }) : err;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** New messages: not safe to repeat, unlike an update (PUT of the same activity) or starting a one-to-one chat (the same chat each time). */
const MESSAGE_POSTS = new Set(['sendToConversation', 'replyToActivity', 'sendConversationHistory']);

function isMessagePost(method: string, operation: string): boolean {
  return method.toUpperCase() === 'POST' && MESSAGE_POSTS.has(operation);
}

/** Connection failures after which the request may have reached Teams (a refused connection never did). */
const LOST_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET']);

function answerLost(err: unknown): boolean {
  if (err instanceof ConnectorTimeoutError) return false;
  const status = statusOf(err);
  if (status !== undefined) return status >= 500;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && LOST_CONNECTION.has(code);
}

/**
 * The Bot Connector operation a request is, by botbuilder's names (the v3 REST API), so an error
 * says what did not happen; another path is named by its method and shape.
 */
function connectorOperation(method: string, url: string): string {
  const verb = method.toUpperCase();
  const path = new URL(url, 'http://connector.invalid').pathname;
  const at = path.indexOf('/v3/');
  const parts = (at >= 0 ? path.slice(at + 4) : path.replace(/^\/+/, '')).split('/').filter(Boolean);
  const [root, , sub, item, tail] = parts;
  if (root === 'conversations') {
    if (parts.length === 1) return verb === 'POST' ? 'createConversation' : 'getConversations';
    if (sub === 'activities') {
      if (parts.length === 3 && verb === 'POST') return 'sendToConversation';
      if (item === 'history' && verb === 'POST') return 'sendConversationHistory';
      if (parts.length === 4) return ({ POST: 'replyToActivity', PUT: 'updateActivity', DELETE: 'deleteActivity' } as Record<string, string>)[verb] ?? `${verb} activity`;
      if (tail === 'members') return 'getActivityMembers';
    }
    if (sub === 'members') return parts.length === 3 ? 'getConversationMembers' : verb === 'DELETE' ? 'deleteConversationMember' : 'getConversationMember';
    if (sub === 'pagedmembers') return 'getConversationPagedMembers';
    if (sub === 'attachments') return 'uploadAttachment';
  }
  return `${verb} /${parts.map((p, i) => (i % 2 === 1 ? '…' : p)).join('/')}`;
}

function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
