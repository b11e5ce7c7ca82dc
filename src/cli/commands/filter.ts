/** `junction filter test`: evaluates a filter expression against an event on a hub. */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { CliError, UsageError } from '../errors.js';
import { json, print } from '../format.js';

const DIALECTS = ['sql', 'cesql', 'pattern', 'exact', 'prefix', 'suffix', 'all', 'any', 'not'];

/** The answer of `POST /v1/expressions/evaluate`. */
export interface EvaluationAnswer {
  result: boolean | number | string | null;
  error: { kind: string; message: string; position?: number } | null;
}

/** One line for the answer: the result, and the error with its kind. */
export function formatEvaluation(answer: EvaluationAnswer): string {
  const result = `result: ${JSON.stringify(answer.result)}`;
  return answer.error ? `${result}\nerror (${answer.error.kind}): ${answer.error.message}` : result;
}

interface TestOptions extends ClientOptions {
  dialect: string;
  expression: string;
  event?: string;
  json?: boolean;
}

async function readEvent(source: string): Promise<unknown> {
  let text = source;
  if (!source.trimStart().startsWith('{')) {
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw new UsageError(`Cannot read the event file ${source}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`The event is not valid JSON: ${(err as Error).message}`);
  }
}

/** Adds `junction filter test` to the program. */
export function registerFilter(program: Command): void {
  const filter = program
    .command('filter')
    .description('Try filter expressions before a subscription uses them.');
  const test = filter
    .command('test')
    .description('Evaluate an expression against an event (POST /v1/expressions/evaluate).')
    .addOption(new Option('--dialect <dialect>', 'the filter dialect').choices(DIALECTS).default('sql'))
    .requiredOption(
      '--expression <expr>',
      'the expression: CESQL text, or JSON for pattern and the other dialects',
    )
    .requiredOption('--event <file|json>', 'the CloudEvent, as a JSON file or inline JSON')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(test).addHelpText(
    'after',
    `
Exits 0 when the result is true, 1 when it is false or an error: usable as a check in a script.

Examples:
  $ junction filter test --expression "int(total) > 100" --event order.json
  $ junction filter test --dialect pattern --expression '{"data":{"total":[{"numeric":[">",100]}]}}' \\
      --event '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"total":120}}'`,
  );
  test.action(async (opts: TestOptions) => {
    let expression: unknown = opts.expression;
    if (opts.dialect !== 'sql' && opts.dialect !== 'cesql') {
      try {
        expression = JSON.parse(opts.expression) as unknown;
      } catch (err) {
        throw new UsageError(
          `--expression must be JSON for the ${opts.dialect} dialect: ${(err as Error).message}`,
        );
      }
    }
    const answer = await new JunctionClient(opts).send<EvaluationAnswer>({
      method: 'POST',
      path: '/v1/expressions/evaluate',
      body: { dialect: opts.dialect, expression, event: await readEvent(opts.event ?? '') },
    });
    print(opts.json ? json(answer) : formatEvaluation(answer));
    if (answer.result !== true) throw new CliError('the expression did not evaluate to true', 1);
  });
}
