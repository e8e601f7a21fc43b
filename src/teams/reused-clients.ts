/**
 * botbuilder builds a new ConnectorClient (with its credentials and HTTP pipeline) for every turn
 * and every proactive update, and a new user-token client for each, although they depend only on
 * the bot's app id, the service URL and the audience. The profile of the approve click put about 9 %
 * of the bot's CPU there. Here the authentication object hands out one client per key and keeps it:
 * the credentials inside cache their token, so reusing them also saves token lookups.
 */
import type { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { boundConnectorCalls } from './connector-calls';

type Auth = ConfigurationBotFrameworkAuthentication;
type Claims = Parameters<Auth['createConnectorFactory']>[0];
type Factory = ReturnType<Auth['createConnectorFactory']>;

/**
 * Service URLs come from authenticated activities (and a handful exist per cloud), but with
 * authentication off anyone can name one: the cache stays bounded, dropping its oldest entry.
 */
const MAX_ENTRIES = 64;

class BoundedCache<V> {
  private readonly entries = new Map<string, Promise<V>>();

  get(key: string, make: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) return hit;
    const made = make();
    // A client that could not be built is not kept: the next turn tries again.
    made.catch(() => {
      if (this.entries.get(key) === made) this.entries.delete(key);
    });
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, made);
    return made;
  }
}

/** The app id botbuilder builds a turn's clients for (its own getAppId: audience, else appid claim). */
function appIdOf(claims: Claims): string {
  return claims.getClaimValue('aud') ?? claims.getClaimValue('appid') ?? '';
}

/**
 * Makes `auth` hand out one connector client per app id, service URL and audience, and one token
 * client per app id. Every connector client is built here, for turns and proactive calls alike, so
 * this is where each gets Countersign's call rules: tried once, within `callTimeoutMs`
 * (connector-calls.ts).
 */
export function reuseClients(auth: Auth, callTimeoutMs: number): Auth {
  const connectors = new BoundedCache<Awaited<ReturnType<Factory['create']>>>();
  const tokenClients = new BoundedCache<Awaited<ReturnType<Auth['createUserTokenClient']>>>();
  const reusing = (appId: string, inner: Factory): Factory => ({
    create: (serviceUrl, audience) =>
      connectors.get(`${appId}\n${serviceUrl}\n${audience ?? ''}`, async () => boundConnectorCalls(await inner.create(serviceUrl, audience), callTimeoutMs)),
  });
  const createConnectorFactory = auth.createConnectorFactory.bind(auth);
  const createUserTokenClient = auth.createUserTokenClient.bind(auth);
  const authenticateRequest = auth.authenticateRequest.bind(auth);
  auth.createConnectorFactory = (claims) => reusing(appIdOf(claims), createConnectorFactory(claims));
  auth.createUserTokenClient = (claims) => tokenClients.get(appIdOf(claims), () => createUserTokenClient(claims));
  auth.authenticateRequest = async (activity, authHeader) => {
    const result = await authenticateRequest(activity, authHeader);
    const inner = result.connectorFactory;
    return inner ? { ...result, connectorFactory: reusing(appIdOf(result.claimsIdentity), inner) } : result;
  };
  return auth;
}
