/**
 * Connecting to PostgreSQL: the pool, its options (a URL and/or libpq-style fields, TLS, a password
 * that may be a function returning a fresh Microsoft Entra token), and errors that say what to fix.
 */
import pg from 'pg';
import { isLoopbackHost } from '../../loopback';
import { RUNTIME_ROLE } from './schema-versions';
import { parsePostgresUrl, PostgresStartupError, type SslMode } from './url';

export { PostgresStartupError, type SslMode } from './url';

export type PasswordSource = string | (() => Promise<string>);


export interface PostgresConnectionOptions {
  /** postgres://user@host:port/database?sslmode=... (any sslmode in it is honoured as `sslMode`). */
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  password?: PasswordSource;
  sslMode?: SslMode;
  /** PEM of the certificate authorities to trust (PGSSLROOTCERT's content). */
  sslRootCert?: string;
  applicationName?: string;
  /** The schema holding Countersign's tables (default: the role's search_path, usually public). */
  schema?: string;
  /** Connections in the pool (default 10). */
  max?: number;
  /** How long to wait for a connection (default 10 s). */
  connectionTimeoutMs?: number;
  /**
   * The sessions' lock_timeout (ms): how long any statement, a read too, waits for a lock another
   * session holds before it fails with SQLSTATE 55P03 (COUNTERSIGN_STORE_LOCK_WAIT). Unset: no limit.
   */
  lockWaitMs?: number;
}

/** int8 as a JavaScript number (seq and ids stay far below 2^53), only for our pools. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** The URL's fields, overridden by nothing: explicit fields fill only what the URL leaves out. */
function resolveConnection(options: PostgresConnectionOptions): Required<Pick<PostgresConnectionOptions, 'host' | 'port' | 'user' | 'database'>> &
  PostgresConnectionOptions {
  const fromUrl = options.url ? parsePostgresUrl(options.url) : {};
  const user = fromUrl.user ?? options.user ?? 'postgres';
  return {
    ...options,
    host: fromUrl.host ?? options.host ?? 'localhost',
    port: fromUrl.port ?? options.port ?? 5432,
    user,
    database: fromUrl.database ?? options.database ?? user,
    ...(fromUrl.password !== undefined ? { password: fromUrl.password } : {}),
    ...(fromUrl.sslMode ? { sslMode: fromUrl.sslMode } : {}),
    ...(fromUrl.applicationName ? { applicationName: fromUrl.applicationName } : {}),
  };
}

/** Where we connect, without any secret: for messages and logs. */
export function describeTarget(options: PostgresConnectionOptions): string {
  try {
    const c = resolveConnection(options);
    return `postgres://${encodeURIComponent(c.user)}@${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}/${encodeURIComponent(c.database)}`;
  } catch {
    return 'the configured PostgreSQL database';
  }
}

/**
 * The host these options reach in the clear over the network, if they do: no TLS (PGSSLMODE unset,
 * disable, allow or prefer) to a host that is neither loopback nor a Unix socket's folder. The start
 * warns of it: an operator used to psql expects unset to mean TLS whenever the server offers it.
 */
export function unencryptedRemoteHost(options: PostgresConnectionOptions): string | undefined {
  const c = resolveConnection(options);
  if (sslOption(c.sslMode, c.sslRootCert) !== false) return undefined;
  return c.host.startsWith('/') || isLoopbackHost(c.host) ? undefined : c.host;
}

function sslOption(mode: SslMode | undefined, ca: string | undefined): pg.PoolConfig['ssl'] {
  switch (mode ?? 'prefer') {
    case 'disable':
    case 'allow':
    case 'prefer':
      // node-postgres cannot try TLS and fall back: like libpq's default against a server
      // without TLS, connect in the clear. Azure requires TLS: set sslmode=verify-full there.
      return false;
    case 'require':
      // libpq's require encrypts without checking the certificate (unless a root cert is given).
      return ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  }
}

/** A schema name as an SQL identifier (and safe inside the startup options, which split on spaces). */
function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) throw new PostgresStartupError(`the schema name "${name}" must be letters, digits and underscores`);
  return `"${name}"`;
}

/**
 * A Microsoft Entra token (a password given as a function) is never sent to a host off this machine
 * without TLS: node-postgres hands a password to whatever server asks for it in the clear, so anyone
 * on the path could answer as the database and take a token good for every Azure database this
 * identity may log in to. Azure's servers refuse a connection without TLS anyway, so a start without
 * it reaches only such a stand-in. (A fixed password keeps the warning: a container network's `db`
 * host is a usual, deliberate setup.)
 */
function entraTokenInTheClear(c: ReturnType<typeof resolveConnection>): string | undefined {
  if (typeof c.password !== 'function' || sslOption(c.sslMode, c.sslRootCert) !== false) return undefined;
  if (c.host.startsWith('/') || isLoopbackHost(c.host)) return undefined;
  return `COUNTERSIGN_DATABASE_AUTH is entra, but ${c.host} would be reached without TLS (sslmode ${c.sslMode ?? 'unset'}): the Microsoft Entra token would cross the network in the clear to whoever answers there. Set PGSSLMODE=verify-full (or sslmode=verify-full in the URL); nothing was sent`;
}

