/**
 * Splits a CESQL expression into tokens, each with its 0-based offset (spec §2).
 *
 * Words are not classified here: whether `in` is a keyword, `length` a function or `subject` an
 * attribute depends on what follows, which the parser knows.
 */

import { parseError } from './errors.js';

export type TokenType = 'word' | 'integer' | 'string' | 'operator' | 'lparen' | 'rparen' | 'comma' | 'end';

export interface Token {
  type: TokenType;
  /** The word or operator as written, the digits of an integer, or the unescaped string. */
  text: string;
  position: number;
}

const WORD_CHAR = /[A-Za-z0-9_]/;
const DIGITS = /^[0-9]+$/;
/** Whitespace between tokens; the spec's grammar leaves it implicit, so the ASCII set is used. */
const SPACE = new Set([' ', '\t', '\n', '\r', '\f', '\v']);
const TWO_CHAR_OPERATORS = new Set(['!=', '<>', '<=', '>=']);
const ONE_CHAR_OPERATORS = new Set(['+', '-', '*', '/', '%', '=', '<', '>']);

/**
 * Tokenizes an expression; throws a `parse` CesqlCompileError on a character that starts no token
 * or on an unterminated string.
 *
 * @example
 * tokenize("subject = 'a'").map((t) => t.type) // ['word', 'operator', 'string', 'end']
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (SPACE.has(c)) {
      i++;
      continue;
    }
    const start = i;
    if (WORD_CHAR.test(c)) {
      while (i < source.length && WORD_CHAR.test(source[i]!)) i++;
      const text = source.slice(start, i);
      tokens.push({ type: DIGITS.test(text) ? 'integer' : 'word', text, position: start });
    } else if (c === "'" || c === '"') {
      const { text, end } = readString(source, start);
      tokens.push({ type: 'string', text, position: start });
      i = end;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', text: c, position: start });
      i++;
    } else if (TWO_CHAR_OPERATORS.has(source.slice(i, i + 2))) {
      tokens.push({ type: 'operator', text: source.slice(i, i + 2), position: start });
      i += 2;
    } else if (ONE_CHAR_OPERATORS.has(c)) {
      tokens.push({ type: 'operator', text: c, position: start });
      i++;
    } else {
      throw parseError(`unexpected character ${JSON.stringify(c)}`, start);
    }
  }
  tokens.push({ type: 'end', text: '', position: source.length });
  return tokens;
}

/**
 * Reads a string literal starting at its quote. Only the quote that delimits the literal can be
 * escaped (spec §2.2: `\'` in `'…'`, `\"` in `"…"`); any other backslash is kept as written, so
 * that `LIKE` still sees its own `\%` and `\_` escapes.
 */
function readString(source: string, start: number): { text: string; end: number } {
  const quote = source[start]!;
  let text = '';
  let i = start + 1;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\' && source[i + 1] === quote) {
      text += quote;
      i += 2;
    } else if (c === quote) {
      return { text, end: i + 1 };
    } else {
      text += c;
      i++;
    }
  }
  throw parseError('unterminated string literal', start);
}
