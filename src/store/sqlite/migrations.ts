/**
 * The SQLite schema, as numbered migrations. Each is applied once, in its own transaction, and
 * recorded in schema_migrations; a database newer than this code is refused rather than guessed at.
 */
import type Database from 'better-sqlite3';
import { GENESIS_HASH } from '../../domain/audit';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const APPEND_ONLY_MESSAGE = 'audit_log is append-only';
const CHECKPOINTS_APPEND_ONLY_MESSAGE = 'audit_checkpoints is append-only';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'requests, audit log, conversations',
    sql: `
      CREATE TABLE requests (
        id          TEXT PRIMARY KEY,
        version     INTEGER NOT NULL CHECK (version >= 1),
        state       TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        body        TEXT NOT NULL CHECK (json_valid(body))
      );
      CREATE INDEX requests_state_expires ON requests (state, expires_at);
      CREATE INDEX requests_created ON requests (created_at);

      -- seq is the rowid: gapless from 1, assigned by the writer, checked by audit_log_chain.
      -- record is the record's RFC 8785 canonical JSON, hash included; the other columns are copies
      -- of fields in it, for filtering (verification recomputes from record and compares them).
      CREATE TABLE audit_log (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        time        TEXT NOT NULL,
        type        TEXT NOT NULL,
        request_id  TEXT,
        actor_id    TEXT,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL,
        record      TEXT NOT NULL
      );
      CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL;
      CREATE INDEX audit_log_actor ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;

      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_MESSAGE}'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_MESSAGE}'); END;
      CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
      WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
        OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_log WHERE seq = NEW.seq - 1), '${GENESIS_HASH}')
      BEGIN SELECT RAISE(ABORT, 'audit_log records must be appended in sequence, each linked to the previous one'); END;

      CREATE TABLE conversation_refs (
        conversation_id TEXT PRIMARY KEY,
        reference       TEXT NOT NULL CHECK (json_valid(reference))
      );

      CREATE TABLE card_messages (
        request_id      TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        activity_id     TEXT NOT NULL,
        UNIQUE (request_id, conversation_id, activity_id)
      );
      CREATE INDEX card_messages_request ON card_messages (request_id);
    `,
  },
  {
    version: 2,
    name: 'request versions, audit checkpoints, download links, export manifests',
    sql: `
      -- Every saved version of every request, written in the transaction that saves the request:
      -- the evidence bundle renders the card as it stood at each step from it.
      CREATE TABLE request_versions (
        request_id  TEXT NOT NULL,
        version     INTEGER NOT NULL,
        state       TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        body        TEXT NOT NULL CHECK (json_valid(body)),
        PRIMARY KEY (request_id, version)
      );
      -- Requests saved before this table existed keep at least the version they are at.
      INSERT INTO request_versions (request_id, version, state, updated_at, body)
        SELECT id, version, state, updated_at, body FROM requests;
      CREATE TRIGGER request_versions_no_update BEFORE UPDATE ON request_versions
      BEGIN SELECT RAISE(ABORT, 'request_versions is append-only'); END;
      CREATE TRIGGER request_versions_no_delete BEFORE DELETE ON request_versions
      BEGIN SELECT RAISE(ABORT, 'request_versions is append-only'); END;

      -- Signed statements of the chain head. Kept apart from audit_log so that cutting the log's
      -- tail does not take them along (they are also appended to a file, and to the log itself).
      CREATE TABLE audit_checkpoints (
        id          INTEGER PRIMARY KEY,
        seq         INTEGER NOT NULL,
        hash        TEXT NOT NULL,
        time        TEXT NOT NULL,
        key_id      TEXT NOT NULL,
        signature   TEXT NOT NULL,
        record_seq  INTEGER
      );
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
      BEGIN SELECT RAISE(ABORT, '${CHECKPOINTS_APPEND_ONLY_MESSAGE}'); END;
      CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
      BEGIN SELECT RAISE(ABORT, '${CHECKPOINTS_APPEND_ONLY_MESSAGE}'); END;

      -- Single-use download links. Only the SHA-256 of a link's secret is kept; used_at is set once.
      CREATE TABLE audit_downloads (
        token_hash  TEXT PRIMARY KEY,
        link_id     TEXT NOT NULL UNIQUE,
        link        TEXT NOT NULL CHECK (json_valid(link)),
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        used_at     TEXT,
        export_id   TEXT
      );
      CREATE TRIGGER audit_downloads_used_once BEFORE UPDATE OF used_at ON audit_downloads
      WHEN OLD.used_at IS NOT NULL
      BEGIN SELECT RAISE(ABORT, 'a download link can be used once'); END;
      CREATE TRIGGER audit_downloads_no_delete BEFORE DELETE ON audit_downloads
      BEGIN SELECT RAISE(ABORT, 'audit_downloads is append-only'); END;

      -- The signed manifest of every finished export.
      CREATE TABLE audit_exports (
        export_id   TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        manifest    TEXT NOT NULL CHECK (json_valid(manifest))
      );
    `,
  },
  {
    version: 3,
    name: 'the highest request version sent to each card message',
    sql: `
      -- Claimed (compare-and-swap) before a card update is sent: an update never goes out for a
      -- version older than, or the same as, one already sent to that card message.
      ALTER TABLE card_messages ADD COLUMN sent_version INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 4,
    name: 'delegations for absence',
    sql: `
      -- One row per delegation; body is the whole delegation as JSON, ended_at is set once when it
      -- is revoked or replaced (never deleted: the audit trail names these ids). Ids lowercase.
      CREATE TABLE delegations (
        id            TEXT PRIMARY KEY,
        delegator_id  TEXT NOT NULL,
        delegate_id   TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        until         TEXT NOT NULL,
        ended_at      TEXT,
        body          TEXT NOT NULL CHECK (json_valid(body))
      );
      CREATE INDEX delegations_open ON delegations (delegator_id, until) WHERE ended_at IS NULL;
      CREATE TRIGGER delegations_end_once BEFORE UPDATE OF ended_at ON delegations
      WHEN OLD.ended_at IS NOT NULL
      BEGIN SELECT RAISE(ABORT, 'a delegation ends once'); END;
      CREATE TRIGGER delegations_no_delete BEFORE DELETE ON delegations
      BEGIN SELECT RAISE(ABORT, 'delegations are kept'); END;
    `,
  },
  {
    version: 5,
    name: 'personal chats with Countersign, by person',
    sql: `
      -- How to reach a person in their personal chat with Countersign (approvers are told there):
      -- saved when they talk to the bot there, or when Countersign starts the chat. Ids lowercase.
      CREATE TABLE personal_conversations (
        tenant_id      TEXT NOT NULL,
        aad_object_id  TEXT NOT NULL,
        reference      TEXT NOT NULL CHECK (json_valid(reference)),
        PRIMARY KEY (tenant_id, aad_object_id)
      );
    `,
  },
  {
    version: 6,
    name: 'a lease on the card version claimed, held while its update travels to Teams',
    sql: `
      -- Who claimed sent_version and until when (ms since the epoch): while the lease is live no
      -- other holder sends a newer version, which could reach Teams before this one (card-claims.ts).
      ALTER TABLE card_messages ADD COLUMN lease_holder TEXT;
      ALTER TABLE card_messages ADD COLUMN lease_until INTEGER;
    `,
  },
  {
    version: 7,
    name: 'when a break-glass review falls due, for the overdue sweep',
    sql: `
      -- When something about a break-glass request falls due (breakGlassDueAt in
      -- src/domain/lifecycle/break-glass.ts: its review not yet escalated, or a round of messages
      -- announcing it still under way), NULL otherwise: the sweeps read these rows only, not every
      -- request that ever ended.
      ALTER TABLE requests ADD COLUMN review_due_at TEXT;
      UPDATE requests SET review_due_at = json_extract(body, '$.breakGlass.reviewDueAt')
        WHERE json_extract(body, '$.breakGlass') IS NOT NULL
          AND json_extract(body, '$.breakGlass.review') IS NULL
          AND json_extract(body, '$.breakGlass.overdueAt') IS NULL
          AND state NOT IN ('approved', 'executing');
      CREATE INDEX requests_review_due ON requests (review_due_at) WHERE review_due_at IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'requests by when they last changed, for the cards brought up to date at a start',
    sql: `
      -- Countersign.refreshCards reads the requests changed within the last day: by this index a
      -- range of recent rows, not a scan of every request that ever ended.
      CREATE INDEX requests_updated ON requests (updated_at);
    `,
  },
  {
    version: 9,
    name: 'records by actor without regard to the case of the object id',
    sql: `
      -- An object id is a GUID, one whatever the case of its letters, and records keep it as it came
      -- (Teams, a token): an export of a person's actions matches lower(actor_id), by this index.
      DROP INDEX audit_log_actor;
      CREATE INDEX audit_log_actor_folded ON audit_log (lower(actor_id), seq) WHERE actor_id IS NOT NULL;
    `,
  },
  {
    version: 10,
    name: 'requests by requester and state, for one open request per person and operation',
    sql: `
      -- A new request is compared with its requester's open ones on the same target
      -- (domain/same-operation.ts): by this index those rows only, not every request, nor every one
      -- of a person who has many open. The object id in lower case, as records keep it as it came.
      CREATE INDEX requests_requester ON requests (
        lower(json_extract(body, '$.requester.aadObjectId')), json_extract(body, '$.target.resourceGroup'), json_extract(body, '$.target.resourceId'), state
      );
    `,
  },
  {
    version: 11,
    name: 'break-glass uses waiting for their review, for pending',
    sql: `
      -- pending lists the break-glass uses nobody has ratified or flagged yet, escalated ones too
      -- (which review_due_at no longer holds): by this index those rows only, in the order listed,
      -- not the body of every request that ever ended. Its condition is the list's (REVIEW_WAITING in
      -- src/store/sqlite/requests.ts), word for word, so that SQLite reads it; every write of a
      -- request keeps it up to date, and its build fills it from the rows already there.
      CREATE INDEX requests_review_waiting ON requests (created_at)
        WHERE json_extract(body, '$.breakGlass') IS NOT NULL AND json_extract(body, '$.breakGlass.review') IS NULL;
    `,
  },
  {
    version: 12,
    name: 'requests whose outcome message is owed, for the sweep of owed messages',
    sql: `
      -- The sweep of owed outcome messages runs every 15 seconds over the requests changed within
      -- the last day: by this index the few whose message is still owed, not the body of every
      -- request that changed (hundreds of MB a sweep under load). Its condition is the list's
      -- (OUTCOME_MESSAGE_OWED in src/store/sqlite/requests.ts), word for word, so that SQLite reads
      -- it; every write of a request keeps it up to date, and its build fills it from the rows there.
      CREATE INDEX requests_outcome_owed ON requests (updated_at)
        WHERE json_extract(body, '$.outcomeMessage') IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: 'requests by requester and target, the target in any case',
    sql: `
      -- Migration 10's index held the target's group and resource id as written, and a request was
      -- compared with its requester's open ones on that exact target: \`vm restart VM-Web-01\` was not
      -- found to repeat \`vm restart vm-web-01\`, which Azure reads as the same (domain/same-operation.ts
      -- decides; the store hands it the candidates). Held in lower case (lower() folds ASCII letters),
      -- as SAME_TARGET in src/store/sqlite/write-ops.ts asks. The build reads every request once.
      DROP INDEX requests_requester;
      CREATE INDEX requests_requester ON requests (
        lower(json_extract(body, '$.requester.aadObjectId')), lower(json_extract(body, '$.target.resourceGroup')), lower(json_extract(body, '$.target.resourceId')), state
      );
    `,
  },
  {
    version: 14,
    name: 'requests by state in the order they were made, for reads a page at a time',
    sql: `
      -- The sweeps and the start read the requests of some states 500 at a time, oldest first
      -- (eachPage in src/app/sweep-each.ts): by the state index each page sorted every request of
      -- those states, reading each one's row for its created_at (10,000 waiting: 20 pages of about
      -- 50 ms). This index holds what a page's rowids are chosen by (about 5 ms a page).
      CREATE INDEX requests_state_created ON requests (state, created_at);
    `,
  },
  {
    version: 15,
    name: 'requests by when they last changed, holding their state and creation time, for the start\'s look at recent cards',
    sql: `
      -- The start reads the ended requests changed within the last day (Countersign.refreshCards) by
      -- requests_updated, then kept those of an ended state by reading each row: after a busy hour,
      -- ten thousand requests still waiting were read row by row to find the few ended (about 85 ms
      -- holding the event loop, right after the bot listens). With their state and creation time in
      -- the index, a page of that look is chosen from the index alone (about 2 ms). The name stays:
      -- the reads by it name it. The build reads every request once.
      DROP INDEX requests_updated;
      CREATE INDEX requests_updated ON requests (updated_at, state, created_at);
    `,
  },
];

