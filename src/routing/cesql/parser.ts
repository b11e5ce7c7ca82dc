/**
 * Parses tokens into an AST whose nodes carry their 0-based source positions (spec §2).
 *
 * Precedence follows the reference grammar that the CloudEvents SDKs share (Go, Java), so that an
 * expression means the same in Junction as in Knative: from tightest to loosest, function calls
 * and literals; unary `NOT` and `-`; `LIKE` and `IN`; `* / %`; `+ -`; comparisons; and `AND`, `OR`,
 * `XOR` at one level, grouped to the right. Note that this makes `NOT a = b` mean `(NOT a) = b`
 * and `a AND b OR c` mean `a AND (b OR c)`: parentheses say what is meant.
 *
 * Chains of one precedence level become one flat node, not a deep tree, so a long
 * `a = 1 OR a = 2 OR …` costs no stack; only parentheses, unary operators and calls nest, and
 * they are bounded by MAX_DEPTH.
 */

import { CesqlCompileError, parseError } from './errors.js';
import { type CesqlFunction, isFunctionName, resolveFunction } from './functions.js';
import { type Token, tokenize } from './lexer.js';
import { compileLike, type LikePattern } from './like.js';
import { type CesqlValue, INT32_MAX } from './types.js';

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';
export type ComparisonOperator = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=';
export type LogicOperator = 'AND' | 'OR' | 'XOR';

export type Node =
  | { kind: 'literal'; value: CesqlValue; position: number }
  | { kind: 'attribute'; name: string; position: number }
  | { kind: 'exists'; name: string; position: number }
  | { kind: 'not'; operand: Node; position: number }
  | { kind: 'negate'; operand: Node; position: number }
  | { kind: 'like'; operand: Node; pattern: LikePattern; negated: boolean; position: number }
  | { kind: 'in'; operand: Node; set: Node[]; negated: boolean; position: number }
  | { kind: 'arithmetic'; operands: Node[]; operators: ArithmeticOperator[]; positions: number[] }
  | { kind: 'comparison'; operands: Node[]; operators: ComparisonOperator[]; positions: number[] }
  | { kind: 'logic'; operands: Node[]; operators: LogicOperator[]; positions: number[] }
  | { kind: 'call'; fn: CesqlFunction; args: Node[]; position: number };

/** Beyond this many nested levels an expression is refused, so neither parsing nor evaluation can overflow the stack. */
export const MAX_DEPTH = 200;
/** The longest LIKE pattern: a filter's patterns are short, and each character is work per event. */
export const MAX_LIKE_PATTERN = 256;
/** Longer expressions are refused before any work is done: a filter has no reason to be this large. */
export const MAX_LENGTH = 64 * 1024;

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'IN', 'EXISTS', 'TRUE', 'FALSE']);
/** Attribute names follow the CloudEvents naming convention (spec §2.2): lowercase letters and digits. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
/** Function names are letters and underscores, starting with a letter (spec §2.4). */
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;
const COMPARISONS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);

/**
 * Parses a whole expression; throws a CesqlCompileError (`parse` or `missingFunction`) with the
 * position of the problem.
 *
 * @example
 * parse('EXISTS subject AND subject LIKE "orders/%"').kind // 'logic'
 */
