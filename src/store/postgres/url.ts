/**
 * What can be said about a PostgreSQL store without loading the driver: its startup error and the
 * parts of a postgres:// URL. The bot on SQLite loads only this of the PostgreSQL store.
 */

/** libpq's sslmode, reduced to what node-postgres can do (it cannot fall back from TLS to plain). */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export class PostgresStartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresStartupError';
  }
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

function isSslMode(text: string): text is SslMode {
  return (SSL_MODES as readonly string[]).includes(text);
}

interface ParsedUrl {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  sslMode?: SslMode;
  sslRootCertFile?: string;
}

/** The parts of a postgres:// URL; throws PostgresStartupError when it is not one. */
export function parsePostgresUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PostgresStartupError(`the database URL is not a URL (expected postgres://user@host:5432/database)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new PostgresStartupError(`the database URL must start with postgres:// or postgresql://, not ${u.protocol}//`);
  }
  const sslMode = u.searchParams.get('sslmode') ?? undefined;
  if (sslMode !== undefined && !isSslMode(sslMode)) {
    throw new PostgresStartupError(`the database URL has sslmode=${sslMode}; expected one of ${SSL_MODES.join(', ')}`);
  }
  const port = u.port ? Number(u.port) : undefined;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    ...(u.hostname ? { host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1') } : {}),
    ...(port ? { port } : {}),
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(database ? { database } : {}),
    ...(sslMode ? { sslMode } : {}),
    ...(u.searchParams.get('sslrootcert') ? { sslRootCertFile: u.searchParams.get('sslrootcert')! } : {}),
  };
}

