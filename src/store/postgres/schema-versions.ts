/**
 * The PostgreSQL schema, version by version: each numbered migration's SQL (applied by
 * migrations.ts), the runtime role's grants, and the triggers that keep the audit tables
 * append-only. What verification and readiness compare the database with is drawn from these in
 * schema-protection.ts. Shipped migrations never change: a change is a new version.
 *
 * The tables mirror the SQLite schema column for column (the stored texts are the same bytes), with
 * time columns in the "C" collation so they compare as the ISO-8601 text they are.
 */
import { GENESIS_HASH } from '../../domain/audit';
import { CHAIN_LOCK } from './chain-append';

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

/** The role the bot runs as: INSERT and SELECT on the audit tables, nothing more there. */
export const RUNTIME_ROLE = 'countersign_runtime';

/** Grants the runtime role these privileges on a table, where the role exists (it is created by migration 1 when it may be). */
function grantRuntime(privileges: string, table: string): string {
  return `DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
          GRANT ${privileges} ON ${table} TO ${RUNTIME_ROLE};
        END IF;
      END $$;`;
}

const appendOnly = (table: string) => `
  CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
  CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
  CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only();`;

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'requests, audit log, conversations, request versions, checkpoints, download links, exports',
    sql: `
      CREATE FUNCTION countersign_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
      END $$;

      CREATE TABLE requests (
        id          text PRIMARY KEY,
        version     integer NOT NULL CHECK (version >= 1),
        state       text NOT NULL,
        expires_at  text COLLATE "C" NOT NULL,
        created_at  text COLLATE "C" NOT NULL,
        updated_at  text COLLATE "C" NOT NULL,
        body        text NOT NULL,
        -- Insertion order, to break ties between requests created in the same millisecond.
        ord         bigint GENERATED ALWAYS AS IDENTITY UNIQUE
      );
      CREATE INDEX requests_state_expires ON requests (state, expires_at);
      CREATE INDEX requests_created ON requests (created_at, ord);

      -- seq is assigned by the writer under the chain lock (never by a sequence, whose values commit
      -- out of order); record is the sealed canonical JSON exactly as SQLite stores it.
      CREATE TABLE audit_log (
        seq         bigint PRIMARY KEY CHECK (seq >= 1),
        id          text NOT NULL UNIQUE,
        time        text COLLATE "C" NOT NULL,
        type        text NOT NULL,
        request_id  text,
        actor_id    text,
        prev_hash   text NOT NULL,
        hash        text NOT NULL,
        record      text NOT NULL
      );
      CREATE INDEX audit_log_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL;
      CREATE INDEX audit_log_actor ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;
      ${appendOnly('audit_log')}

      CREATE FUNCTION countersign_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        head_seq bigint;
        head_hash text;
      BEGIN
        SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
        IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1
           OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '${GENESIS_HASH}') THEN
          RAISE EXCEPTION 'audit_log records must be appended in sequence, each linked to the previous one (record %, head %)', NEW.seq, COALESCE(head_seq, 0)
            USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION countersign_audit_chain();

      -- Takes the chain lock, then reads the head: one round trip instead of two. VOLATILE, so the
      -- head is read with a snapshot taken after the lock was granted (never a stale head).
      CREATE FUNCTION countersign_lock_chain() RETURNS TABLE (seq bigint, hash text) LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(${CHAIN_LOCK});
        RETURN QUERY SELECT a.seq, a.hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
      END $$;

      CREATE TABLE conversation_refs (
        conversation_id text PRIMARY KEY,
        reference       text NOT NULL
      );

      CREATE TABLE card_messages (
        request_id      text NOT NULL,
        conversation_id text NOT NULL,
        activity_id     text NOT NULL,
        ord             bigint GENERATED ALWAYS AS IDENTITY,
        UNIQUE (request_id, conversation_id, activity_id)
      );
      CREATE INDEX card_messages_request ON card_messages (request_id, ord);

      CREATE TABLE request_versions (
        request_id  text NOT NULL,
        version     integer NOT NULL,
        state       text NOT NULL,
        updated_at  text COLLATE "C" NOT NULL,
        body        text NOT NULL,
        PRIMARY KEY (request_id, version)
      );
      ${appendOnly('request_versions')}

      CREATE TABLE audit_checkpoints (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        seq         bigint NOT NULL,
        hash        text NOT NULL,
        time        text COLLATE "C" NOT NULL,
        key_id      text NOT NULL,
        signature   text NOT NULL,
        record_seq  bigint
      );
      ${appendOnly('audit_checkpoints')}

      CREATE TABLE audit_downloads (
        token_hash  text PRIMARY KEY,
        link_id     text NOT NULL UNIQUE,
        link        text NOT NULL,
        created_at  text COLLATE "C" NOT NULL,
        expires_at  text COLLATE "C" NOT NULL,
        used_at     text,
        export_id   text
      );
      CREATE FUNCTION countersign_download_used_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a download link can be used once' USING ERRCODE = 'integrity_constraint_violation';
      END $$;
      CREATE TRIGGER audit_downloads_used_once BEFORE UPDATE OF used_at ON audit_downloads
        FOR EACH ROW WHEN (OLD.used_at IS NOT NULL) EXECUTE FUNCTION countersign_download_used_once();
      CREATE TRIGGER audit_downloads_no_delete BEFORE DELETE ON audit_downloads FOR EACH ROW EXECUTE FUNCTION countersign_append_only();

      CREATE TABLE audit_exports (
        export_id   text PRIMARY KEY,
        created_at  text COLLATE "C" NOT NULL,
        manifest    text NOT NULL
      );
      ${appendOnly('audit_exports')}

      -- Forms in progress (botbuilder dialog state), shared so any instance can continue one.
      CREATE TABLE dialog_state (
        key         text PRIMARY KEY,
        value       text NOT NULL,
        etag        text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      -- The runtime role. Created when the migrating role may create roles (roles belong to the
      -- whole server, so another database may have created it already); otherwise an administrator
      -- creates it and runs these grants (docs/postgresql.md).
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
          BEGIN
            CREATE ROLE ${RUNTIME_ROLE} NOLOGIN;
          EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN
            RAISE NOTICE 'role ${RUNTIME_ROLE} not created here: %', SQLERRM;
          END;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${RUNTIME_ROLE}', current_schema());
          GRANT SELECT ON schema_migrations TO ${RUNTIME_ROLE};
          GRANT SELECT, INSERT ON audit_log, audit_checkpoints, request_versions, audit_exports TO ${RUNTIME_ROLE};
          GRANT SELECT, INSERT, UPDATE ON requests, conversation_refs, card_messages TO ${RUNTIME_ROLE};
          GRANT SELECT, INSERT, UPDATE, DELETE ON dialog_state TO ${RUNTIME_ROLE};
          GRANT SELECT, INSERT ON audit_downloads TO ${RUNTIME_ROLE};
          GRANT UPDATE (used_at, export_id) ON audit_downloads TO ${RUNTIME_ROLE};
        END IF;
      END $$;
    `,
  },
  {
    version: 2,
    name: 'the highest request version sent to each card message',
    sql: `
      -- Claimed (compare-and-swap) before a card update is sent, by whichever instance sends it:
      -- no instance sends a card version older than, or the same as, one another instance sent.
      -- The runtime role already holds UPDATE on card_messages (migration 1).
      ALTER TABLE card_messages ADD COLUMN sent_version integer NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 3,
    name: 'delegations for absence',
    sql: `
      -- One row per delegation; body is the whole delegation as JSON text, ended_at is set once when
      -- it is revoked or replaced (never deleted: the audit trail names these ids). Ids lowercase.
      -- Writes take an advisory lock per delegator, so two instances never both add one (transactions.ts).
      CREATE TABLE delegations (
        id            text PRIMARY KEY,
        delegator_id  text NOT NULL,
        delegate_id   text NOT NULL,
        created_at    text NOT NULL,
        until         text NOT NULL,
        ended_at      text,
        body          text NOT NULL
      );
      CREATE INDEX delegations_open ON delegations (delegator_id, until) WHERE ended_at IS NULL;
      ${grantRuntime('SELECT, INSERT, UPDATE', 'delegations')}
    `,
  },
  {
    version: 4,
    name: 'personal chats with Countersign, by person',
    sql: `
      -- How to reach a person in their personal chat with Countersign (approvers are told there):
      -- saved when they talk to the bot there, or when Countersign starts the chat. Ids lowercase.
      CREATE TABLE personal_conversations (
        tenant_id      text NOT NULL,
        aad_object_id  text NOT NULL,
        reference      text NOT NULL,
        PRIMARY KEY (tenant_id, aad_object_id)
      );
      ${grantRuntime('SELECT, INSERT, UPDATE', 'personal_conversations')}
    `,
  },
  {
    version: 5,
    name: 'a lease on the card version claimed, held while its update travels to Teams',
    sql: `
      -- Who claimed sent_version and until when (the database's clock, shared by the instances):
      -- while the lease is live no other instance sends a newer version, which could reach Teams
      -- before this one. A lease not released (its instance died) ends at lease_until.
      ALTER TABLE card_messages ADD COLUMN lease_holder text, ADD COLUMN lease_until timestamptz;
    `,
  },
  {
    version: 6,
    name: 'appends sealed in the database, under the chain lock',
    sql: `
      -- Takes the chain lock, reads the head and seals and inserts each record of a batch from the
      -- template the application made (src/audit/chain/chain.ts, sealTemplate): the placeholders of
      -- seq and prevHash replaced, SHA-256 of the text without its hash member, the hash put in. So
      -- the lock is held by the server alone (no round trip to the application) until COMMIT, sent
      -- in the same query. Invoker's rights: the runtime role's INSERT on audit_log.
      CREATE FUNCTION countersign_append_sealed(
        templates text[], ids text[], times text[], types text[], request_ids text[], actor_ids text[],
        seq_placeholder text, prev_placeholder text, hash_placeholder text)
      RETURNS TABLE (appended_seq bigint, appended_prev_hash text, appended_hash text) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        head_seq bigint;
        head_hash text;
        record_text text;
        record_hash text;
      BEGIN
        PERFORM pg_advisory_xact_lock(${CHAIN_LOCK});
        SELECT a.seq, a.hash INTO head_seq, head_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
        head_seq := COALESCE(head_seq, 0);
        head_hash := COALESCE(head_hash, '${GENESIS_HASH}');
        FOR i IN 1 .. COALESCE(array_length(templates, 1), 0) LOOP
          record_text := replace(replace(templates[i], '"' || seq_placeholder || '"', (head_seq + 1)::text), prev_placeholder, head_hash);
          record_hash := encode(sha256(convert_to(replace(record_text, '"hash":"' || hash_placeholder || '",', ''), 'UTF8')), 'hex');
          INSERT INTO audit_log (seq, id, time, type, request_id, actor_id, prev_hash, hash, record)
            VALUES (head_seq + 1, ids[i], times[i], types[i], request_ids[i], actor_ids[i], head_hash, record_hash, replace(record_text, hash_placeholder, record_hash));
          appended_prev_hash := head_hash;
          head_seq := head_seq + 1;
          head_hash := record_hash;
          appended_seq := head_seq;
          appended_hash := record_hash;
          RETURN NEXT;
        END LOOP;
      END $$;
    `,
  },
  {
    version: 7,
    name: 'when a break-glass review falls due, for the overdue sweep',
    sql: `
      -- The same column as SQLite migration 7: the overdue sweep's rows only.
      ALTER TABLE requests ADD COLUMN review_due_at text;
      UPDATE requests SET review_due_at = body::jsonb #>> '{breakGlass,reviewDueAt}'
        WHERE body::jsonb -> 'breakGlass' IS NOT NULL
          AND body::jsonb #> '{breakGlass,review}' IS NULL
          AND body::jsonb #> '{breakGlass,overdueAt}' IS NULL
          AND state NOT IN ('approved', 'executing');
      CREATE INDEX requests_review_due ON requests (review_due_at) WHERE review_due_at IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'requests by when they last changed, for the cards brought up to date at a start',
    sql: `
      -- The same index as SQLite migration 8: the start's card refresh reads recent rows only.
      CREATE INDEX requests_updated ON requests (updated_at);
    `,
  },
  {
    version: 9,
    name: 'functions that read only the schema they belong to; a download link\'s export set once',
    sql: `
      -- A download link's export, like its use, is recorded once: the runtime role holds UPDATE of
      -- export_id (to record the export its link served), not to point a used link at another.
      CREATE FUNCTION countersign_download_export_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a download link''s export is recorded once' USING ERRCODE = 'integrity_constraint_violation';
      END $$;
      CREATE TRIGGER audit_downloads_export_once BEFORE UPDATE OF export_id ON audit_downloads
        FOR EACH ROW WHEN (OLD.export_id IS NOT NULL) EXECUTE FUNCTION countersign_download_export_once();

      -- Each function of Countersign's runs with its own schema first and pg_temp last: a session's
      -- temporary table named audit_log (any role may make one) can no longer stand in for the real
      -- one where the chain's trigger reads the head, and let a record that does not continue the
      -- chain in.
      DO $$
      DECLARE f record;
      BEGIN
        FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                 WHERE p.pronamespace = quote_ident(current_schema())::regnamespace AND p.proname LIKE 'countersign\\_%' LOOP
          EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f.sig, current_schema());
        END LOOP;
      END $$;
    `,
  },
  {
    version: 10,
    name: 'records by actor without regard to the case of the object id',
    sql: `
      -- The same index as SQLite migration 9: an export of a person's actions matches
      -- lower(actor_id), whatever the case the object id came in. Built before the old one is
      -- dropped: the build holds writes to audit_log (not reads) for its length, about 2 s a million
      -- records; the DROP's exclusive lock then lasts only to the commit right after it.
      CREATE INDEX audit_log_actor_folded ON audit_log (lower(actor_id), seq) WHERE actor_id IS NOT NULL;
      DROP INDEX audit_log_actor;
    `,
  },
  {
    version: 11,
    name: 'an append fails when a record it sealed is not in audit_log',
    sql: `
      -- The same function as migration 6, but each INSERT must give back the row it stored (RETURNING)
      -- with the seq and hash sealed, and the batch must be in audit_log at the end: a rule or a
      -- trigger that is not Countersign's and drops an INSERT (DO INSTEAD NOTHING, a BEFORE trigger
      -- returning NULL) or changes the row made the append answer records that were not stored, and
      -- the bot took them as appended. Now the append raises and its write (the request's change with
      -- it) is rolled back, naming the cause (any rewrite rule on audit_log first: with one, an INSERT
      -- cannot say what it stored). Same arguments and result: running instances keep calling
      -- it as before. Its search_path is set again as migration 9 set it (a replaced function loses it).
      CREATE OR REPLACE FUNCTION countersign_append_sealed(
        templates text[], ids text[], times text[], types text[], request_ids text[], actor_ids text[],
        seq_placeholder text, prev_placeholder text, hash_placeholder text)
      RETURNS TABLE (appended_seq bigint, appended_prev_hash text, appended_hash text) LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        head_seq bigint;
        head_hash text;
        first_seq bigint;
        record_text text;
        record_hash text;
        stored_seq bigint;
        stored_hash text;
        stored_count bigint;
        rules text;
      BEGIN
        PERFORM pg_advisory_xact_lock(${CHAIN_LOCK});
        SELECT a.seq, a.hash INTO head_seq, head_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
        head_seq := COALESCE(head_seq, 0);
        head_hash := COALESCE(head_hash, '${GENESIS_HASH}');
        first_seq := head_seq + 1;
        -- A rewrite rule on audit_log (Countersign makes none) can drop or redirect the INSERT.
        SELECT string_agg(r.rulename, ', ' ORDER BY r.rulename) INTO rules FROM pg_rewrite r WHERE r.ev_class = 'audit_log'::regclass;
        IF rules IS NOT NULL THEN
          RAISE EXCEPTION 'the audit records were not appended: audit_log has rewrite rules that are not Countersign''s (%), which can drop or change what is written; nothing was changed. Run countersign audit verify, which names them, and drop them', rules
            USING ERRCODE = 'data_corrupted';
        END IF;
        FOR i IN 1 .. COALESCE(array_length(templates, 1), 0) LOOP
          record_text := replace(replace(templates[i], '"' || seq_placeholder || '"', (head_seq + 1)::text), prev_placeholder, head_hash);
          record_hash := encode(sha256(convert_to(replace(record_text, '"hash":"' || hash_placeholder || '",', ''), 'UTF8')), 'hex');
          stored_seq := NULL;
          stored_hash := NULL;
          INSERT INTO audit_log AS a (seq, id, time, type, request_id, actor_id, prev_hash, hash, record)
            VALUES (head_seq + 1, ids[i], times[i], types[i], request_ids[i], actor_ids[i], head_hash, record_hash, replace(record_text, hash_placeholder, record_hash))
            RETURNING a.seq, a.hash INTO stored_seq, stored_hash;
          IF stored_seq IS DISTINCT FROM head_seq + 1 OR stored_hash IS DISTINCT FROM record_hash THEN
            RAISE EXCEPTION 'the audit record % (%) was not stored in audit_log as sealed: PostgreSQL ran its INSERT without an error and % (a rule or trigger on audit_log that is not Countersign''s); nothing was changed. Run countersign audit verify, which names it, and drop it',
              head_seq + 1, types[i], CASE WHEN stored_seq IS NULL THEN 'stored nothing' ELSE 'stored another row' END
              USING ERRCODE = 'data_corrupted';
          END IF;
          appended_prev_hash := head_hash;
          head_seq := head_seq + 1;
          head_hash := record_hash;
          appended_seq := head_seq;
          appended_hash := record_hash;
          RETURN NEXT;
        END LOOP;
        SELECT count(*) INTO stored_count FROM audit_log a WHERE a.seq >= first_seq AND a.seq <= head_seq;
        IF stored_count <> head_seq - first_seq + 1 THEN
          RAISE EXCEPTION 'the audit records % to % were not all in audit_log at the end of their append (% of %): a rule or trigger on audit_log that is not Countersign''s removed some; nothing was changed. Run countersign audit verify, which names it, and drop it',
            first_seq, head_seq, stored_count, head_seq - first_seq + 1
            USING ERRCODE = 'data_corrupted';
        END IF;
      END $$;
      DO $$
      BEGIN
        EXECUTE format('ALTER FUNCTION countersign_append_sealed(text[], text[], text[], text[], text[], text[], text, text, text) SET search_path = %I, pg_temp', current_schema());
      END $$;
    `,
  },
  {
    version: 12,
    name: 'requests by requester and state, for one open request per person and operation',
    sql: `
      -- The same index as SQLite migration 10: a new request is compared with its requester's open
      -- ones on the same target only.
      CREATE INDEX requests_requester ON requests (lower(body::jsonb #>> '{requester,aadObjectId}'), (body::jsonb -> 'target'), state);
    `,
  },
  {
    version: 13,
    name: 'break-glass uses waiting for their review, for pending',
    sql: `
      -- The same index as SQLite migration 11: pending lists the break-glass uses nobody has ratified
      -- or flagged yet, escalated ones too (which review_due_at no longer holds), by these rows only,
      -- not by the body of every request that ever ended. Its condition is the list's (REVIEW_WAITING
      -- in src/store/postgres/requests.ts), so that PostgreSQL reads it. The build reads every
      -- request once and holds writes to requests (not reads) for its length.
      CREATE INDEX requests_review_waiting ON requests (created_at, ord)
        WHERE (body::jsonb -> 'breakGlass') IS NOT NULL AND (body::jsonb #> '{breakGlass,review}') IS NULL;
    `,
  },
  {
    version: 14,
    name: 'requests whose outcome message is owed, for the sweep of owed messages',
    sql: `
      -- The same index as SQLite migration 12: the sweep of owed outcome messages (every 15 seconds,
      -- over the requests changed within the last day) reads the few whose message is still owed,
      -- not the body of every request that changed. Its condition is the list's
      -- (OUTCOME_MESSAGE_OWED in src/store/postgres/requests.ts), so that PostgreSQL reads it. The
      -- build reads every request once and holds writes to requests (not reads) for its length.
      CREATE INDEX requests_outcome_owed ON requests (updated_at)
        WHERE (body::jsonb -> 'outcomeMessage') IS NOT NULL;
    `,
  },
  {
    version: 15,
    name: 'requests by requester and a hash of the target in lower case, for targets of any length and in any case',
    sql: `
      -- Migration 12's index held the target itself: a btree entry holds at most 2704 bytes, and a
      -- target whose id is made of several parameters (200 characters each, three bytes apiece in
      -- UTF-8 when a config gives them no pattern) is longer, so such a request could not be saved
      -- here while SQLite kept it. The index holds a hash of the target instead (TARGET_KEY in
      -- src/store/postgres/requests.ts), and the query compares the targets themselves as well. In
      -- lower case (ASCII letters, as SQLite's migration 13): Azure reads VM-Web-01 as vm-web-01, and
      -- a request on one was not found to repeat one on the other (domain/same-operation.ts decides;
      -- the store hands it the candidates). The build reads every request once and holds writes to
      -- requests (not reads) for its length.
      DROP INDEX requests_requester;
      CREATE INDEX requests_requester ON requests (lower(body::jsonb #>> '{requester,aadObjectId}'), hashtextextended(lower((body::jsonb -> 'target')::text COLLATE "C"), 0), state);
    `,
  },
  {
    version: 16,
    name: 'requests by state in the order they were made, for reads a page at a time',
    sql: `
      -- As SQLite's migration 14: the sweeps and the start read the requests of some states 500 at
      -- a time, oldest first (eachPage in src/app/sweep-each.ts); by this index a page is the next
      -- entries of each state, not every request of those states sorted again. The build reads
      -- every request once and holds writes to requests (not reads) for its length.
      CREATE INDEX requests_state_created ON requests (state, created_at, ord);
    `,
  },
];

export const EXPECTED_SCHEMA_VERSION = POSTGRES_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
