/**
 * What both backends share of the event search: how a subject pattern becomes an index range.
 */
/** A subject condition: one value, or the half-open range `[low, high)` of a prefix. */
export type SubjectMatch = { equals: string } | { low: string; high: string };

/**
 * `orders/*` is every subject starting with `orders/`, any other value one subject exactly. The
 * range ends at the prefix with its last character incremented: in code-point (UTF-8 byte)
 * order, which both backends compare subjects in, that is the first string past every string
 * starting with the prefix, so the prefix is answered from the subject index as a range.
 *
 * @example
 * subjectMatch('orders/*') // { low: 'orders/', high: 'orders0' }
 */
export function subjectMatch(subject: string): SubjectMatch {
  if (!subject.endsWith('*')) return { equals: subject };
  const low = subject.slice(0, -1);
  const chars = [...low];
  const last = chars.pop()!.codePointAt(0)!;
  // The surrogate block holds no characters: the next one after U+D7FF is U+E000.
  const next = last === 0xd7ff ? 0xe000 : last + 1;
  return { low, high: chars.join('') + String.fromCodePoint(next) };
}
