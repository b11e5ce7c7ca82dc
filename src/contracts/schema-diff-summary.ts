/**
 * One line of plain language for a JSON Patch operation on a JSON Schema, read from its path alone:
 * "property `currency` added to /properties", "`currency` is now required". Where the path says nothing
 * better, the keyword and its old and new values are named.
 */
import { pointerToken } from './schema-walk.js';

/** The parts of an operation a summary reads; `oldValue` is what a remove or replace took away. */
export interface OperationToSummarize {
  op: 'add' | 'remove' | 'replace' | 'move';
  path: string;
  from?: string;
  value?: unknown;
  oldValue?: unknown;
}

/** Keywords whose members are named subschemas, with the noun for one member. */
const NAMED_MEMBERS: Record<string, string> = {
  properties: 'property',
  patternProperties: 'pattern property',
  $defs: 'definition',
  definitions: 'definition',
  dependentSchemas: 'dependent schema',
};
/** Longest value quoted in a summary; the operation itself carries the whole value. */
const MAX_QUOTE = 60;

/**
 * Describes one operation.
 *
 * @example
 * summarize({ op: 'add', path: '/properties/currency', value: { type: 'string' } });
 * // 'property `currency` added to /properties'
 * summarize({ op: 'replace', path: '/properties/total/type', value: 'integer', oldValue: 'number' });
 * // '`type` changed from "number" to "integer" at /properties/total'
 */
export function summarize(op: OperationToSummarize): string {
  if (op.op === 'move') return `item moved from ${op.from} to ${op.path}`;
  if (op.path === '') return 'the whole schema replaced';
  const tokens = pointerTokens(op.path);
  const last = tokens.at(-1) as string;
  const parent = tokens.slice(0, -1);
  const parentKey = parent.at(-1);
  const owner = pointerOf(parent.slice(0, -1));
  const gone = op.op === 'remove' ? op.oldValue : undefined;

  const noun =
    parentKey !== undefined && Object.hasOwn(NAMED_MEMBERS, parentKey) ? NAMED_MEMBERS[parentKey] : undefined;
  if (noun !== undefined) {
    const where = pointerOf(parent);
    if (op.op === 'add') return `${noun} \`${last}\` added to ${where}`;
    if (op.op === 'remove') return `${noun} \`${last}\` removed from ${where}`;
    return `${noun} \`${last}\` replaced in ${where}`;
  }
  if (/^\d+$/.test(last)) {
    const at = owner === '/' ? '' : ` at ${owner}`;
    if (parentKey === 'required') {
      if (op.op === 'add') return `${name(op.value)} is now required${at}`;
      if (op.op === 'remove') return `${name(gone)} is no longer required${at}`;
      return `${name(op.oldValue)} is no longer required and ${name(op.value)} is${at}`;
    }
    if (parentKey === 'enum') {
      if (op.op === 'add') return `value ${quote(op.value)} added to the enum${at}`;
      if (op.op === 'remove') return `value ${quote(gone)} removed from the enum${at}`;
      return `enum value ${quote(op.oldValue)} changed to ${quote(op.value)}${at}`;
    }
    if (parentKey === 'type') {
      if (op.op === 'add') return `type ${quote(op.value)} now allowed${at}`;
      if (op.op === 'remove') return `type ${quote(gone)} no longer allowed${at}`;
      return `type ${quote(op.oldValue)} changed to ${quote(op.value)}${at}`;
    }
    const list = pointerOf(parent);
    if (op.op === 'add') return `item added to ${list} at index ${last}`;
    if (op.op === 'remove') return `item ${last} removed from ${list}`;
    return `item ${last} of ${list} replaced`;
  }
  const where = pointerOf(parent);
  if (op.op === 'add') return `\`${last}\` set to ${quote(op.value)} at ${where}`;
  if (op.op === 'remove') return `\`${last}\` (was ${quote(gone)}) removed at ${where}`;
  return `\`${last}\` changed from ${quote(op.oldValue)} to ${quote(op.value)} at ${where}`;
}

/** The tokens of a JSON pointer (RFC 6901), unescaped. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** A pointer for display: the root reads `/`. */
function pointerOf(tokens: string[]): string {
  return tokens.length === 0 ? '/' : `/${tokens.map(pointerToken).join('/')}`;
}

function name(value: unknown): string {
  return typeof value === 'string' ? `\`${value}\`` : quote(value);
}

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE - 1)}…` : text;
}
