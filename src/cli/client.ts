/**
 * The HTTP client the commands use to talk to a running hub. It turns every failure into a
 * `CliError` whose message is ready to print, so no command has to think about transport errors.
 */
import { type Command, Option } from 'commander';
import { ApiError, ConnectionError, UsageError } from './errors.js';

/** Where the hub is and how to authenticate, from `--url`/`--key` or the environment. */
export interface ClientOptions {
  url: string;
  key?: string | undefined;
}

/** One API call, as a command's pure mapping function describes it. */
export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** Serialized as JSON; `contentType` defaults to `application/json`. */
  body?: unknown;
  contentType?: string;
}

/** The hub the CLI talks to when neither `--url` nor `JUNCTION_URL` says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** A CLI waiting forever on a hung server is worse than a clear timeout. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Adds `--url` and `--key` to a command that talks to the hub. They are added per command rather
 * than on the program so that each command's `--help` lists them and they may follow the command name.
 */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'base URL of the Junction server').env('JUNCTION_URL').default(DEFAULT_URL),
    )
    .addOption(
      new Option('--key <key>', 'API key, sent as "Authorization: Bearer <key>"').env('JUNCTION_KEY'),
    );
}

/**
 * Resolves a request path and query against the base URL, keeping any path prefix of the base
 * (a hub behind a reverse proxy at `https://example.com/junction`). Empty query values are dropped.
 */
export function buildUrl(base: string, path: string, query: ApiRequest['query'] = {}): URL {
  let url: URL;
  try {
    url = new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(base)} is not a valid URL, such as ${DEFAULT_URL}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http or https URL, not ${JSON.stringify(base)}.`);
  }
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  }
  return url;
}

interface Problem {
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
}

/**
 * Formats a non-2xx answer for the terminal: the RFC 9457 `title` and `detail`, then one line per
 * `errors[]` entry as `pointer: message`. A body that is not problem+json is shown as an excerpt.
 * The caller adds the `error: ` prefix.
 */
export function formatProblem(status: number, statusText: string, body: unknown, hasKey = true): string {
  const lines: string[] = [];
  const problem: Problem | undefined =
    body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Problem) : undefined;
  if (problem && typeof problem.title === 'string') {
    lines.push(`${problem.title} (HTTP ${status})`);
    if (typeof problem.detail === 'string' && problem.detail !== '') lines.push(`  ${problem.detail}`);
    if (Array.isArray(problem.errors)) {
      for (const entry of problem.errors as Array<{ pointer?: unknown; message?: unknown }>) {
        const pointer = typeof entry?.pointer === 'string' && entry.pointer !== '' ? entry.pointer : '/';
        lines.push(`  ${pointer}: ${String(entry?.message ?? '')}`);
      }
    }
  } else {
    lines.push(`HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    const text = typeof body === 'string' ? body.trim() : body === undefined ? '' : JSON.stringify(body);
    if (text !== '') lines.push(`  ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`);
  }
  if (status === 401 && !hasKey) lines.push('  Pass --key or set JUNCTION_KEY.');
  return lines.join('\n');
}

/** Describes why `fetch` failed, from the network error undici keeps as its `cause`. */
function describeFetchFailure(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  }
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** A small JSON client for the hub's HTTP API. */
export class JunctionClient {
  constructor(private readonly options: ClientOptions) {}

  /**
   * Sends one request and returns the parsed JSON body (or `undefined` for an empty body).
   *
   * @throws ApiError on a non-2xx status; ConnectionError when the server cannot be reached.
   * @example
   * const subs = await client.send<Subscription[]>({ method: 'GET', path: '/v1/subscriptions' });
   */
  async send<T = unknown>(request: ApiRequest): Promise<T> {
    const url = buildUrl(this.options.url, request.path, request.query);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/json';
      body = JSON.stringify(request.body);
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (err) {
      throw new ConnectionError(
        `cannot reach Junction at ${url.origin} (${describeFetchFailure(err)}).\n` +
          '  Is `junction serve` running? Set --url or JUNCTION_URL to point elsewhere.',
        { cause: err },
      );
    }
    const parsed = parseBody(text);
    if (!response.ok) {
      throw new ApiError(
        formatProblem(response.status, response.statusText, parsed, Boolean(this.options.key)),
        response.status,
        parsed,
      );
    }
    return parsed as T;
  }
}

/** Parses a response body as JSON when it is JSON, and keeps it as text otherwise. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