/**
 * Every session of Countersign's reads and writes at READ COMMITTED, whatever the database's or
 * role's default_transaction_isolation: the store is built on it (a compare-and-swap that waits for
 * the other writer and then finds the version moved on, the chain's head read after its lock is
 * granted, a download link claimed by one UPDATE). Under SERIALIZABLE or REPEATABLE READ those
 * fail with 40001 instead, and the person is told of an internal error. (A space in a startup
 * option is escaped with a backslash.)
 */
const READ_COMMITTED = '-c default_transaction_isolation=read\\ committed';

/** The node-postgres pool configuration for these options (nothing read from the environment here). */
export function poolConfig(options: PostgresConnectionOptions): pg.PoolConfig {
  const c = resolveConnection(options);
  const clear = entraTokenInTheClear(c);
  if (clear) throw new PostgresStartupError(clear);
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    database: c.database,
    // pg asks again for every new connection: a token provider hands out a fresh token each time.
    ...(c.password !== undefined ? { password: c.password } : {}),
    ssl: sslOption(c.sslMode, c.sslRootCert),
    application_name: c.applicationName ?? 'countersign',
    options: [...(c.schema ? [`-c search_path=${quoteIdentifier(c.schema)}`] : []), READ_COMMITTED].join(' '),
    // 0 would turn the limit off: the smallest wait the server takes is 1 ms.
    ...(c.lockWaitMs !== undefined ? { lock_timeout: Math.max(1, Math.ceil(c.lockWaitMs)) } : {}),
    max: c.max ?? 10,
    connectionTimeoutMillis: c.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // An idle connection whose peer is gone (a failover, a firewall that forgot it) is probed after
    // 10 s idle rather than the system's two hours; a statement waiting for its answer is bound by
    // the store's answer wait instead (answer-wait.ts), as keepalive probes only idle connections.
    keepAliveInitialDelayMillis: 10_000,
    types,
  };
}

/**
 * A pool that outlives its connections: a connection that breaks (server restart, failover,
 * network, pg_terminate_backend) is dropped by the pool and the next query opens a new one. An idle
 * connection that breaks emits 'error' on the pool; it is reported, never allowed to crash the
 * process. A connection the pool has lent out (a transaction between two statements, a readiness
 * probe) has no listener of the pool's, and pg emits 'error' on the connection itself: each one gets
 * a listener of its own when it is made, so that error ends only the work on it (its next statement
 * fails, and the store retries or reports it), never the process.
 */
export function createPool(options: PostgresConnectionOptions, onConnectionError?: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool(poolConfig(options));
  pool.on('error', () => undefined); // idle ones: reported by the listener each connection has (below)
  pool.on('connect', (client) => {
    client.on('error', (err) => onConnectionError?.(err));
  });
  renewAfterSessionLimit(pool);
  return pool;
}

/**
 * SQLSTATEs by which the server cut a statement short for a limit the session took when it began:
 * 57014 (statement_timeout), 53400 (a configured limit: temp_file_limit); and 42P01 / 42883 (a table
 * or function not found), which a session also answers for a schema it looked its search path up in
 * while the role could not use it, and goes on answering once the role can again (a role's membership
 * given back does not make a session look the path up again).
 */
const SESSION_LIMIT_CODES = new Set(['57014', '53400', '42P01', '42883']);

/**
 * A connection on which the server cut a statement short for a session limit is closed when it is
 * given back, not kept: PostgreSQL applies `ALTER ROLE|DATABASE … SET statement_timeout` (and
 * `temp_file_limit`) to sessions that begin after it, so one opened while a too-short setting was in
 * force kept cancelling statements after the setting was reset, and a busy instance, whose
 * connections never sit idle long enough to be closed, was told "overloaded" until restarted. The
 * pool opens the next one with the settings in force then. (Countersign's own cancels, 57014 too,
 * drop their connection anyway.)
 */
function renewAfterSessionLimit(pool: pg.Pool): void {
  const limited = new WeakSet<pg.ClientBase>();
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const out = query(...args);
      if (out instanceof Promise) {
        out.catch((err: unknown) => {
          if (SESSION_LIMIT_CODES.has(String((err as { code?: unknown } | null)?.code))) limited.add(client);
        });
      }
      return out;
    };
  });
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  const renewing = (client: pg.PoolClient | undefined) => {
    if (!client) return client;
    const release = client.release;
    client.release = (err?: Error | boolean) => release(err || (limited.has(client) ? new Error('the server cut a statement short for a session limit') : undefined));
    return client;
  };
  pool.connect = ((callback?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) =>
    callback
      ? connect((err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => callback(err, renewing(client), done))
      : (connect() as Promise<pg.PoolClient>).then(renewing)) as typeof pool.connect;
}

