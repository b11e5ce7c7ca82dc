/**
 * Identifiers: a prefix naming the kind, then a time-ordered, random suffix in Crockford base32
 * (48 bits of milliseconds, 80 random bits, as ULID lays them out), so ids sort by creation time and
 * can serve as paging cursors. Written here because it is a dozen lines and needs no dependency.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

let lastMs = -1;
let lastRandom: number[] = [];

/** A time-ordered id; ids made in the same millisecond still sort in the order they were made. */
export function newId(prefix: string, now = Date.now()): string {
  if (now <= lastMs) {
    // Increment the random part, keeping order within one millisecond.
    let i = lastRandom.length - 1;
    while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
    if (i >= 0) lastRandom[i]! += 1;
  } else {
    lastMs = now;
    lastRandom = Array.from(randomBytes(16), (b) => b % 32);
  }
  return `${prefix}_${encodeTime(lastMs)}${lastRandom.map((d) => ALPHABET[d]).join('')}`;
}

/** A Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