export const CHECKPOINT_TRIGGERS = ['audit_checkpoints_no_update', 'audit_checkpoints_no_delete'] as const;

export const AUDIT_TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete', 'audit_log_chain'] as const;

const spaced = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** Each trigger as the migrations create it (the last definition of a name wins), spaces collapsed. */
const TRIGGER_SQL: ReadonlyMap<string, string> = new Map(
  MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE TRIGGER (\w+)[\s\S]*?\bEND\b/g)].map((x) => [x[1], spaced(x[0])] as const)),
);

/** The table a trigger of the migrations is on. */
const tableOf = (sql: string | undefined): string | undefined => sql?.match(/ ON (\w+) /)?.[1];

/**
 * Which of these triggers are gone, or are not the ones the migrations made (dropped and created
 * again under the same name with another body, that no longer refuses anything): named, the second
 * as "<name> (changed)". A trigger on their table that the migrations did not make is named too, as
 * "<name> (not Countersign's)": one doing RAISE(IGNORE) before an INSERT drops a record without an
 * error, the append-only triggers all in place.
 */
export function triggerProblems(db: Database.Database, names: readonly string[]): string[] {
  const rows = db.prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; tbl_name: string; sql: string | null }[];
  const stored = new Map(rows.map((t) => [t.name, spaced(t.sql ?? '')]));
  const tables = new Set(names.map((name) => tableOf(TRIGGER_SQL.get(name))));
  const foreign = rows.filter((t) => tables.has(t.tbl_name) && !TRIGGER_SQL.has(t.name)).map((t) => `${t.name} (not Countersign's)`);
  return [
    ...names.flatMap((name) => {
      const sql = stored.get(name);
      if (sql === undefined) return [name];
      return sql === TRIGGER_SQL.get(name) ? [] : [`${name} (changed)`];
    }),
    ...foreign,
  ];
}

/** Brings the schema up to date; returns the version it is at. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
  )`);
  const known = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const current = (): number =>
    (db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_migrations').pluck().get() as number) ?? 0;
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    // IMMEDIATE: two processes starting at once cannot both apply the same migration.
    db.transaction(() => {
      if (m.version <= current()) return;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
  const version = current();
  if (version > known) {
    throw new Error(`the database schema is at version ${version}, newer than this Countersign knows (${known}): upgrade Countersign`);
  }
  return version;
}