/**
 * A connection failure in words an operator can act on; `readOnly`: for a reader of the audit trail
 * (verify), which needs SELECT only, not the bot's runtime role; `running`: for a running instance's
 * new connection (readiness), which goes on by itself once the server takes it, not for a start.
 */
export function explainConnectionError(err: unknown, options: PostgresConnectionOptions, readOnly = false, running = false): PostgresStartupError {
  if (err instanceof PostgresStartupError) return err;
  const target = describeTarget(options);
  const e = err as { code?: string; message?: string };
  const message = e?.message ?? String(err);
  const code = e?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new PostgresStartupError(`cannot resolve the PostgreSQL host of ${target} (${code}): check the host in COUNTERSIGN_DATABASE_URL / DATABASE_URL or PGHOST`);
  }
  // The server's own answers, by SQLSTATE, before the words: a lock_timeout or statement_timeout
  // says "timeout" too, but came from a server in reach.
  if (code === '55P03') {
    return new PostgresStartupError(
      `PostgreSQL at ${target} is reachable, but another session held a lock Countersign needs at start for longer than COUNTERSIGN_STORE_LOCK_WAIT (55P03 lock_not_available: ${message}): find the session holding it (pg_locks, pg_stat_activity: a LOCK TABLE left open, a long transaction), end it or let it finish, then start again`,
    );
  }
  if (code === '57014') {
    return new PostgresStartupError(
      `PostgreSQL at ${target} is reachable, but cancelled a statement of Countersign's start (57014 query_canceled: ${message}): the server is overloaded or the role's or database's statement_timeout is too short; start again in a moment, or raise statement_timeout`,
    );
  }
  if (code === '53300') {
    return new PostgresStartupError(
      `PostgreSQL at ${target} is reachable, but has no connection free (53300 too_many_connections: ${message}): ${running ? 'new connections are refused until' : 'start again once'} other clients closed theirs, or raise max_connections (or the role's or database's connection limit); COUNTERSIGN_DATABASE_POOL_SIZE is how many this instance opens`,
    );
  }
  if (code === '57P01' || code === '57P02' || code === '57P03') {
    return new PostgresStartupError(
      `PostgreSQL at ${target} ended the session (${code}: ${message}): the server is restarting, failing over or shutting down, or an administrator ended the connection; ${running ? 'this instance connects again' : 'start again'} once it answers`,
    );
  }
  if (code === '25006') {
    return new PostgresStartupError(
      `PostgreSQL at ${target} is read-only (25006 read_only_sql_transaction: ${message}): connect to the primary, not a standby, or turn default_transaction_read_only off for this role or database`,
    );
  }
  // An error the server sent (with its SQLSTATE) is an answer: only one of the client's own may be a connection timeout.
  const serverAnswered = err instanceof pg.DatabaseError;
  if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || (!serverAnswered && /timeout/i.test(message))) {
    return new PostgresStartupError(
      `PostgreSQL at ${target} is unreachable (${code || message}): check that the server is running, the host and port are right, and the firewall lets this machine in`,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new PostgresStartupError(
      `PostgreSQL refused the login of ${target} (${message}): check the user and password, or with Microsoft Entra authentication that the managed identity is a database principal (docs/postgresql.md)`,
    );
  }
  if (code === '3D000') {
    return new PostgresStartupError(`${message} at ${target}: create it (CREATE DATABASE) or fix the database name in the URL / PGDATABASE`);
  }
  // CONNECT on the database itself (revoked from PUBLIC, as hardening does): no grant on the tables
  // gives it, and the runtime role holds none unless given.
  if (code === '42501' && /permission denied for database/.test(message)) {
    const database = resolveConnection(options).database;
    return new PostgresStartupError(
      `${message} (${target}): the role may not connect to the database: as its owner, GRANT CONNECT ON DATABASE "${database}" TO ${readOnly ? '<user>' : RUNTIME_ROLE} (${readOnly ? 'an auditor reading the audit trail' : 'its members, the bots, inherit it'}; see docs/postgresql.md)`,
    );
  }
  if (code === '42501' && readOnly) {
    return new PostgresStartupError(
      `${message} (${target}): reading the audit trail needs SELECT only: grant it on Countersign's tables (GRANT SELECT ON ALL TABLES IN SCHEMA "${options.schema ?? 'public'}" TO <user>, or GRANT pg_read_all_data TO <user>; see docs/postgresql.md)`,
    );
  }
  if (code === '42501') {
    return new PostgresStartupError(`${message} (${target}): grant the runtime role to this user (GRANT countersign_runtime TO <user>; see docs/postgresql.md)`);
  }
  if (/SSL|TLS|certificate|self.signed/i.test(message) || /^ERR_TLS|CERT|DEPTH_ZERO/.test(code)) {
    return new PostgresStartupError(
      `TLS with PostgreSQL at ${target} failed (${message}): check PGSSLMODE / sslmode (verify-full on Azure) and PGSSLROOTCERT for a private certificate authority`,
    );
  }
  return new PostgresStartupError(`PostgreSQL at ${target}: ${message}`);
}
