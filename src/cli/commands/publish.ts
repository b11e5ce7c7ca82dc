/** `junction publish`: send one CloudEvent to the hub in structured mode. */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { type CloudEvent, CORE_ATTRIBUTES, DATA_MEMBERS } from '../../core/event.js';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { UsageError } from '../errors.js';
import { json, print } from '../format.js';
import { collectKeyValue } from '../options.js';

/** Everything needed to build the event, with the data already read from its source. */
export interface PublishInput {
  type: string;
  source: string;
  id: string;
  subject?: string | undefined;
  contentType: string;
  extensions?: Array<[string, string]> | undefined;
  /** The payload as given on the command line, in a file or on stdin; absent for an event without data. */
  data?: string | Uint8Array | undefined;
}

/** The answer to `POST /v1/events`. */
export interface PublishResponse {
  events: Array<{ source: string; id: string; status: 'accepted' | 'duplicate' }>;
}

/** The spec restricts extension names to lower-case ASCII letters and digits. */
const EXTENSION_NAME = /^[a-z0-9]+$/;

/** Whether a media type carries JSON, so the data is embedded as a JSON value (CloudEvents JSON format §3.1). */
export function isJsonContentType(contentType: string): boolean {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

/** Whether a media type is text, so the data can travel as a JSON string rather than base64. */
function isTextContentType(contentType: string): boolean {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return media.startsWith('text/') || media === 'application/xml' || media.endsWith('+xml');
}

/**
 * Maps the publish arguments to a structured-mode `POST /v1/events`. JSON data is parsed here so
 * that a typo fails before anything is sent; text data travels as a string and anything else as
 * `data_base64`.
 *
 * @throws UsageError when JSON data does not parse or an extension name is not allowed.
 * @example
 * buildPublishRequest({ type: 'order.created', source: '/shop', id: '1', contentType: 'application/json', data: '{"n":1}' });
 */
export function buildPublishRequest(input: PublishInput): ApiRequest {
  const event: CloudEvent = { specversion: '1.0', id: input.id, source: input.source, type: input.type };
  if (input.subject !== undefined) event.subject = input.subject;
  for (const [name, value] of input.extensions ?? []) {
    if (CORE_ATTRIBUTES.has(name) || DATA_MEMBERS.has(name)) {
      throw new UsageError(`--ext ${name}: "${name}" is not an extension; use the matching option instead.`);
    }
    if (!EXTENSION_NAME.test(name)) {
      throw new UsageError(`--ext ${name}: extension names must be lower-case letters and digits only.`);
    }
    if (name in event) throw new UsageError(`--ext ${name} is given more than once.`);
    event[name] = value;
  }
  if (input.data !== undefined) {
    event.datacontenttype = input.contentType;
    const bytes = typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : Buffer.from(input.data);
    if (isJsonContentType(input.contentType)) {
      // Editors on some platforms save a byte-order mark, which JSON.parse rejects.
      const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
      try {
        event.data = JSON.parse(text);
      } catch (err) {
        throw new UsageError(
          `The data is not valid JSON (${(err as Error).message}). ` +
            'Fix it, or pass --content-type for non-JSON data.',
        );
      }
    } else if (isTextContentType(input.contentType)) {
      event.data = bytes.toString('utf8');
    } else {
      event.data_base64 = bytes.toString('base64');
    }
  }
  return { method: 'POST', path: '/v1/events', body: event, contentType: 'application/cloudevents+json' };
}

interface PublishOptions extends ClientOptions {
  type: string;
  source: string;
  id?: string;
  subject?: string;
  data?: string;
  dataFile?: string;
  contentType: string;
  ext?: Array<[string, string]>;
  json?: boolean;
}

/** Reads the payload from `--data`, `--data-file` or piped stdin, in that order. */
async function readData(opts: PublishOptions): Promise<string | Uint8Array | undefined> {
  if (opts.data !== undefined) return opts.data;
  if (opts.dataFile !== undefined) {
    try {
      return await readFile(opts.dataFile);
    } catch (err) {
      throw new UsageError(`Cannot read --data-file ${opts.dataFile}: ${(err as Error).message}`);
    }
  }
  // Only piped input is read: waiting on an interactive terminal would look like a hang.
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  // An empty or closed stdin (CI, cron, `< /dev/null`) means "no data", not "empty data".
  return bytes.length === 0 ? undefined : bytes;
}

/** Adds `junction publish` to the program. */
export function registerPublish(program: Command): void {
  const command = program
    .command('publish')
    .description('Publish one CloudEvent to the hub (structured mode, POST /v1/events).')
    .requiredOption('-t, --type <type>', 'event type, such as com.acme.order.created')
    .requiredOption('-s, --source <source>', 'event source (URI-reference), such as /shop/orders')
    .option('--id <id>', 'event id; (source, id) identifies the event (default: a random UUID)')
    .option('--subject <subject>', 'event subject, such as orders/1234')
    .addOption(
      new Option('-d, --data <data>', 'event data, JSON unless --content-type says otherwise').conflicts(
        'dataFile',
      ),
    )
    .option('--data-file <path>', 'read the event data from a file')
    .option('--content-type <type>', 'media type of the data (datacontenttype)', 'application/json')
    .option(
      '--ext <key=value>',
      'extension attribute, such as partitionkey=cust-42 (repeatable)',
      collectKeyValue,
    )
    .option('--json', 'print the server response as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
Without --data or --data-file, data is read from stdin when it is piped.
Publishing the same (source, id) again is acknowledged as "duplicate" and not delivered twice.

Examples:
  $ junction publish -t com.acme.order.created -s /shop -d '{"orderId":"1234","total":120}'
  $ junction publish -t com.acme.order.created -s /shop --id order-1234 --data-file order.json
  $ cat order.json | junction publish -t com.acme.order.created -s /shop --ext partitionkey=cust-42
  $ junction publish -t com.acme.note.added -s /crm --content-type text/plain -d 'Call back tomorrow'`,
  );
  command.action(async (opts: PublishOptions) => {
    const request = buildPublishRequest({
      type: opts.type,
      source: opts.source,
      id: opts.id ?? randomUUID(),
      subject: opts.subject,
      contentType: opts.contentType,
      extensions: opts.ext,
      data: await readData(opts),
    });
    const response = await new JunctionClient(opts).send<PublishResponse>(request);
    if (opts.json) return print(json(response));
    const result = response?.events?.[0];
    print(result ? `${result.status} ${result.id}` : json(response));
  });
}
