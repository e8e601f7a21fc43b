/**
 * POST /api/messages as Countersign answers it. botbuilder's `CloudAdapter.process` answers every
 * authentication failure 401 (even when the channel's signing keys could not be fetched, which is
 * Countersign's problem, not the caller's), any other failure 500 with the error's message, and
 * writes the raw error with its stack to stderr. Here the adapter only authenticates and runs the
 * turn; what the caller is told, and what is logged, is decided from the outcome.
 */
import { CloudAdapter, type Activity, type ResourceResponse, type TurnContext } from 'botbuilder';
import { ToBotFromBotOrEmulatorTokenValidationParameters as EMULATOR_TOKENS } from 'botframework-connector';
import { notCountingTowardsTurn, withTurnDeadline } from '../app/ports';
import type { ConversationRateLimiter } from './rate-limit';
import { withTeamsRetry } from './teams-retry';

export type EdgeOutcome =
  /** The turn ran: HTTP status and body (an invoke's answer) as the bot gave them. */
  | { kind: 'handled'; status: number; body?: unknown }
  /** The token was missing or wrong: the caller's problem (401). */
  | { kind: 'unauthenticated'; reason: string }
  /** Authentication could not be done (the signing keys could not be fetched): ours (503). */
  | { kind: 'auth-unavailable'; reason: string }
  /** The turn itself failed after authentication (500, nothing internal said). */
  | { kind: 'failed'; reason: string };

/**
 * A turn that failed after authentication, as the adapter's onTurnError hands it on: botbuilder
 * would otherwise take the turn as handled, and answer an invoke without an answer 501 with no body.
 */
export class TurnFailed extends Error {
  constructor(readonly failure: unknown) {
    super(messageOf(failure));
    this.name = 'TurnFailed';
  }
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}

/**
 * Marks the turns of activities Teams posted. Their replies and card updates are retried here, as
 * the notifier retries its own proactive ones (whose turns are not marked, so nothing is retried twice).
 */
const INCOMING_TURN = Symbol('countersign.incomingTurn');

/**
 * The longest a turn's replies wait, together, for room in the conversation's rate limits: Bot
 * Framework gives a turn about 15 s, and with several instances each holds only its share of Teams'
 * limits. Past it the turn's replies go all the same (a 429 Teams then gives is retried). It is the
 * turn's, not each reply's: "pending" posting five cards into a busy channel waited 5 s for each,
 * 25 s in all, and Teams gave up on the turn and sent the message again.
 */
const REPLY_MAX_WAIT_MS = 5000;

/** How long the turn's replies have waited for room so far (ms), in the turn's state. */
const REPLY_WAITED = Symbol('countersign.replyWaited');

export class EdgeAdapter extends CloudAdapter {
  /**
   * The conversations' rate limits, shared with the notifier (composition root): a turn's replies
   * count in the same windows as proactive sends and card updates, and wait for room (ahead of
   * those) instead of drawing Teams' 429s in a busy channel.
   */
  limiter: Pick<ConversationRateLimiter, 'acquire'> | undefined;

  /**
   * Authentication is on (an app id): only a token botbuilder would check as the channel's is handed
   * to it (notChannelToken); with it off, botbuilder reads no token at all.
   */
  channelTokensOnly = false;

  /**
   * A turn's replies, one by one, each within the conversation's rate limits and with Teams'
   * transient answers retried by the one retry layer (withTeamsRetry): the connector clients try
   * each call once (connector-calls.ts), and a reply that may have been posted carries no status, so
   * it is never posted twice.
   */
  override async sendActivities(context: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    if (!context.turnState.get(INCOMING_TURN)) return super.sendActivities(context, activities);
    const responses: ResourceResponse[] = [];
    for (const activity of activities) {
      const send = () =>
        withTeamsRetry(async () => {
          if (goesToTeams(activity)) await this.room(context, activity.conversation?.id ?? context.activity.conversation?.id);
          return super.sendActivities(context, [activity]);
        });
      // The time Teams takes is not the turn's store work's (turn-deadline.ts); an invoke's answer is no send to Teams.
      responses.push(...(await (goesToTeams(activity) ? notCountingTowardsTurn(send) : send())));
    }
    return responses;
  }

  override async updateActivity(context: TurnContext, activity: Partial<Activity>): Promise<ResourceResponse | void> {
    if (!context.turnState.get(INCOMING_TURN)) return super.updateActivity(context, activity);
    return notCountingTowardsTurn(() =>
      withTeamsRetry(async () => {
        await this.room(context, activity.conversation?.id ?? context.activity.conversation?.id);
        return super.updateActivity(context, activity);
      }),
    );
  }

  /** Room for one of the turn's replies, waiting at most what is left of the turn's REPLY_MAX_WAIT_MS. */
  private async room(context: TurnContext, conversationId: string | undefined): Promise<void> {
    if (!this.limiter || !conversationId) return;
    const waited = (context.turnState.get(REPLY_WAITED) as number | undefined) ?? 0;
    const since = performance.now();
    try {
      await this.limiter.acquire(conversationId, true, Math.max(0, REPLY_MAX_WAIT_MS - waited));
    } finally {
      context.turnState.set(REPLY_WAITED, waited + (performance.now() - since));
    }
  }

