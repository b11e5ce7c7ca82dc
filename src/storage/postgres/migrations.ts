/**
 * The numbered SQL migrations in `./migrations/`, read once from disk. The build copies the
 * folder beside the compiled code (`scripts/copy-sql.mjs`), so the same relative path works from
 * `src/` under vitest and from `dist/` in production.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { MigrationSetupError } from './errors.js';

/** One migration: its number, its name (the file name without `NNNN_` and `.sql`) and its SQL. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const DIR = new URL('./migrations/', import.meta.url);

/** `0001_initial` for display: the file name without `.sql`. */
export function label(m: Pick<Migration, 'version' | 'name'>): string {
  return `${String(m.version).padStart(4, '0')}_${m.name}`;
}

/**
 * Checks that versions run 1, 2, 3… without gap or repeat, so a misnamed file fails loudly
 * instead of being applied out of order or skipped.
 */
export function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new MigrationSetupError(`Migration ${label(m)} is out of sequence: expected number ${i + 1}.`);
    }
  });
}

let cached: readonly Migration[] | undefined;

/** The shipped migrations, in order. */
export function loadMigrations(): readonly Migration[] {
  if (cached) return cached;
  const migrations: Migration[] = [];
  for (const file of readdirSync(DIR).sort()) {
    const match = FILE.exec(file);
    if (!match) continue;
    migrations.push({
      version: Number(match[1]),
      name: match[2] ?? '',
      sql: readFileSync(new URL(file, DIR), 'utf8'),
    });
  }
  checkSequence(migrations);
  cached = migrations;
  return migrations;
}
