/**
 * Turns a parsed expression into a tree of closures, built once and run per event.
 *
 * Nothing throws during evaluation (every operator and function is total, spec §3.3); errors are
 * reported to the evaluation state, which keeps the first, and values stay defined:
 * - An operator or function whose operand reported an error does not compute: it returns the zero
 *   value of its return type (false, 0, '') and so does every operator above it. This is why the
 *   TCK wants `true AND (1 != 1 / 0)` to be false and `NOT missing` to be false, and it is what the
 *   reference SDKs do. A missing attribute (spec §3.2) is such an error, reported where it is read.
 * - An error raised by an operator itself is different: a failed implicit cast (§3.7) stands for
 *   the zero value of the target type and the operator goes on (`NOT 10` is true, with a cast
 *   error); a function returns the value the spec names (`LEFT('abc', -2)` is 'abc'); integer
 *   overflow saturates (see `clampInt32`) and division by zero gives 0, with a math error.
 */

import type { CesqlError } from './errors.js';
import { arithmetic, asBoolean, asInteger, compare, readAttribute, State } from './operators.js';
import type { Node } from './parser.js';
import { type CesqlValue, castTo, toBoolean, toStringValue, typeOf, ZERO } from './types.js';

type Evaluate = (state: State) => CesqlValue;

/** Where a node starts in the source, for the position of an error it causes. */
function positionOf(node: Node): number {
  return 'position' in node ? node.position : positionOf(node.operands[0]!);
}

/**
 * Compiles an AST into an evaluator. Every closure is total: it returns a value for any event.
 *
 * @example
 * const run = compileNode(parse('hop < ttl'));
 * run({ hop: '5', ttl: '10' }) // { result: true, error: null }
 */
export function compileNode(root: Node): (event: Record<string, unknown>) => {
  result: CesqlValue;
  error: CesqlError | null;
} {
  const evaluate = build(root);
  return (event) => {
    const state = new State(event);
    const result = evaluate(state);
    return { result, error: state.error };
  };
}

