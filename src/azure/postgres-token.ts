/**
 * Microsoft Entra authentication to Azure Database for PostgreSQL: the access token of the app's
 * identity is the password. The pool asks for the password on every new connection; this hands out
 * the cached token until shortly before it expires, then a fresh one, so a connection opened at any
 * time logs in with a token that is still valid.
 */
import type { TokenCredential } from '@azure/identity';

export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

export interface EntraPasswordOptions {
  /** The scope the token is asked for (default POSTGRES_ENTRA_SCOPE, public Azure's). */
  scope?: string;
  /** Fetch a new token this long before the cached one expires (default 5 minutes). */
  refreshBeforeMs?: number;
  now?: () => number;
}

class DatabaseTokenError extends Error {
  constructor(cause: unknown, scope: string) {
    super(
      `could not get a Microsoft Entra token for PostgreSQL (scope ${scope}): ${(cause as Error)?.message ?? String(cause)}. ` +
        'Check that the app has a managed identity (COUNTERSIGN_DATABASE_CLIENT_ID for a user-assigned one) or, on a workstation, that you are signed in with az login',
    );
    this.name = 'DatabaseTokenError';
  }
}

/** A password function for the PostgreSQL pool, backed by the credential. */
export function entraDatabasePassword(credential: TokenCredential, options: EntraPasswordOptions = {}): () => Promise<string> {
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const scope = options.scope ?? POSTGRES_ENTRA_SCOPE;
  let cached: { token: string; expiresOnTimestamp: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    let token;
    try {
      token = await credential.getToken(scope);
    } catch (err) {
      throw new DatabaseTokenError(err, scope);
    }
    if (!token) throw new DatabaseTokenError(new Error('the credential returned no token'), scope);
    cached = { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
    return token.token;
  };
  return () => {
    if (cached && now() < cached.expiresOnTimestamp - refreshBeforeMs) return Promise.resolve(cached.token);
    // Connections opened together share one token request.
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
