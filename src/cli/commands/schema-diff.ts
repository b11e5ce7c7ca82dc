/** `junction schema diff`: what changed between two versions of a type, and who can still read whom. */
import type { Command } from 'commander';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { json, print } from '../format.js';
import { integer } from '../options.js';

/** A breaking change as the hub names it. */
export interface BreakingChangeAnswer {
  pointer: string;
  kind: string;
  message: string;
}

/** The answer of `GET /v1/schemas/{type}/diff`. */
export interface DiffAnswer {
  type: string;
  from: number;
  to: number;
  changes: {
    op: 'add' | 'remove' | 'replace' | 'move';
    path: string;
    from?: string;
    value?: unknown;
    oldValue?: unknown;
    summary?: string;
  }[];
  compatibility: {
    backward: { compatible: boolean; changes: BreakingChangeAnswer[] };
    forward: { compatible: boolean; changes: BreakingChangeAnswer[] };
  };
}

/** Longest value shown on a diff line; `--json` prints them whole. */
const MAX_VALUE = 100;

/** A value as compact JSON, cut to MAX_VALUE characters. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/**
 * One breaking change on one line. The hub's messages start with the pointer; it is shown once,
 * with the kind after it.
 */
export function breakingChangeLine(change: BreakingChangeAnswer): string {
  const pointer = change.pointer || '/';
  const message = change.message.startsWith(`${pointer}: `)
    ? change.message.slice(pointer.length + 2)
    : change.message;
  return `  ${pointer} (${change.kind}): ${message}`;
}

/**
 * Lays out a diff: one line per operation (`+` added, `-` removed, `~` changed or moved), then the
 * two compatibility verdicts, each with its breaking changes.
 *
 * @example
 * formatDiff(answer);
 * // com.acme.order.created version 1 → 2:
 * //   + /properties/currency  {"type":"string"}
 * // backward (version 2 reads data written with version 1): compatible
 * // forward (version 1 reads data written with version 2): compatible
 */
export function formatDiff(answer: DiffAnswer): string {
  const { type, from, to } = answer;
  const lines = [`${type} version ${from} → ${to}:`];
  if (answer.changes.length === 0) lines.push('  no changes');
  for (const op of answer.changes) {
    const path = op.path || '/';
    if (op.op === 'add') lines.push(`  + ${path}  ${shown(op.value)}`);
    else if (op.op === 'remove') lines.push(`  - ${path}  ${shown(op.oldValue)}`);
    else if (op.op === 'replace') {
      lines.push(`  ~ ${path}  ${shown(op.oldValue)} → ${shown(op.value)}`);
    } else lines.push(`  ~ ${path}  moved from ${op.from}`);
  }
  const verdict = (
    name: string,
    reader: number,
    writer: number,
    result: DiffAnswer['compatibility']['backward'],
  ) => [
    `${name} (version ${reader} reads data written with version ${writer}): ${
      result.compatible ? 'compatible' : 'incompatible'
    }`,
    ...result.changes.map(breakingChangeLine),
  ];
  lines.push(...verdict('backward', to, from, answer.compatibility.backward));
  lines.push(...verdict('forward', from, to, answer.compatibility.forward));
  return lines.join('\n');
}

/** Adds `junction schema diff` to the `schema` command. */
export function registerDiff(schema: Command): void {
  const command = schema
    .command('diff')
    .description('Show what changed between two versions of a type (GET /v1/schemas/{type}/diff).')
    .argument('<type>', 'event type')
    .argument('<from>', 'version to compare from', integer({ min: 1 }))
    .argument('<to>', 'version to compare to; may be lower than <from>', integer({ min: 1 }))
    .option('--json', 'print the raw JSON answer: the JSON Patch (RFC 6902) and both verdicts');
  addClientOptions(command).addHelpText(
    'after',
    `
Each line is one JSON Patch operation from <from> to <to>: "+" adds a value, "-" removes one,
"~" replaces one (old → new) or moves an array item. "required", "enum" and a list of types are
compared as sets, so reordering them is no change. Then come the two verdicts: backward (can
<to> read data written with <from>?) and forward (can <from> read data written with <to>?),
each with its breaking changes. Exits with 0 either way; use "schema check" to gate a pipeline.

Examples:
  $ junction schema diff com.acme.order.created 1 2
  $ junction schema diff com.acme.order.created 3 1 --json`,
  );
  command.action(async (type: string, from: number, to: number, opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<DiffAnswer>({
      method: 'GET',
      path: `/v1/schemas/${encodeURIComponent(type)}/diff`,
      query: { from, to },
    });
    print(opts.json ? json(answer) : formatDiff(answer));
  });
}
