/**
 * Copies the PostgreSQL migrations (plain .sql files, which tsc ignores) beside the compiled code,
 * so `dist/storage/postgres/migrate.js` finds them at the same relative path as the sources do.
 * Run by `npm run build` after tsc.
 */
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/storage/postgres/migrations/', import.meta.url);
const to = new URL('../dist/storage/postgres/migrations/', import.meta.url);
// Cleared first so that a migration renamed or removed in src cannot linger in dist.
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
