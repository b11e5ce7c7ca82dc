/**
 * What both backends share of the event search: how a subject pattern becomes an index range,
 * and which fields of an event are searched.
 */
import type { CloudEvent } from '../core/event.js';

/**
 * A subject condition: one value, or the range `[low, high)` of a prefix; `high` is null when no
 * string sorts past every string with the prefix (a prefix of U+10FFFF only).
 */
export type SubjectMatch = { equals: string } | { low: string; high: string | null };

/**
 * `orders/*` is every subject starting with `orders/`, any other value one subject exactly. The
 * range ends at the prefix with its last character incremented: in code-point (UTF-8 byte)
 * order, which both backends compare subjects in, that is the first string past every string
 * starting with the prefix, so the prefix is answered from the subject index as a range. A last
 * character of U+10FFFF has no successor: it is dropped and the one before it incremented.
 *
 * @example
 * subjectMatch('orders/*') // { low: 'orders/', high: 'orders0' }
 */
export function subjectMatch(subject: string): SubjectMatch {
  if (!subject.endsWith('*')) return { equals: subject };
  const low = subject.slice(0, -1);
  const chars = [...low];
  while (chars.length > 0) {
    const last = chars.pop()!.codePointAt(0)!;
    if (last === 0x10ffff) continue;
    // The surrogate block holds no characters: the next one after U+D7FF is U+E000.
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    return { low, high: chars.join('') + String.fromCodePoint(next) };
  }
  return { low, high: null };
}

/** A searched attribute as text: strings as they are, numbers written out, anything else absent. */
function attributeText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : null;
}

/**
 * The searched fields of an event, as a backend that stores them in columns of their own fills them
 * at append: the subject, the `correlationid` extension, and the trace id in `traceparent`
 * (`00-<trace id>-<parent id>-<flags>`).
 */
export function searchFields(event: CloudEvent): {
  subject: string | null;
  correlationid: string | null;
  traceid: string | null;
} {
  const traceparent = event.traceparent;
  return {
    subject: attributeText(event.subject),
    correlationid: attributeText(event.correlationid),
    traceid: typeof traceparent === 'string' && traceparent.length > 3 ? traceparent.slice(3, 35) : null,
  };
}

/**
 * How many matches make a subject prefix broad, for a page of `limit` among `span` sequence
 * numbers. A narrow prefix is answered by sorting the sequence numbers of its matches, read from
 * the subject index alone, a cost that grows with the matches `m`; a broad one by walking the
 * events backwards from the cursor and checking the prefix on each, about `limit * span / m` rows
 * when the matches are spread out. The two cost the same near `m = sqrt(limit * span)`: 10,000
 * matches for a page of 100 among a million events.
 */
export function broadPrefixMatches(limit: number, span: number): number {
  return Math.max(1000, Math.ceil(Math.sqrt(limit * Math.max(span, 0))));
}
