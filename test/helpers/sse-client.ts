/**
 * A server-sent events client for tests, on node:http so that a test can stop reading (to make a
 * slow consumer) and see exactly how and when the stream ended.
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { type SseMessage, SseParser } from '../../src/cli/sse.js';
import { waitFor } from './server.js';

export interface SseConnection {
  status: number;
  headers: IncomingMessage['headers'];
  /** Every message so far, in order. */
  messages: SseMessage[];
  /** The body, for an answer that is not a stream (a problem). */
  text(): string;
  /** The sequence numbers of the `cloudevent` messages so far. */
  seqs(): number[];
  ended: boolean;
  /** Resolves when the response ends or the connection closes. */
  done: Promise<void>;
  pause(): void;
  resume(): void;
  /** Drops the connection, as a client that goes away does. */
  drop(): void;
  /** Waits until `n` cloudevent messages have come. */
  waitForEvents(n: number, timeoutMs?: number): Promise<void>;
}

/** Opens `GET {url}{path}` with the given headers; resolves once the response head is in. */
export function openStream(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    req = request(new URL(path, url), { headers, agent: false }, (res) => {
      let body = '';
      let markEnded: () => void = () => {};
      const messages: SseMessage[] = [];
      const parser = new SseParser((m) => messages.push(m));
      const conn: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        text: () => body,
        seqs: () => messages.filter((m) => m.event === 'cloudevent').map((m) => Number(m.id)),
        ended: false,
        done: new Promise<void>((r) => {
          markEnded = r;
        }),
        pause: () => res.pause(),
        resume: () => res.resume(),
        drop: () => req?.destroy(),
        waitForEvents: (n, timeoutMs = 15_000) =>
          waitFor(
            () => conn.seqs().length >= n,
            timeoutMs,
            `${n} streamed events (have ${conn.seqs().length})`,
          ),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        parser.push(chunk);
      });
      const end = () => {
        conn.ended = true;
        markEnded();
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      resolve(conn);
    });
    req.on('error', reject);
    req.end();
  });
}
