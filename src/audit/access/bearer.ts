/**
 * Who calls the audit export API: an Entra ID access token, checked against the configured issuer's
 * signing keys (its JWKS URI, or a key set from a file), audience, expiry, tenant and the auditor
 * app role in the `roles` claim; an ID token is refused (see `idTokenProblem`). Only asymmetric
 * algorithms are accepted. The token itself is never
 * logged or recorded: a refusal carries jose's error code and the claim that failed.
 */
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Actor } from '../../domain/request';

/**
 * The auditor API's token check, as the config's `audit.http` section sets it. Owned here, by its user;
 * the config loader's type of the same name must stay assignable to it.
 */
export interface AuditHttpConfig {
  /** The token issuer (`iss`), e.g. https://login.microsoftonline.com/<tenant>/v2.0. */
  issuer: string;
  /** The audience (`aud`) tokens must be for: the API's client id or App ID URI. */
  audience: string;
  /** The app role (in the `roles` claim) that may export. */
  role: string;
  /** Where the issuer's signing keys come from: its JWKS URI, or a JSON Web Key Set given inline from a file. */
  jwks: { uri: string } | { keys: Record<string, unknown>[] };
}

export type BearerCheck =
  | { ok: true; actor: Actor; appId?: string }
  | { ok: false; status: 401 | 403; reason: 'missing-token' | 'invalid-token' | 'no-expiry' | 'id-token' | 'token-lifetime-too-long' | 'missing-object-id' | 'tenant-not-allowed' | 'not-an-auditor'; detail: string; actor?: Actor };

/**
 * jose, loaded by the first checker made: only a config with `audit.http` makes one, and loading its
 * ES modules would otherwise cost every start tens of milliseconds.
 */
let joseLoaded: typeof import('jose') | undefined;
function jose(): typeof import('jose') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (joseLoaded ??= require('jose') as typeof import('jose'));
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
/** Clock skew allowed on exp and nbf. */
const SKEW_SECONDS = 60;
/**
 * The longest lifetime (exp - iat, or exp - nbf) of a token the audit API accepts. Entra ID access
 * tokens live 60 to 90 minutes by default; a token valid for longer (a leaked long-lived token, a
 * lifetime policy stretched for convenience) is refused. docs/limits.md.
 */
const MAX_TOKEN_LIFETIME_SECONDS = 2 * 60 * 60;

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v.slice(0, 200) : undefined;
}

function actorOf(claims: JWTPayload): Actor {
  return {
    // Only the Entra object id names a caller: `sub` is pairwise (per application) and says nothing
    // another record can be matched with.
    aadObjectId: text(claims.oid) ?? '',
    tenantId: text(claims.tid) ?? '',
    name: text(claims.name) ?? text(claims.preferred_username) ?? text(claims.azp) ?? text(claims.appid) ?? 'unknown caller',
  };
}

function why(err: unknown): string {
  const { errors } = jose();
  if (err instanceof errors.JWTExpired) return `${err.code}: the token has expired`;
  if (err instanceof errors.JWTClaimValidationFailed) return `${err.code}: the ${err.claim} claim ${err.reason === 'check_failed' ? 'is wrong' : err.reason}`;
  if (err instanceof errors.JOSEError) return `${err.code}: ${err.message.slice(0, 200)}`;
  return `the token could not be checked: ${String((err as Error)?.message ?? err).slice(0, 200)}`;
}

/** Why the token's lifetime is not acceptable, or undefined when it is. */
function lifetimeProblem(claims: JWTPayload, now: Date): string | undefined {
  const exp = claims.exp as number;
  const starts = [claims.iat, claims.nbf].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (starts.length === 0) return 'the token carries neither iat nor nbf, so its lifetime is unknown';
  // Counted from now too: a token that says it was issued in the future (iat ahead, no nbf) is
  // usable from now on, and would otherwise pass for as short-lived as its iat makes it look.
  const lifetime = exp - Math.min(...starts, Math.floor(now.getTime() / 1000));
  if (lifetime > MAX_TOKEN_LIFETIME_SECONDS) {
    return `the token is valid for ${Math.round(lifetime / 60)} minutes, more than the ${MAX_TOKEN_LIFETIME_SECONDS / 60} accepted`;
  }
  return undefined;
}

/** Claims only an OpenID Connect ID token carries, never an Entra ID access token. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash'];

/**
 * Why the token is an ID token rather than an access token, or undefined. An ID token is signed by
 * the same keys, and its `aud` is the client id of the app the user signed in to: with `audience`
 * set to that client id, and the registration also signing users in, an ID token carrying the
 * user's `roles` would otherwise pass. An Entra ID access token always names the client application
 * that asked for it (`azp` in v2.0 tokens, `appid` in v1.0), whether it acts for a user or as itself;
 * an ID token names none (it is the client's own), and may carry `nonce`, `at_hash` or `c_hash`,
 * which no access token does.
 */
function idTokenProblem(claims: JWTPayload): string | undefined {
  const found = ID_TOKEN_CLAIMS.filter((c) => claims[c] !== undefined);
  if (found.length) return `the token is an ID token (it carries ${found.join(', ')}), not an access token: ask Entra ID for an access token for this API`;
  if (text(claims.azp) === undefined && text(claims.appid) === undefined) {
    return 'the token names no client application (neither azp nor appid), as an ID token does and no Entra ID access token does: ask Entra ID for an access token for this API';
  }
  return undefined;
}

/** A checker for Authorization headers under one configuration. */
export function bearerChecker(config: AuditHttpConfig, tenantAllowed: (tenantId: string) => boolean, now: () => Date): (authorization: string | undefined) => Promise<BearerCheck> {
  const { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } = jose();
  const keys: JWTVerifyGetKey = 'uri' in config.jwks ? createRemoteJWKSet(new URL(config.jwks.uri)) : createLocalJWKSet({ keys: config.jwks.keys });
  return async (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, status: 401, reason: 'missing-token', detail: 'no bearer token in the Authorization header' };
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(m[1], keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ALGORITHMS,
        clockTolerance: SKEW_SECONDS,
        currentDate: now(),
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      // A token without a numeric exp would never expire: refused by name, not as any bad token.
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'exp' && err.reason !== 'check_failed') {
        const what = err.reason === 'missing' ? 'carries no exp (expiry) claim' : 'has an exp (expiry) claim that is not a number of seconds';
        return { ok: false, status: 401, reason: 'no-expiry', detail: `the token ${what}, so it would never expire: ask Entra ID for an access token, which always expires` };
      }
      return { ok: false, status: 401, reason: 'invalid-token', detail: why(err) };
    }
    const idToken = idTokenProblem(claims);
    if (idToken) return { ok: false, status: 401, reason: 'id-token', detail: idToken };
    const lifetime = lifetimeProblem(claims, now());
    if (lifetime) return { ok: false, status: 401, reason: 'token-lifetime-too-long', detail: lifetime };
    const actor = actorOf(claims);
    if (!actor.aadObjectId) return { ok: false, status: 401, reason: 'missing-object-id', detail: 'the token carries no Entra object id (oid claim), so it names no caller' };
    if (!tenantAllowed(actor.tenantId)) {
      return { ok: false, status: 403, reason: 'tenant-not-allowed', detail: `tenant ${actor.tenantId || '(none)'} is not allowed to use Countersign`, actor };
    }
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    if (!roles.includes(config.role)) {
      return { ok: false, status: 403, reason: 'not-an-auditor', detail: `the token does not carry the app role ${config.role}`, actor };
    }
    const appId = text(claims.azp) ?? text(claims.appid);
    return { ok: true, actor, ...(appId ? { appId } : {}) };
  };
}
