export { openPostgresStore, PostgresStore } from './store';
export { describeTarget, PostgresStartupError } from './connection';
export type { PostgresConnectionOptions } from './connection';
export { EXPECTED_SCHEMA_VERSION, POSTGRES_MIGRATIONS, RUNTIME_ROLE } from './migrations';
export type { MigrateMode } from './migrations';
export { openPostgresAuditReader } from './audit-reader';
export { verifyPostgresAuditLog } from './verify-database';
export { copySqliteToPostgres, TargetNotEmptyError } from './copy-from-sqlite';
export type { CopyProgress } from './copy-from-sqlite';
