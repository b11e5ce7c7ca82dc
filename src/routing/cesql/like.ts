/**
 * The `LIKE` pattern matcher (spec §3.4.3): `%` is any run of characters, `_` exactly one, and a
 * backslash before `%` or `_` (or before another backslash) makes it literal.
 *
 * Written as the classic two-pointer wildcard match rather than translated to a RegExp: a pattern
 * such as `%a%a%a%a%b` makes a backtracking regex engine explode, and routing runs it per event.
 * This matcher is O(text × pattern) in the worst case and linear in the common ones.
 */

type Element = string | typeof ANY_ONE | typeof ANY_RUN;

/** Any UTF-16 surrogate: text with none is its own sequence of code points. */
const SURROGATE = /[\uD800-\uDFFF]/;

const ANY_ONE = 1;
const ANY_RUN = 2;

export interface LikePattern {
  matches(text: string): boolean;
}

/**
 * Compiles a pattern once.
 *
 * @example
 * compileLike('a\\_b%').matches('a_bcd') // true
 */
export function compileLike(pattern: string): LikePattern {
  const chars = Array.from(pattern);
  const elements: Element[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    if (c === '\\' && (next === '%' || next === '_' || next === '\\')) {
      elements.push(next);
      i++;
    } else if (c === '%') {
      // Consecutive runs match the same as one; collapsing them keeps the matcher simple.
      if (elements[elements.length - 1] !== ANY_RUN) elements.push(ANY_RUN);
    } else if (c === '_') {
      elements.push(ANY_ONE);
    } else {
      elements.push(c);
    }
  }
  if (elements.every((e) => typeof e === 'string')) {
    const literal = elements.join('');
    return { matches: (text) => text === literal };
  }
  // The common shapes of a filter (`orders/%`, `%/paid`, `%gold%`) as plain string tests: the
  // general matcher splits the text into code points on every call.
  const inner = elements.slice(elements[0] === ANY_RUN ? 1 : 0, elements.at(-1) === ANY_RUN ? -1 : undefined);
  const literal = inner.every((e) => typeof e === 'string') ? inner.join('') : '';
  // Only for a literal without surrogates: matched by code unit, it then cannot start or end
  // inside a surrogate pair, so the answer is the one code points give.
  if (literal !== '' && !SURROGATE.test(literal)) {
    const leading = elements[0] === ANY_RUN;
    const trailing = elements.at(-1) === ANY_RUN;
    if (leading && trailing) return { matches: (text) => text.includes(literal) };
    if (leading) return { matches: (text) => text.endsWith(literal) };
    if (trailing) return { matches: (text) => text.startsWith(literal) };
  }
  // Code points, as the spec's characters; a text without surrogates is its own code points.
  return { matches: (text) => matchElements(elements, SURROGATE.test(text) ? Array.from(text) : text) };
}

function matchElements(elements: readonly Element[], text: ArrayLike<string>): boolean {
  let p = 0;
  let t = 0;
  // Where to resume after the last `%`: the element after it, and the text it has swallowed up to.
  let runElement = -1;
  let runText = 0;
  while (t < text.length) {
    const e = elements[p];
    if (e === ANY_RUN) {
      runElement = ++p;
      runText = t;
    } else if (e !== undefined && (e === ANY_ONE || e === text[t])) {
      p++;
      t++;
    } else if (runElement >= 0) {
      p = runElement;
      t = ++runText;
    } else {
      return false;
    }
  }
  while (elements[p] === ANY_RUN) p++;
  return p === elements.length;
}
