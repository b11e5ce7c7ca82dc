/**
 * JSON body parsing with a located error message. V8's `JSON.parse` messages name a position for
 * some errors and not for others (`Unexpected token '}', "{"a":}" is not valid JSON`), so on
 * failure a small scanner re-reads the text to find where it broke. The scanner runs only on the
 * error path; valid input costs one `JSON.parse`.
 */
import { MalformedRequestError, pointerToken, ValidationError } from './errors.js';

/**
 * Parses JSON text, or throws MalformedRequestError naming `what`, the line, column and position
 * (a 0-based character offset) of the first error.
 *
 * @example parseJsonText('{"a":}', 'the request body') // throws: ...line 1, column 6 (position 5)
 */
export function parseJsonText(text: string, what: string, pointer = ''): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const found = locateJsonError(text);
    if (found === undefined) {
      throw new MalformedRequestError(`${what} is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const before = text.slice(0, found.offset);
    const line = before.split('\n').length;
    const column = found.offset - before.lastIndexOf('\n');
    throw new MalformedRequestError(
      `${what} is not valid JSON: ${found.problem} at line ${line}, column ${column} (position ${found.offset})`,
      { cause: error },
    );
  }
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    const at = pointer + tooDeepPointer(text);
    const message = `nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted, so flatten the data`;
    throw new ValidationError(`${what} ${message}`, {
      errors: [{ pointer: at, message: `${at || '/'} ${message}` }],
    });
  }
  return value;
}

/**
 * How deep JSON may nest. JSON.parse takes any depth, but everything after it that walks a value
 * (JSON.stringify when storing, filters, transforms) recurses and would overflow the stack.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * The JSON pointer to the first array or object nested deeper than the limit, by a second scan of
 * the text that tracks the key or index inside each open container. Runs only on the error path.
 */
function tooDeepPointer(text: string): string {
  const frames: { array: boolean; token: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      const top = frames[frames.length - 1];
      if (top && !top.array) {
        let j = i + 1;
        while (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r') j++;
        if (text[j] === ':') top.token = JSON.parse(text.slice(start, i + 1)) as string;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (frames.length === MAX_JSON_DEPTH) return frames.map((f) => `/${pointerToken(f.token)}`).join('');
      frames.push({ array: c === 0x5b, token: c === 0x5b ? '0' : '' });
    } else if (c === 0x5d || c === 0x7d) {
      frames.pop();
    } else if (c === 0x2c) {
      const top = frames[frames.length - 1];
      if (top?.array) top.token = String(Number(top.token) + 1);
    }
  }
  return '';
}

/** The deepest nesting of arrays and objects in valid JSON text, skipping over strings. */
function nestingDepth(text: string): number {
  // Fast path: text with no more brackets than the limit cannot nest deeper than it. indexOf runs
  // natively, and most events have a handful of brackets in a kilobyte of text.
  let brackets = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i !== -1 && brackets <= MAX_JSON_DEPTH; i = text.indexOf(open, i + 1))
      brackets++;
  }
  if (brackets <= MAX_JSON_DEPTH) return brackets;
  // Slow path: jump from one bracket or quote to the next with a native search, and over each
  // string to its closing quote, rather than visiting every character in JS.
  let depth = 0;
  let max = 0;
  const structure = /["[\]{}]/g;
  for (let m = structure.exec(text); m !== null; m = structure.exec(text)) {
    const c = text.charCodeAt(m.index);
    if (c === 0x22) {
      structure.lastIndex = stringEnd(text, m.index) + 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else {
      depth--;
    }
  }
  return max;
}

/** The index of the quote closing the string that opens at `start`, in valid JSON text. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    if (end === -1) return text.length; // Unclosed: only in invalid text, which never gets here.
    // A quote is escaped when an odd number of backslashes precede it.
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

interface Located {
  offset: number;
  problem: string;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9A-Fa-f]{4}$/;

/** Finds the first syntax error in RFC 8259 JSON; undefined if there is none or nesting is too deep. */
function locateJsonError(text: string): Located | undefined {
  let i = 0;
  const fail = (problem: string): never => {
    throw { offset: i, problem } satisfies Located;
  };
  const describe = (): string => {
    const char = text[i];
    if (char === undefined) return 'unexpected end of input';
    const code = char.charCodeAt(0);
    return code > 0x20 && code < 0x7f
      ? `unexpected '${char}'`
      : `unexpected character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  };
  const skipSpace = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[i] !== char) fail(`${describe()} (expected ${word})`);
      i++;
    }
  };
  const string = () => {
    i++;
    for (;;) {
      const char = text[i];
      if (char === undefined) fail('unterminated string');
      if (char === '"') break;
      if (char === '\\') {
        const escaped = text[i + 1];
        if (escaped === 'u' && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) i += 2;
        else fail('invalid escape sequence in string');
      } else if (char!.charCodeAt(0) < 0x20) {
        fail('control character in string (escape it, e.g. \\n)');
      } else {
        i++;
      }
    }
    i++;
  };
  const container = (close: '}' | ']') => {
    i++;
    skipSpace();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      skipSpace();
      if (close === '}') {
        if (text[i] !== '"') fail(`${describe()} (expected a property name in double quotes)`);
        string();
        skipSpace();
        if (text[i] !== ':') fail(`${describe()} (expected ':')`);
        i++;
      }
      value();
      skipSpace();
      if (text[i] === ',') i++;
      else if (text[i] === close) break;
      else fail(`${describe()} (expected ',' or '${close}')`);
    }
    i++;
  };
  const value = () => {
    skipSpace();
    const char = text[i];
    if (char === '{') container('}');
    else if (char === '[') container(']');
    else if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail('invalid number');
      i = NUMBER.lastIndex;
    } else fail(describe());
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fail(`${describe()} after the end of the JSON value`);
    return undefined;
  } catch (thrown) {
    if (thrown instanceof RangeError) return undefined;
    return thrown as Located;
  }
}
