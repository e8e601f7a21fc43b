/**
 * What `audit verify` reports of the database around the chain, the same for every store: the
 * append-only triggers missing or disabled, requests deleted by hand (their saved versions outlive
 * their row), tables the applied migrations made that are gone, and indexes of the audit log that
 * are not as they made them or do not hold one entry for each record they must (reads of one
 * request's or one person's records go through them, so an index that leaves records out hides them
 * from those reads without changing a record). Each store reads its own catalog through the
 * `StoredSchema` port; the findings and their words are made here once.
 */

/** A request deleted outside Countersign, as its last saved version has it. */
export interface RequestWithoutRow {
  id: string;
  state: string;
  updatedAt: string;
}

/** An index of the audit log, judged against those the applied migrations made. */
export interface AuditIndex {
  name: string;
  /** As they made it; missing; its definition changed; or an index they did not make. */
  state: 'as-made' | 'missing' | 'changed' | 'unexpected';
  /** Its definition now (changed, unexpected). */
  now?: string;
  /** The statement that makes it as they did (missing, changed). */
  create?: string;
  /** An index filtered reads go through: the records that must each have one entry in it (those naming a request, or an actor). */
  holds?: 'requests' | 'actors';
  /** Its WHERE clause (those records), which a count through it is asked with. */
  where?: string;
}

/** A store's schema as verification reads it (read-only). */
export interface StoredSchema {
  /** The audit log's append-only triggers that are missing or disabled. */
  missingAuditTriggers(): Promise<string[]>;
  /** The tables there are now, and those the migrations recorded as applied created. */
  tables(): Promise<{ present: ReadonlySet<string>; created: readonly string[] }>;
  /** Requests whose row is gone while their versions remain (at most 100; asked only when both tables exist). */
  requestsWithoutRow(): Promise<RequestWithoutRow[]>;
  /** The indexes on audit_log (its constraints' own aside), each judged against the applied migrations. */
  auditIndexes(): Promise<AuditIndex[]>;
  /**
   * How many entries an index as made holds, read off the index itself (its entries, not the
   * table's rows), and how many of them belong to records past `lastSeq` (appended since the
   * verification read that far), both as of one moment; undefined when the database would not count
   * through it.
   */
  auditIndexEntries(index: AuditIndex, lastSeq: number): Promise<{ entries: number; past: number } | undefined>;
}

/** The part of a store's schema the indexes of the audit log are judged and counted through (the running bot looks at them too). */
export type AuditIndexSchema = Pick<StoredSchema, 'auditIndexes' | 'auditIndexEntries'>;

/** What the verification of the records saw, when the whole log verified intact (StoredLogVerification). */
export interface VerifiedRecords {
  lastSeq: number;
  named?: { requests: number; actors: number };
}

export interface SchemaFindings {
  /** Signs of interference that do not break the chain itself (the append-only triggers). */
  warnings: string[];
  /** Requests whose row is gone while their saved versions remain (deleted outside Countersign): at most 100, each as last saved. */
  requestsWithoutRow: RequestWithoutRow[];
  /** The requests table itself is gone (dropped) while the saved versions remain. */
  requestsTableMissing?: true;
  /** Other tables its applied migrations made that are gone (dropped or renamed). */
  missingTables: string[];
  /** Indexes of the audit log that reads may go through and that may leave records out: changed, not made by Countersign, or not holding one entry for each record they must. */
  indexProblems: string[];
}

const WHOSE = { requests: 'one request', actors: 'one person' } as const;
const NAMING = { requests: 'name a request', actors: 'name an actor' } as const;

/** What an index as made holds against the records it must hold one entry each of (`records.named`). */
async function indexCountProblem(schema: AuditIndexSchema, index: AuditIndex, records: VerifiedRecords): Promise<{ problem?: string; warning?: string }> {
  if (!index.holds || !records.named) return {};
  const counted = await schema.auditIndexEntries(index, records.lastSeq);
  if (counted === undefined) return { warning: `the index ${index.name} could not be counted through itself, so whether it holds all the records that ${NAMING[index.holds]} was not checked` };
  const { entries } = counted;
  const expected = records.named[index.holds] + counted.past;
  if (entries === expected) return {};
  const gap = Math.abs(expected - entries);
  const what =
    entries < expected
      ? `${gap} of them ${gap === 1 ? 'is' : 'are'} missing from it, hidden from whatever reads ${WHOSE[index.holds]}'s records through it`
      : `${gap} ${gap === 1 ? 'entry' : 'entries'} more than there are such records, for records that are not there or are another's`;
  return {
    problem: `the index ${index.name} holds ${entries} entries for the ${expected} records that ${NAMING[index.holds]}: ${what}. The records themselves are as verified; rebuild the index (REINDEX ${index.name}) and find out who changed it`,
  };
}