function build(node: Node): Evaluate {
  switch (node.kind) {
    case 'literal': {
      const { value } = node;
      return () => value;
    }
    case 'attribute': {
      const { name, position } = node;
      return (s) => {
        const value = readAttribute(s.event, name);
        if (value !== undefined) return value;
        s.report('missingAttribute', `the event has no attribute '${name}'`, position);
        // Whatever reads it gives its own zero value; read alone it is false (spec §3.2).
        return false;
      };
    }
    case 'exists': {
      const { name } = node;
      return (s) => readAttribute(s.event, name) !== undefined;
    }
    case 'not': {
      const operand = build(node.operand);
      const { position } = node;
      return (s) => {
        const before = s.errors;
        const v = operand(s);
        return s.errors === before && !asBoolean(s, v, position);
      };
    }
    case 'negate': {
      const operand = build(node.operand);
      const { position } = node;
      return (s) => {
        const before = s.errors;
        const v = operand(s);
        if (s.errors !== before) return 0;
        return arithmetic(s, '-', 0, asInteger(s, v, position), position);
      };
    }
    case 'arithmetic': {
      const operands = node.operands.map(build);
      const { operators, positions } = node;
      return (s) => {
        const before = s.errors;
        let acc = operands[0]!(s);
        for (let i = 0; i < operators.length; i++) {
          // Left-associative: once a step has reported anything, every later step has an operand
          // in error and gives 0, so the rest of the chain need not be evaluated.
          if (s.errors !== before) return 0;
          const right = operands[i + 1]!(s);
          if (s.errors !== before) return 0;
          const at = positions[i]!;
          acc = arithmetic(s, operators[i]!, asInteger(s, acc, at), asInteger(s, right, at), at);
        }
        return acc;
      };
    }
    case 'comparison': {
      const operands = node.operands.map(build);
      const { operators, positions } = node;
      return (s) => {
        const before = s.errors;
        let acc = operands[0]!(s);
        for (let i = 0; i < operators.length; i++) {
          if (s.errors !== before) return false;
          const right = operands[i + 1]!(s);
          if (s.errors !== before) return false;
          acc = compare(s, operators[i]!, acc, right, positions[i]!);
        }
        return acc;
      };
    }
    case 'logic':
      return buildLogic(node);
    case 'like': {
      const operand = build(node.operand);
      const { pattern, negated } = node;
      return (s) => {
        const before = s.errors;
        const v = operand(s);
        return s.errors === before && pattern.matches(toStringValue(v)) !== negated;
      };
    }
    case 'in': {
      const operand = build(node.operand);
      const set = node.set.map(build);
      const { negated, position } = node;
      return (s) => {
        let before = s.errors;
        const v = operand(s);
        if (s.errors !== before) return false;
        // The left operand's type is the target of the casts (spec §3.7, special rule for IN).
        const type = typeOf(v);
        for (const element of set) {
          const e = element(s);
          if (s.errors !== before) return false;
          let c = typeOf(e) === type ? e : castTo(e, type);
          if (c === undefined) {
            s.report('cast', `cannot cast ${JSON.stringify(e)} to ${type} to compare it`, position);
            before = s.errors;
            c = ZERO[type];
          }
          if (c === v) return !negated;
        }
        return negated;
      };
    }
    case 'call': {
      const args = node.args.map(build);
      const { fn, position } = node;
      const types = node.args.map((_, i) => fn.parameters[i] ?? fn.variadic ?? 'any');
      const zero = ZERO[fn.returns];
      return (s) => {
        let before = s.errors;
        const values: CesqlValue[] = [];
        for (let i = 0; i < args.length; i++) {
          const v = args[i]!(s);
          if (s.errors !== before) return zero;
          const type = types[i]!;
          if (type === 'any' || typeOf(v) === type) {
            values.push(v);
            continue;
          }
          const c = castTo(v, type);
          if (c === undefined) {
            s.report(
              'cast',
              `cannot cast argument ${i + 1} of ${fn.name} to ${type}`,
              positionOf(node.args[i]!),
            );
            before = s.errors;
          }
          values.push(c ?? ZERO[type]);
        }
        return fn.call(values, (kind, message) => s.report(kind, `${fn.name}: ${message}`, position));
      };
    }
  }
}

/**
 * AND, OR and XOR share one level and group to the right (`a AND b OR c` is `a AND (b OR c)`), and
 * AND and OR short-circuit (spec §3.4.2): a false left operand of AND, or a true one of OR, decides
 * the whole rest of the chain. The chain is walked left to right until it is decided, then the
 * XORs met on the way are folded back from the right; no recursion, however long the chain.
 *
 * Errors follow the rule of the other operators, read on the right-grouped tree: operand i is the
 * left operand of operator i (the last one is the right operand of the operator before it), and
 * every operator to its left has it inside its right operand. So an error in any operand makes
 * the chain false; so does a failed cast, unless the operator that casts is the first one, which
 * then goes on with false for that operand.
 */
function buildLogic(node: Extract<Node, { kind: 'logic' }>): Evaluate {
  const operands = node.operands.map(build);
  const starts = node.operands.map(positionOf);
  const { operators } = node;
  const last = operands.length - 1;
  return (s) => {
    let before = s.errors;
    const pending: boolean[] = [];
    let value = false;
    let decidedAt = last;
    for (let i = 0; i <= last; i++) {
      const v = operands[i]!(s);
      if (s.errors !== before) return false;
      let b = toBoolean(v, false);
      if (b === undefined) {
        s.report('cast', `cannot cast ${JSON.stringify(v)} to a boolean`, starts[i]!);
        if ((i === last ? i - 1 : i) > 0) return false;
        before = s.errors;
        b = false;
      }
      const op = operators[i];
      if (i === last || (op === 'AND' && !b) || (op === 'OR' && b)) {
        decidedAt = i;
        value = i === last ? b : op === 'OR';
        break;
      }
      pending.push(b);
    }
    for (let j = decidedAt - 1; j >= 0; j--) {
      if (operators[j] === 'XOR') value = pending[j] !== value;
    }
    return value;
  };
}
