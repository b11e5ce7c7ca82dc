/**
 * A hook's URL secret. No-code tools can only paste a URL, so the secret travels in it; the hub
 * keeps only its sha256, which is enough to check it and useless to anyone who reads the store.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new URL secret: 32 random bytes in base64url, which needs no escaping in a query string. */
export function newHookSecret(): string {
  return `hks_${randomBytes(32).toString('base64url')}`;
}

/** The sha256 of a secret, in hex, as the store keeps it. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * Whether `given` is the secret whose hash is `hash`. Digests of equal length are compared in
 * constant time, so the answer's timing says nothing about how much of the secret was right.
 */
export function secretMatches(given: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'hex');
  const actual = createHash('sha256').update(given).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
