/**
 * The HTTP sink: one keep-alive connection pool per origin (undici), a whole-request timeout, and
 * the first KiB of every response kept for the attempt log.
 */
import { Agent, type Dispatcher, request } from 'undici';

export const RESPONSE_EXCERPT_BYTES = 1024;
/** Past this much body the connection is dropped rather than drained: a reply is not a download. */
const MAX_DRAIN_BYTES = 64 * 1024;
/**
 * How long after `timeoutMs` a send is settled even if undici has not answered. undici honours the
 * abort signal in every case we know of but one (see `send`); the margin lets its own, more
 * precise error win whenever it comes.
 */
const GUARD_MARGIN_MS = 250;
/** How long `close` waits for requests still in a pool before destroying it. */
const CLOSE_GRACE_MS = 1_000;
/** RFC 9110 §5.1 token: what undici accepts as a header name or method. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field value restricted to visible ASCII, space and tab. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
/**
 * Names undici refuses outright (InvalidArgumentError or NotSupportedError), and `connection`,
 * which it refuses unless the value is a token list and which a delivery has no reason to set.
 */
const REFUSED_BY_UNDICI = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'connection']);

export interface HttpSendRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
}

export type HttpSendResult =
  | {
      ok: true;
      status: number;
      headers: Record<string, string | string[] | undefined>;
      excerpt: string;
      latencyMs: number;
    }
  | {
      ok: false;
      error: string;
      timedOut: boolean;
      latencyMs: number;
      /** Refused before sending: the request itself is invalid, and sending it again cannot help. */
      refused?: true;
      /** Cut short by `abortAll`: the attempt says nothing about the sink. */
      aborted?: true;
    };

/** The reason a send was cut short by `abortAll`, told apart from every other failure by identity. */
class ShutdownAbort extends Error {
  override readonly name = 'ShutdownAbort';
}

/** The reason a send was aborted when its timeout passed. */
class SendTimeout extends Error {
  override readonly name = 'SendTimeout';
}

/** The reason a send was settled by the outer guard because undici never answered. */
class GuardTimeout extends Error {
  override readonly name = 'GuardTimeout';
}

export class HttpSink {
  private readonly agent: Agent;
  /**
   * One controller per send in flight, for `abortAll`. Per send, not one shared signal: Node 20
   * keeps every signal combined with a long-lived one by AbortSignal.any until that one dies, which
   * grew by an entry per delivery.
   */
  private readonly live = new Set<AbortController>();

  constructor(options: { connectionsPerOrigin: number }) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  /**
   * Sends one request. The outcome is decided by the status as soon as the response headers
   * arrive; the body is then read best-effort for the excerpt, so a 2xx whose body stalls or is cut
   * off is still a success and is not sent again. The promise always settles within `timeoutMs`
   * plus a small margin, and never rejects.
   *
   * @example
   * const sent = await sink.send({ url, method: 'POST', headers: {}, body, timeoutMs: 5_000 });
   * if (sent.ok) console.log(sent.status, sent.excerpt);
   */
  async send(req: HttpSendRequest): Promise<HttpSendResult> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const refused = checkRequest(req);
    if (refused) return { ok: false, error: refused, timedOut: false, latencyMs: elapsed(), refused: true };

