/**
 * Which store holds the audit trail (COUNTERSIGN_STORE) and, for PostgreSQL, the connection: a URL
 * and/or the libpq variables (PG*), the schema, Entra authentication, migrations and the pool.
 */
import { GUID, SettingsError } from './values';

export type StoreSettings = { kind: 'sqlite' } | { kind: 'postgres'; postgres: PostgresSettings };

/** The PostgreSQL connection, from a URL and/or the libpq variables (PG*), as node and psql users expect. */
export interface PostgresSettings {
  /** COUNTERSIGN_DATABASE_URL, else DATABASE_URL (postgres://user@host:5432/db?sslmode=verify-full). */
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** PGPASSWORD; absent with Microsoft Entra authentication. */
  password?: string;
  /** PGSSLMODE (a sslmode in the URL wins). */
  sslMode?: 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  /** PGSSLROOTCERT: a PEM file of the certificate authorities to trust. */
  sslRootCertFile?: string;
  applicationName?: string;
  /** COUNTERSIGN_DATABASE_SCHEMA (default: the role's search_path, usually public). */
  schema?: string;
  /** `password` (PGPASSWORD or the URL's) or `entra`: a Microsoft Entra token of the app's identity is the password. */
  auth: 'password' | 'entra';
  /** COUNTERSIGN_DATABASE_CLIENT_ID: the user-assigned managed identity whose token is the password. */
  entraClientId?: string;
  /**
   * COUNTERSIGN_DATABASE_TOKEN_SCOPE: the scope the Entra token is asked for (default: public Azure's,
   * https://ossrdbms-aad.database.windows.net/.default; a sovereign cloud has its own).
   */
  entraScope?: string;
  /** COUNTERSIGN_DATABASE_MIGRATE: auto (when this role owns the schema), always, never. */
  migrate: 'auto' | 'always' | 'never';
  /** COUNTERSIGN_DATABASE_POOL_SIZE (default 10). */
  poolSize?: number;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * The part of a database URL whose %-escapes do not decode (a password holding a bare %, the most
 * common cause): the driver would say only "URI malformed". Undefined when every part decodes, or
 * when the text is no URL at all (the store says so, naming the form it expects).
 */
function undecodableUrlPart(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const parts: [string, string][] = [['user name', u.username], ['password', u.password], ['host', u.hostname], ['database name', u.pathname]];
  for (const [part, text] of parts) {
    try {
      decodeURIComponent(text);
    } catch {
      return part;
    }
  }
  return undefined;
}

/**
 * SQLite unless COUNTERSIGN_STORE=postgres: PostgreSQL is never inferred from PG* variables being set,
 * so an operator always knows which store holds the audit trail.
 */
export function readStoreSettings(env: NodeJS.ProcessEnv = process.env): StoreSettings {
  const kind = env.COUNTERSIGN_STORE || 'sqlite';
  if (kind === 'sqlite') return { kind };
  if (kind !== 'postgres') throw new SettingsError('COUNTERSIGN_STORE', `must be sqlite or postgres, got "${kind}"`);
  const url = env.COUNTERSIGN_DATABASE_URL || env.DATABASE_URL || undefined;
  if (!url && !env.PGHOST) {
    throw new SettingsError('COUNTERSIGN_STORE', 'is postgres but no database is named: set COUNTERSIGN_DATABASE_URL (or DATABASE_URL), or PGHOST with PGDATABASE and PGUSER');
  }
  const undecodable = url ? undecodableUrlPart(url) : undefined;
  if (undecodable) {
    // The value is not shown: it may hold a password.
    throw new SettingsError(
      env.COUNTERSIGN_DATABASE_URL ? 'COUNTERSIGN_DATABASE_URL' : 'DATABASE_URL',
      `the ${undecodable} in the URL holds a % that is not percent-encoding (a % and two hex digits of UTF-8): write a % itself as %25`,
    );
  }
  const port = env.PGPORT ? (/^\s*\d+\s*$/.test(env.PGPORT) ? Number(env.PGPORT) : NaN) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new SettingsError('PGPORT', `must be a port number from 1 to 65535, in digits, got "${env.PGPORT}"`);
  const sslMode = env.PGSSLMODE || undefined;
  if (sslMode !== undefined && !(SSL_MODES as readonly string[]).includes(sslMode)) {
    throw new SettingsError('PGSSLMODE', `must be one of ${SSL_MODES.join(', ')}, got "${sslMode}"`);
  }
  const auth = env.COUNTERSIGN_DATABASE_AUTH || 'password';
  if (auth !== 'password' && auth !== 'entra') throw new SettingsError('COUNTERSIGN_DATABASE_AUTH', `must be password or entra, got "${auth}"`);
  if (auth === 'entra' && env.PGPASSWORD) {
    throw new SettingsError('PGPASSWORD', 'is set but COUNTERSIGN_DATABASE_AUTH is entra (the password is a Microsoft Entra token): remove one of them');
  }
  // The managed identity whose token is the password: one that is no GUID would fail only at the first
  // connection, as the identity endpoint's refusal; said here, naming where it came from.
  const clientIdFrom = env.COUNTERSIGN_DATABASE_CLIENT_ID ? 'COUNTERSIGN_DATABASE_CLIENT_ID' : env.AZURE_CLIENT_ID ? 'AZURE_CLIENT_ID' : undefined;
  if (auth === 'entra' && clientIdFrom && !GUID.test(env[clientIdFrom]!)) {
    throw new SettingsError(clientIdFrom, `must be the client id (a GUID) of the managed identity whose Microsoft Entra token is the database password, got "${env[clientIdFrom]}"`);
  }
  const migrate = env.COUNTERSIGN_DATABASE_MIGRATE || 'auto';
  if (migrate !== 'auto' && migrate !== 'always' && migrate !== 'never') {
    throw new SettingsError('COUNTERSIGN_DATABASE_MIGRATE', `must be auto, always or never, got "${migrate}"`);
  }
  const poolSize = env.COUNTERSIGN_DATABASE_POOL_SIZE ? Number(env.COUNTERSIGN_DATABASE_POOL_SIZE) : undefined;
  if (poolSize !== undefined && !(/^\d+$/.test(env.COUNTERSIGN_DATABASE_POOL_SIZE!.trim()) && Number.isInteger(poolSize) && poolSize >= 1 && poolSize <= 100)) {
    throw new SettingsError('COUNTERSIGN_DATABASE_POOL_SIZE', `must be a whole number of connections from 1 to 100, in digits, got "${env.COUNTERSIGN_DATABASE_POOL_SIZE}"`);
  }
  // Countersign quotes the name (case kept) and passes it in the sessions' startup options: letters,
  // digits and underscores only, said here with the variable rather than by the store at connection time.
  const schema = env.COUNTERSIGN_DATABASE_SCHEMA || undefined;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema)) {
    throw new SettingsError('COUNTERSIGN_DATABASE_SCHEMA', `must be a schema name of letters, digits and underscores, not starting with a digit (as CREATE SCHEMA made it: an unquoted name is lower case), got "${schema}"`);
  }
  const optional = <K extends keyof PostgresSettings>(key: K, value: PostgresSettings[K] | '' | undefined) => (value === undefined || value === '' ? {} : { [key]: value });
  return {
    kind,
    postgres: {
      ...optional('url', url),
      ...optional('host', env.PGHOST),
      ...optional('port', port),
      ...optional('user', env.PGUSER),
      ...optional('database', env.PGDATABASE),
      ...optional('password', env.PGPASSWORD),
      ...optional('sslMode', sslMode as PostgresSettings['sslMode']),
      ...optional('sslRootCertFile', env.PGSSLROOTCERT),
      ...optional('applicationName', env.PGAPPNAME),
      ...optional('schema', env.COUNTERSIGN_DATABASE_SCHEMA),
      auth,
      ...optional('entraClientId', env.COUNTERSIGN_DATABASE_CLIENT_ID || env.AZURE_CLIENT_ID),
      ...optional('entraScope', readTokenScope(env.COUNTERSIGN_DATABASE_TOKEN_SCOPE)),
      migrate,
      ...optional('poolSize', poolSize),
    },
  };
}

/**
 * An OAuth scope for the database's Entra token: an https URL ending in /.default (a sovereign cloud's
 * https://ossrdbms-aad.database.usgovcloudapi.net/.default). Undefined when unset.
 */
function readTokenScope(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const scope = text.trim();
  let url: URL | undefined;
  try {
    url = new URL(scope);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || !url.pathname.endsWith('/.default') || url.search || url.hash) {
    throw new SettingsError('COUNTERSIGN_DATABASE_TOKEN_SCOPE', `must be the https scope of the cloud's Azure Database for PostgreSQL, ending in /.default, such as https://ossrdbms-aad.database.usgovcloudapi.net/.default, got "${text}"`);
  }
  return scope;
}
