/**
 * A diagnostic preload (`node --import`) for bench/sqlite-commit.mjs only: in the storage writer
 * thread, runs `PRAGMA $BENCH_WRITER_PRAGMA` (e.g. `synchronous = OFF`) on the write connection
 * before its first commit, to isolate what one setting costs. Unlike the commit probe it DOES change
 * behaviour (synchronous=OFF gives up durability); never load it into a hub whose figures are
 * reported as Junction's.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const PRAGMA = process.env.BENCH_WRITER_PRAGMA;

if (!isMainThread && PRAGMA) {
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
  const { Writer } = await import(
    pathToFileURL(join(root, 'dist', 'storage', 'sqlite', 'write-ops.js')).href
  );
  const applied = new WeakSet();
  const original = Writer.prototype.commit;
  Writer.prototype.commit = function commit(ops) {
    if (!applied.has(this)) {
      applied.add(this);
      // The connection is private in TypeScript only; a diagnostic may reach it.
      this.db.pragma(PRAGMA);
    }
    return original.call(this, ops);
  };
}