/** The audit log's indexes: changed, made by hand or not holding what they must are damage; one missing only a warning (reads then go through the table). */
export async function indexFindings(schema: AuditIndexSchema, records: VerifiedRecords | undefined): Promise<{ problems: string[]; warnings: string[] }> {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const index of await schema.auditIndexes()) {
    if (index.state === 'missing') {
      warnings.push(`the index ${index.name} of the audit log is missing (someone changed the database schema by hand): reads that went through it read the whole log instead; make it again: ${index.create}`);
    } else if (index.state === 'changed') {
      problems.push(`the index ${index.name} is not the one Countersign made (it reads "${index.now}"): reads through it may leave records out. Make it again: DROP INDEX ${index.name}; ${index.create}`);
    } else if (index.state === 'unexpected') {
      problems.push(`the index ${index.name} on audit_log was not made by Countersign ("${index.now}"): reads may go through it and leave records out, and what it holds is not checked. Drop it: DROP INDEX ${index.name}`);
    } else if (records) {
      const { problem, warning } = await indexCountProblem(schema, index, records);
      if (problem) problems.push(problem);
      if (warning) warnings.push(warning);
    }
  }
  return { problems, warnings };
}

/** How the PostgreSQL check names row-level security turned on for the table (Countersign never does). */
export const ROW_LEVEL_SECURITY = 'row-level security';

/**
 * The append-only protection found missing or changed, in words: the triggers by name (`(changed)`
 * when not as the migrations made them), and any rewrite rule added to the table (PostgreSQL:
 * `rule <name>`), which can drop or change what is written where no trigger is asked, Countersign's
 * functions whose body was replaced (PostgreSQL: `function <name> (changed)`), and row-level
 * security turned on for it (PostgreSQL).
 */
export function protectionFound(missing: readonly string[]): string {
  const rules = missing.filter((m) => m.startsWith('rule ')).map((m) => m.slice('rule '.length));
  const functions = missing.filter((m) => m.startsWith('function ')).map((m) => m.slice('function '.length));
  const secured = missing.includes(ROW_LEVEL_SECURITY);
  const triggers = missing.filter((m) => !m.startsWith('rule ') && !m.startsWith('function ') && m !== ROW_LEVEL_SECURITY);
  return [
    triggers.length ? `triggers: ${triggers.join(', ')}` : '',
    functions.length ? `functions that seal or guard what is written: ${functions.join(', ')}` : '',
    rules.length ? `rewrite rules added, which can drop or change what is written: ${rules.join(', ')}` : '',
    secured ? 'row-level security turned on, whose policies can hide records from the roles that read them' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * `records`: what the verification of the records saw; the indexes' entries are counted against it
 * only when the whole log verified intact (`named` given).
 */
export async function schemaFindings(schema: StoredSchema, records?: VerifiedRecords): Promise<SchemaFindings> {
  const missing = await schema.missingAuditTriggers();
  const warnings = missing.length
    ? [`the append-only protection of the audit log is missing or disabled (${protectionFound(missing)}): someone changed the database schema by hand`]
    : [];
  const indexes = await indexFindings(schema, records);
  warnings.push(...indexes.warnings);
  const { present, created } = await schema.tables();
  // Without the saved versions there is nothing to compare; without the requests table every row is gone.
  const requestsWithoutRow = present.has('request_versions') && present.has('requests') ? await schema.requestsWithoutRow() : [];
  const requestsTableMissing = present.has('request_versions') && !present.has('requests');
  // Every table its applied migrations made must still be there (a start refuses the database otherwise).
  const missingTables = created.filter((t) => !present.has(t) && t !== 'requests');
  return { warnings, requestsWithoutRow, missingTables, indexProblems: indexes.problems, ...(requestsTableMissing ? { requestsTableMissing: true as const } : {}) };
}