    const own = new AbortController();
    this.live.add(own);
    try {
      return await this.exchange(req, own, elapsed);
    } finally {
      this.live.delete(own);
    }
  }

  private async exchange(
    req: HttpSendRequest,
    own: AbortController,
    elapsed: () => number,
  ): Promise<HttpSendResult> {
    // One controller per send carries both the timeout and `abortAll`, told apart by their
    // reasons: AbortSignal.timeout and AbortSignal.any cost 7 % of the hub's CPU at 3,000
    // deliveries a second, for what one timer does.
    const timer = setTimeout(
      () => own.abort(new SendTimeout(`no response within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    let res: Dispatcher.ResponseData;
    try {
      // undici 7 leaks a pool slot on every request it refuses while dispatching (a header value
      // or method it cannot send): once a pool's slots are gone, later requests to that origin wait
      // forever and ignore their abort signal. `checkRequest` keeps such requests out, and this
      // guard settles the send regardless, should another path into that state exist.
      res = await settleWithin(
        request(req.url, {
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          body: req.body,
          dispatcher: this.agent,
          signal: own.signal,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        }),
        req.timeoutMs + GUARD_MARGIN_MS,
        own,
      );
    } catch (error) {
      if (error instanceof ShutdownAbort) {
        return {
          ok: false,
          error: `aborted: ${error.message}`,
          timedOut: false,
          latencyMs: elapsed(),
          aborted: true,
        };
      }
      const timedOut = isTimeout(error);
      const message = timedOut ? `no response within ${req.timeoutMs} ms` : describe(error);
      return { ok: false, error: message, timedOut, latencyMs: elapsed() };
    } finally {
      clearTimeout(timer);
    }
    const excerpt = await readExcerpt(res.body, req.timeoutMs - elapsed());
    return {
      ok: true,
      status: res.statusCode,
      headers: res.headers,
      excerpt,
      latencyMs: elapsed(),
    };
  }

  /**
   * Aborts every send in flight; each resolves as `ok: false` with the error `aborted: <reason>`.
   * Sends started afterwards run normally. A send whose status has already arrived keeps its
   * outcome: only its excerpt is cut short.
   */
  abortAll(reason: string): void {
    for (const own of this.live) own.abort(new ShutdownAbort(reason));
  }

  /**
   * Closes the pools once their requests finish. A pool wedged as described in `send` never
   * finishes them, so after CLOSE_GRACE_MS the pools are destroyed instead.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS);
    });
    const closed = this.agent.close().then(() => 'closed' as const);
    try {
      if ((await Promise.race([closed, grace])) === 'late') {
        closed.catch(() => {});
        await this.agent.destroy();
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Why undici would refuse this request, or undefined when it will take it. */
function checkRequest(req: HttpSendRequest): string | undefined {
  if (!TOKEN.test(req.method)) return `invalid HTTP method ${JSON.stringify(req.method)}`;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name)}`;
    if (REFUSED_BY_UNDICI.has(name.toLowerCase()))
      return `header '${name}' cannot be set on a delivery request`;
    if (typeof value !== 'string' || !FIELD_VALUE.test(value))
      return `header '${name}' has a value with characters outside visible ASCII, space and tab`;
  }
  return undefined;
}

/**
 * Resolves as `work` does, unless `ms` pass first (rejects with a GuardTimeout and aborts the
 * request) or the send is aborted (rejects with the abort's reason at once: a timeout or a
 * shutdown). A `work` that loses the race is still awaited in the background so that its
 * rejection is handled and its body released.
 */
function settleWithin(
  work: Promise<Dispatcher.ResponseData>,
  ms: number,
  own: AbortController,
): Promise<Dispatcher.ResponseData> {
  const signal = own.signal;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => {
      finish();
      const reason = new GuardTimeout(`no response within ${ms} ms`);
      own.abort(reason);
      reject(reason);
    }, ms);
    const onAbort = () => {
      finish();
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (res) => {
        if (!settled) {
          finish();
          resolve(res);
        } else res.body.destroy();
      },
      (error: unknown) => {
        if (!settled) {
          finish();
          reject(error);
        }
      },
    );
  });
}

function isTimeout(error: unknown): boolean {
  if (error instanceof GuardTimeout || error instanceof SendTimeout) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * The first KiB of the body, read for at most `budgetMs`. Reading is best-effort: when the body
 * stalls, fails or runs past MAX_DRAIN_BYTES it is destroyed and what was read is kept. Draining a
 * short body to its end lets undici reuse the connection.
 */
async function readExcerpt(body: Dispatcher.ResponseData['body'], budgetMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.max(0, budgetMs));
  });
  const chunksOf = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      const next = chunksOf.next();
      const step = await Promise.race([next, expired]);
      if (step === 'expired') {
        // The pending read rejects once the body is destroyed; that is expected.
        next.catch(() => {});
        body.destroy();
        break;
      }
      if (step.done) break;
      const chunk = step.value;
      seen += chunk.length;
      if (kept < RESPONSE_EXCERPT_BYTES) {
        const part = chunk.subarray(0, RESPONSE_EXCERPT_BYTES - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (seen > MAX_DRAIN_BYTES) {
        body.destroy();
        break;
      }
    }
  } catch {
    body.destroy();
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}: ${cause.message ?? error.message}`;
    const code = (error as { code?: string }).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
