/**
 * What can be said about a PostgreSQL store without loading the driver: its startup error and the
 * parts of a postgres:// URL. The bot on SQLite loads only this of the PostgreSQL store.
 */
import { editDistance } from '../../domain/edit-distance';

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
  applicationName?: string;
}

/**
 * The URL's query parameters Countersign reads. Any other (libpq's connect_timeout, options,
 * target_session_attrs..., or a misspelt sslmode) would be ignored without a word, the operator
 * believing it in force: it is refused instead, named.
 */
const URL_PARAMETERS = ['sslmode', 'sslrootcert', 'application_name'] as const;

/** libpq's connection parameters Countersign takes from the PG* variables (or the URL's own parts) instead. */
const PARAMETER_VARIABLES: Record<string, string> = { host: 'PGHOST', port: 'PGPORT', user: 'PGUSER', password: 'PGPASSWORD', dbname: 'PGDATABASE' };

/** The refusal of a query parameter the URL should not hold, or undefined when each is read once. */
function urlParameterProblem(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!(URL_PARAMETERS as readonly string[]).includes(name)) {
      const near = URL_PARAMETERS.find((known) => editDistance(name.toLowerCase(), known) <= 2);
      const variable = PARAMETER_VARIABLES[name.toLowerCase()];
      const hint = near ? ` (did you mean ${near}?)` : variable ? ` (set ${variable} instead, or write it in the URL's own place)` : '';
      return `the database URL (COUNTERSIGN_DATABASE_URL or DATABASE_URL) has the parameter ${JSON.stringify(name)}${hint}, which Countersign does not read: it reads only ${URL_PARAMETERS.join(', ')} from the URL (see docs/postgresql.md); remove it`;
    }
    if (seen.has(name)) return `the database URL (COUNTERSIGN_DATABASE_URL or DATABASE_URL) has the parameter ${name} more than once: give it once`;
    seen.add(name);
  }
  return undefined;
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
  const parameterProblem = urlParameterProblem(u.searchParams);
  if (parameterProblem) throw new PostgresStartupError(parameterProblem);
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
    ...(u.searchParams.get('application_name') ? { applicationName: u.searchParams.get('application_name')! } : {}),
  };
}