export function parse(source: string): Node {
  if (source.length > MAX_LENGTH) {
    throw parseError(`the expression is longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
  }
  const parser = new Parser(tokenize(source));
  const node = parser.expression();
  parser.expectEnd();
  return node;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    // The token list always ends with an `end` token, and the parser never steps past it.
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.type === 'word' && token.text.toUpperCase() === keyword;
  }

  private unexpected(token: Token, expected: string): CesqlCompileError {
    const found = token.type === 'end' ? 'the end of the expression' : `'${token.text}'`;
    return parseError(`expected ${expected} but found ${found}`, token.position);
  }

  /** Counts one level of nesting, refusing the expression past MAX_DEPTH. */
  private nested<T>(position: number, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) {
      throw parseError(`the expression is nested more than ${MAX_DEPTH} levels deep`, position);
    }
    const node = parse();
    this.depth--;
    return node;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end') throw this.unexpected(token, 'an operator or the end of the expression');
  }

  expression(): Node {
    return this.logic();
  }

  private logic(): Node {
    const operands = [this.comparison()];
    const operators: LogicOperator[] = [];
    const positions: number[] = [];
    for (;;) {
      const token = this.peek();
      const op = token.type === 'word' ? token.text.toUpperCase() : '';
      if (op !== 'AND' && op !== 'OR' && op !== 'XOR') break;
      this.next();
      operators.push(op);
      positions.push(token.position);
      operands.push(this.comparison());
    }
    return operators.length === 0 ? operands[0]! : { kind: 'logic', operands, operators, positions };
  }

  private comparison(): Node {
    const operands = [this.additive()];
    const operators: ComparisonOperator[] = [];
    const positions: number[] = [];
    while (this.peek().type === 'operator' && COMPARISONS.has(this.peek().text)) {
      const token = this.next();
      operators.push(token.text as ComparisonOperator);
      positions.push(token.position);
      operands.push(this.additive());
    }
    return operators.length === 0 ? operands[0]! : { kind: 'comparison', operands, operators, positions };
  }

  private additive(): Node {
    return this.arithmetic(['+', '-'], () => this.multiplicative());
  }

  private multiplicative(): Node {
    return this.arithmetic(['*', '/', '%'], () => this.postfix());
  }

  private arithmetic(symbols: readonly string[], operand: () => Node): Node {
    const operands = [operand()];
    const operators: ArithmeticOperator[] = [];
    const positions: number[] = [];
    while (this.peek().type === 'operator' && symbols.includes(this.peek().text)) {
      const token = this.next();
      operators.push(token.text as ArithmeticOperator);
      positions.push(token.position);
      operands.push(operand());
    }
    return operators.length === 0 ? operands[0]! : { kind: 'arithmetic', operands, operators, positions };
  }

  /** `x [NOT] LIKE 'pattern'` and `x [NOT] IN (…)`, which may follow each other. */
  private postfix(): Node {
    let node = this.unary();
    // Each LIKE or IN wraps the node before it, and the evaluator's builder recurses once per
    // wrapping: the chain counts against MAX_DEPTH like any other nesting.
    let links = 0;
    for (; ; links++) {
      if (this.depth + links >= MAX_DEPTH) {
        throw parseError(`the expression is nested more than ${MAX_DEPTH} levels deep`, this.peek().position);
      }
      const negated = this.isKeyword(this.peek(), 'NOT');
      const keyword = this.peek(negated ? 1 : 0);
      if (this.isKeyword(keyword, 'LIKE')) {
        this.index += negated ? 2 : 1;
        const pattern = this.next();
        // The pattern must be a string literal as written, never an expression (spec §3.4.3).
        if (pattern.type !== 'string') throw this.unexpected(pattern, 'a string literal after LIKE');
        // The matcher's worst case is the pattern's length times the text's: bound the pattern.
        if (pattern.text.length > MAX_LIKE_PATTERN) {
          throw parseError(`a LIKE pattern may be at most ${MAX_LIKE_PATTERN} characters`, pattern.position);
        }
        node = {
          kind: 'like',
          operand: node,
          pattern: compileLike(pattern.text),
          negated,
          position: keyword.position,
        };
      } else if (this.isKeyword(keyword, 'IN')) {
        this.index += negated ? 2 : 1;
        node = { kind: 'in', operand: node, set: this.setExpression(), negated, position: keyword.position };
      } else {
        return node;
      }
    }
  }

  private setExpression(): Node[] {
    const open = this.next();
    if (open.type !== 'lparen') throw this.unexpected(open, "'(' to open the set after IN");
    return this.nested(open.position, () => {
      const set = [this.expression()];
      while (this.peek().type === 'comma') {
        this.next();
        set.push(this.expression());
      }
      const close = this.next();
      if (close.type !== 'rparen') throw this.unexpected(close, "',' or ')' in the set after IN");
      return set;
    });
  }

  private unary(): Node {
    const token = this.peek();
    if (this.isKeyword(token, 'NOT')) {
      this.next();
      return this.nested<Node>(token.position, () => ({
        kind: 'not',
        operand: this.unary(),
        position: token.position,
      }));
    }
    if (token.type === 'operator' && (token.text === '-' || token.text === '+')) {
      this.next();
      // A sign directly on an integer literal is part of the literal (spec §2.2), which is what
      // lets -2147483648 be written although 2147483648 alone does not fit.
      if (this.peek().type === 'integer')
        return this.integer(this.next(), token.text === '-', token.position);
      if (token.text === '+') throw this.unexpected(this.peek(), "an integer after '+'");
      return this.nested<Node>(token.position, () => ({
        kind: 'negate',
        operand: this.unary(),
        position: token.position,
      }));
    }
    return this.primary();
  }

  private integer(token: Token, negative: boolean, position: number): Node {
    const digits = token.text.replace(/^0+(?=.)/, '');
    const limit = negative ? INT32_MAX + 1 : INT32_MAX;
    if (digits.length > 10 || Number(digits) > limit) {
      throw parseError(`the integer ${negative ? '-' : ''}${token.text} does not fit in 32 bits`, position);
    }
    return { kind: 'literal', value: negative ? -Number(digits) || 0 : Number(digits), position };
  }

  private primary(): Node {
    const token = this.next();
    switch (token.type) {
      case 'integer':
        return this.integer(token, false, token.position);
      case 'string':
        return { kind: 'literal', value: token.text, position: token.position };
      case 'lparen':
        return this.nested<Node>(token.position, () => {
          const node = this.expression();
          const close = this.next();
          if (close.type !== 'rparen') throw this.unexpected(close, "')'");
          return node;
        });
      case 'word':
        return this.word(token);
      default:
        throw this.unexpected(token, 'a value, an attribute, a function call or (');
    }
  }

  private word(token: Token): Node {
    const upper = token.text.toUpperCase();
    if (upper === 'TRUE' || upper === 'FALSE') {
      return { kind: 'literal', value: upper === 'TRUE', position: token.position };
    }
    if (upper === 'EXISTS') {
      const name = this.next();
      if (name.type !== 'word' || !ATTRIBUTE_NAME.test(name.text) || KEYWORDS.has(name.text.toUpperCase())) {
        throw this.unexpected(name, 'an attribute name after EXISTS');
      }
      return { kind: 'exists', name: name.text, position: token.position };
    }
    if (this.peek().type === 'lparen') return this.call(token);
    if (KEYWORDS.has(upper)) throw this.unexpected(token, 'a value, an attribute, a function call or (');
    if (!ATTRIBUTE_NAME.test(token.text)) {
      throw parseError(
        `'${token.text}' is not an attribute name: attribute names are lowercase letters and digits`,
        token.position,
      );
    }
    return { kind: 'attribute', name: token.text, position: token.position };
  }

  private call(name: Token): Node {
    if (!FUNCTION_NAME.test(name.text)) {
      throw parseError(`'${name.text}' is not a function name: use letters and underscores`, name.position);
    }
    const open = this.next();
    const args = this.nested(open.position, () => {
      const list: Node[] = [];
      if (this.peek().type !== 'rparen') {
        list.push(this.expression());
        while (this.peek().type === 'comma') {
          this.next();
          list.push(this.expression());
        }
      }
      const close = this.next();
      if (close.type !== 'rparen')
        throw this.unexpected(close, `',' or ')' in the arguments of ${name.text}`);
      return list;
    });
    const fn = resolveFunction(name.text, args.length);
    if (fn === undefined) {
      const message = isFunctionName(name.text)
        ? `${name.text.toUpperCase()} does not take ${args.length} argument${args.length === 1 ? '' : 's'}`
        : `there is no function ${name.text.toUpperCase()}`;
      throw new CesqlCompileError(
        'missingFunction',
        `${message} at position ${name.position}`,
        name.position,
      );
    }
    return { kind: 'call', fn, args, position: name.position };
  }
}
