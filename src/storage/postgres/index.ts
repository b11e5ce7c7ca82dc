/** The PostgreSQL backend's public surface: the store, its schema and migrations. */
export { checkSchemaName, DEFAULT_SCHEMA, redact } from './connection.js';
export {
  MigrationFailedError,
  MigrationSetupError,
  MigrationsPendingError,
  StoreUnavailableError,
} from './errors.js';
export {
  assertMigrated,
  type MigrateOptions,
  type MigrationInfo,
  migrate,
  pendingMigrations,
} from './migrate.js';
export type { Migration } from './migrations.js';
export { openPostgresStore, PostgresStore, type PostgresStoreOptions } from './store.js';