  /** Authenticates the (shape-checked) activity and runs the turn; never throws. */
  async handle(authorization: string, body: Record<string, unknown>, logic: (context: TurnContext) => Promise<void>): Promise<EdgeOutcome> {
    const activity = body as unknown as Activity;
    // As botbuilder's own validateAndFixActivity: timestamps become dates, the text kept.
    for (const [field, raw] of [['timestamp', 'rawTimestamp'], ['expiration', 'rawExpiration'], ['localTimestamp', 'rawLocalTimestamp']] as const) {
      const v = body[field];
      if (typeof v === 'string') Object.assign(activity, { [raw]: v, [field]: new Date(v) });
    }
    const notChannel = this.channelTokensOnly && authorization.trim() ? notChannelToken(authorization, body.channelId) : undefined;
    if (notChannel) return { kind: 'unauthenticated', reason: notChannel };
    let turnStarted = false;
    const emulatorIssuers = emulatorIssuerCount();
    // The turn's store work ends by its deadline, counted from here (authentication included), so
    // its person is answered within the time Teams waits however the database fails (turn-deadline.ts).
    const received = performance.now();
    try {
      const invoke = await this.processActivity(authorization, activity, async (context) => {
        turnStarted = true;
        context.turnState.set(INCOMING_TURN, true);
        await withTurnDeadline(() => logic(context), received);
      });
      return { kind: 'handled', status: invoke?.status ?? 200, ...(invoke?.body !== undefined ? { body: invoke.body } : {}) };
    } catch (err) {
      if (turnStarted || err instanceof TurnFailed) return { kind: 'failed', reason: messageOf(err) };
      // botframework-connector's AuthenticationError carries the status it means: 401 for a bad or
      // missing token, 500 when the OpenID metadata or keys could not be loaded.
      const status = (err as { statusCode?: unknown })?.statusCode;
      if (status === 401 || status === 403 || isTokenError(err)) return { kind: 'unauthenticated', reason: messageOf(err) };
      return { kind: 'auth-unavailable', reason: messageOf(err) };
    } finally {
      forgetEmulatorIssuers(emulatorIssuers);
    }
  }
}

/**
 * botbuilder, asking whether any token is the Bot Framework Emulator's (before any signature is
 * checked), adds four issuers to a list shared by the process for each tenant id (`tid`) a token
 * names that it has not seen: anyone who can reach the endpoint could grow that list, and the time of
 * every later lookup in it, without end. Countersign takes no emulator token (notChannelToken), so
 * what a turn's authentication added is taken off again as it ends.
 */
function emulatorIssuerCount(): number | undefined {
  return Array.isArray(EMULATOR_TOKENS.issuer) ? EMULATOR_TOKENS.issuer.length : undefined;
}

function forgetEmulatorIssuers(count: number | undefined): void {
  const issuers = EMULATOR_TOKENS.issuer;
  if (count !== undefined && Array.isArray(issuers) && issuers.length > count) issuers.length = count;
}

/** The issuer of the Bot Connector's tokens (botbuilder's ToBotFromChannelTokenIssuer; publicCloudWith keeps it). */
const CHANNEL_TOKEN_ISSUER = 'https://api.botframework.com';
/** The audiences botbuilder takes for the channel's own, not another bot's (SkillValidation.isSkillClaim). */
const CHANNEL_AUDIENCES = ['https://api.botframework.com', 'https://api.botframework.us'];

/**
 * Why a token is not the Bot Connector's, read from its unverified payload before botbuilder sees
 * it; undefined when botbuilder would check it as a channel token. botbuilder picks its check from
 * what the token says: an emulator's issuer, a skill's claims or the channel id "ase" send it to
 * fetch other OpenID metadata (the public cloud's Entra ID), and where that cannot be reached anyone
 * could have the bot answer 503 and record "authentication unavailable" at will. A bot in Teams
 * takes none of those tokens: such a token is a bad one (401), and nothing is fetched for it.
 */
function notChannelToken(authorization: string, channelId: unknown): string | undefined {
  if (channelId === 'ase') return 'the token is for the ASE channel, which Countersign does not serve';
  const token = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/.exec(authorization);
  if (!token) return 'the Authorization header is not a Bearer JSON Web Token';
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token[2], 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'the token\'s payload is not a JSON object';
    claims = parsed as Record<string, unknown>;
  } catch {
    return 'the token\'s payload is not JSON';
  }
  // As botbuilder tells a skill's token (another bot's) from the channel's: its own app id claim, differing from its audience.
  const appId = !claims.ver || claims.ver === '1.0' ? claims.appid : claims.ver === '2.0' ? claims.azp : undefined;
  const skill = claims.appid === 'AnonymousSkill' || (!!claims.ver && !!claims.aud && !CHANNEL_AUDIENCES.includes(claims.aud as string) && !!appId && appId !== claims.aud);
  if (skill) return 'the token is another bot\'s (a skill\'s), not the Bot Connector\'s';
  if (claims.iss !== undefined && claims.iss !== CHANNEL_TOKEN_ISSUER) return `the token's issuer is not the Bot Connector's (${CHANNEL_TOKEN_ISSUER})`;
  // jsonwebtoken (which botbuilder checks with) judges exp only when it is there: a signed token
  // without one would be taken for ever once it leaked. The Bot Connector's tokens always expire.
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return 'the token carries no exp (expiry) claim, or one that is not a number, so it would never expire';
  return undefined;
}

/** An activity the adapter posts to the Bot Connector (not an invoke's answer, a delay or a trace). */
function goesToTeams(activity: Partial<Activity>): boolean {
  return activity.type !== 'invokeResponse' && activity.type !== 'delay' && activity.type !== 'trace';
}

/**
 * jsonwebtoken's own errors, which botframework-connector lets through without a status: a signature
 * that does not match the key (forged), none at all (alg none), a malformed token, one not valid yet.
 * The keys were there to check it against, so it is a bad token (401), not authentication down (503).
 */
function isTokenError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'JsonWebTokenError' || name === 'NotBeforeError' || name === 'TokenExpiredError';
}
