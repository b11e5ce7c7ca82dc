/**
 * The HTTP sink: one keep-alive connection pool per origin (undici), a whole-request timeout, and
 * the first KiB of every response kept for the attempt log.
 */
import { Agent, request } from 'undici';

export const RESPONSE_EXCERPT_BYTES = 1024;
/** Past this much body the connection is dropped rather than drained: a reply is not a download. */
const MAX_DRAIN_BYTES = 64 * 1024;

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
  | { ok: false; error: string; timedOut: boolean; latencyMs: number };

export class HttpSink {
  private readonly agent: Agent;

  constructor(options: { connectionsPerOrigin: number }) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  async send(req: HttpSendRequest): Promise<HttpSendResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(req.timeoutMs);
    try {
      const res = await request(req.url, {
        method: req.method as 'POST',
        headers: req.headers,
        body: req.body,
        dispatcher: this.agent,
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const excerpt = await readExcerpt(res.body);
      return {
        ok: true,
        status: res.statusCode,
        headers: res.headers,
        excerpt,
        latencyMs: performance.now() - started,
      };
    } catch (error) {
      const timedOut = signal.aborted || (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
      const message = timedOut ? `no response within ${req.timeoutMs} ms` : describe(error);
      return { ok: false, error: message, timedOut, latencyMs: performance.now() - started };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let seen = 0;
  for await (const chunk of body) {
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
