/**
 * Names on the bus: streams, consumers and subjects, derived from the prefix, the channel, the
 * event type and the partition key. The scheme is documented in docs/distributed.md; changing it
 * orphans every stream and consumer already created, so treat it as a stored format.
 *
 * Subject of an event: `<prefix>.ev.<channel>.<bucket>.<type segment>.<type segment>…`
 * - `<channel>` is one token, escaped (channel names may contain `.`).
 * - `<bucket>` is `k00`…`k15`, a hash of the `partitionkey`, or `_` for an event without one; it
 *   comes before the type so that a consumer can take one bucket (`…orders.k03.>`) and a reader
 *   one type family (`…orders.*.com.acme.order.>`).
 * - Each `.`-separated segment of the type is one token, escaped, so the type's own hierarchy is
 *   the subject's and wildcards over type prefixes work.
 */
import { InvalidBusNameError } from './errors.js';

/** Partition buckets per channel. Part of the subject scheme: changing it reshuffles keys. */
export const PARTITION_BUCKETS = 16;

/** The bucket token of events without a `partitionkey`. */
export const UNKEYED_BUCKET = '_';

/** Prefixes and durable names: they appear as-is in stream and consumer names. */
const PLAIN_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const HEX = '0123456789ABCDEF';
const encoder = new TextEncoder();

/**
 * Escapes one subject token: `%`, `.`, `*`, `>`, space, control characters and every non-ASCII
 * byte become `%XX` (UTF-8 bytes, upper-case hex); an empty token becomes `%_`, which no escape
 * produces otherwise. The mapping is injective, so two types never share a subject. NATS tooling
 * mishandles non-ASCII subjects, hence the conservative set. Not for stream names: see
 * `escapeName`.
 *
 * @example escapeToken('order created') // 'order%20created'
 * @example escapeToken('a.b*') // 'a%2Eb%2A'
 */
export function escapeToken(value: string): string {
  if (value === '') return '%_';
  // Fast path: the usual type segment (`com`, `order-created`) needs no escaping.
  if (/^[A-Za-z0-9_:-]+$/.test(value)) return value;
  let out = '';
  for (const byte of encoder.encode(value)) {
    const plain =
      byte > 0x20 &&
      byte < 0x7f &&
      byte !== 0x25 && // %
      byte !== 0x2e && // .
      byte !== 0x2a && // *
      byte !== 0x3e && // >
      byte !== 0x2f && // / (path separator in stream names)
      byte !== 0x5c; // \ (path separator in stream names)
    out += plain ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 0x0f]}`;
  }
  return out;
}

/**
 * Escapes a channel name for a stream name: every byte other than `A-Z`, `a-z`, `0-9` and `-`
 * becomes `_XX` (UTF-8, upper-case hex), so `_` marks escapes only and the mapping is injective.
 * `%` cannot be used here: nats-server 2.9 builds ack reply subjects with the stream name inside a
 * format string, so a `%2E` in a stream name comes out as `%!E(…)` and breaks every ack (seen in
 * this project's tests).
 *
 * @example escapeName('orders.eu') // 'orders_2Eeu'
 */
export function escapeName(value: string): string {
  if (/^[A-Za-z0-9-]+$/.test(value)) return value;
  let out = '';
  for (const byte of encoder.encode(value)) {
    const plain = /[A-Za-z0-9-]/.test(String.fromCharCode(byte)) && byte < 0x80;
    out += plain ? String.fromCharCode(byte) : `_${HEX[byte >> 4]}${HEX[byte & 0x0f]}`;
  }
  return out;
}

/**
 * Checks a prefix or durable name: they name streams and consumers directly, so they are held to
 * the characters every NATS tool accepts rather than escaped.
 *
 * @example checkPlainName('junction', 'prefix') // 'junction'
 * @throws InvalidBusNameError when it has other characters or is empty or too long.
 */
export function checkPlainName(name: string, what: string): string {
  if (!PLAIN_NAME.test(name)) {
    throw new InvalidBusNameError(
      `${what} ${JSON.stringify(name)} must be 1-64 characters of A-Z, a-z, 0-9, "_" and "-"`,
    );
  }
  return name;
}

/**
 * The stream of a channel.
 *
 * @example streamName('jx', 'orders.eu') // 'jx_orders_2Eeu'
 */
export function streamName(prefix: string, channel: string): string {
  return `${prefix}_${escapeName(channel)}`;
}

/**
 * The durable consumer name: namespaced by the prefix, with the bucket for per-key consumers.
 *
 * @example consumerName('jx', 'router', 3) // 'jx_router_k03'
 */
export function consumerName(prefix: string, durable: string, bucket?: number): string {
  return bucket === undefined ? `${prefix}_${durable}` : `${prefix}_${durable}_${bucketToken(bucket)}`;
}

/**
 * Every subject of a channel: what its stream captures.
 *
 * @example channelSubjects('jx', 'orders') // 'jx.ev.orders.>'
 */
export function channelSubjects(prefix: string, channel: string): string {
  return `${prefix}.ev.${escapeToken(channel)}.>`;
}

/**
 * The subjects of one partition bucket of a channel (a per-key consumer's filter).
 *
 * @example bucketSubjects('jx', 'orders', UNKEYED_BUCKET) // 'jx.ev.orders._.>'
 */
export function bucketSubjects(prefix: string, channel: string, bucket: string): string {
  return `${prefix}.ev.${escapeToken(channel)}.${bucket}.>`;
}

/** `k00`…`k15`: the token of a bucket number. */
export function bucketToken(bucket: number): string {
  return `k${String(bucket).padStart(2, '0')}`;
}

/**
 * The bucket of a partition key: FNV-1a over its UTF-8 bytes, modulo the bucket count. FNV-1a is
 * used because it is stable across processes and versions (unlike any runtime hash) and cheap;
 * its distribution is ample for 16 buckets.
 *
 * @example partitionBucket('customer-42') // a number in 0..15, the same in every process
 */
export function partitionBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % PARTITION_BUCKETS;
}

/**
 * The subject of an event, from its channel, `partitionkey` and type.
 *
 * @example eventSubject('jx', 'orders', 'com.acme.order.created', undefined)
 * // 'jx.ev.orders._.com.acme.order.created'
 */
export function eventSubject(prefix: string, channel: string, type: string, partitionKey: unknown): string {
  const bucket =
    partitionKey === undefined || partitionKey === null || partitionKey === ''
      ? UNKEYED_BUCKET
      : bucketToken(partitionBucket(String(partitionKey)));
  const typeTokens = type.split('.').map(escapeToken).join('.');
  return `${prefix}.ev.${escapeToken(channel)}.${bucket}.${typeTokens}`;
}
