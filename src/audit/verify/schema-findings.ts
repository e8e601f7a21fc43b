/**
 * What `audit verify` reports of the database around the chain, the same for every store: the
 * append-only triggers missing or disabled, requests deleted by hand (their saved versions outlive
 * their row), and tables the applied migrations made that are gone. Each store reads its own
 * catalog through the `StoredSchema` port; the findings and their words are made here once.
 */

/** A request deleted outside Countersign, as its last saved version has it. */
export interface RequestWithoutRow {
  id: string;
  state: string;
  updatedAt: string;
}

/** A store's schema as verification reads it (read-only). */
export interface StoredSchema {
  /** The audit log's append-only triggers that are missing or disabled. */
  missingAuditTriggers(): Promise<string[]>;
  /** The tables there are now, and those the migrations recorded as applied created. */
  tables(): Promise<{ present: ReadonlySet<string>; created: readonly string[] }>;
  /** Requests whose row is gone while their versions remain (at most 100; asked only when both tables exist). */
  requestsWithoutRow(): Promise<RequestWithoutRow[]>;
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
}

export async function schemaFindings(schema: StoredSchema): Promise<SchemaFindings> {
  const missing = await schema.missingAuditTriggers();
  const warnings = missing.length
    ? [`the append-only protection of the audit log is missing or disabled (triggers: ${missing.join(', ')}): someone changed the database schema by hand`]
    : [];
  const { present, created } = await schema.tables();
  // Without the saved versions there is nothing to compare; without the requests table every row is gone.
  const requestsWithoutRow = present.has('request_versions') && present.has('requests') ? await schema.requestsWithoutRow() : [];
  const requestsTableMissing = present.has('request_versions') && !present.has('requests');
  // Every table its applied migrations made must still be there (a start refuses the database otherwise).
  const missingTables = created.filter((t) => !present.has(t) && t !== 'requests');
  return { warnings, requestsWithoutRow, missingTables, ...(requestsTableMissing ? { requestsTableMissing: true as const } : {}) };
}
