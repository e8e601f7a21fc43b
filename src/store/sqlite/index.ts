export { openSqliteStore, SqliteStore } from './store';
export { WriterThreadBoot } from './writer-boot';
export { openSqliteAuditReader, NotACountersignDatabaseError } from './audit-reader';
export { verifySqliteAuditLog } from './verify-database';
export { MIGRATIONS, migrate } from './migrations';
export { missingCheckpointTriggers, readCheckpointTable, readRequestVersions, recordHashAt } from './compliance-reader';
export { backupSqliteStore, BackupTargetExistsError } from './backup';
export { lockDataDirectory, SharedIndexMissingError } from './instance-lock';
export { sqliteOpenProblem } from './open-problem';
