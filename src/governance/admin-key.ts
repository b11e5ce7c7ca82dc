/**
 * The bootstrap admin key: `JUNCTION_ADMIN_KEY` when set; otherwise generated on first start, printed
 * once, and kept in `<data>/admin.key` with mode 0600.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminKey {
  key: string;
  /** True when this start generated it: the only time it is shown. */
  generated: boolean;
}

export function loadAdminKey(dataDir: string, fromEnv: string | undefined): AdminKey {
  if (fromEnv) return { key: fromEnv, generated: false };
  const path = join(dataDir, 'admin.key');
  if (existsSync(path)) return { key: readFileSync(path, 'utf8').trim(), generated: false };
  const key = `jk_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key, generated: true };
}

/**
 * A checker for bearer tokens against the key, in constant time. Both sides are hashed so the
 * comparison does not leak the key's length either; the key's own hash is taken once.
 */
export function keyChecker(expected: string): (presented: string) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (presented) => timingSafeEqual(want, createHash('sha256').update(presented).digest());
}
