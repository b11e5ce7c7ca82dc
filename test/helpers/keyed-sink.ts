/**
 * A real HTTP sink for ordering tests. It keeps, per partition key, every request in arrival order
 * with what it answered, and notes each time a request of a key arrives while an earlier one of the
 * same key is still unanswered. Which requests fail (with 500 or a dropped connection) is drawn from
 * a seeded generator, one draw per request, or decided by a rule the test sets.
 *
 * A request counts as in flight from the moment its headers arrive until the sink has decided its
 * answer: the hub cannot have seen that answer before then, so an overlap it reports is one the hub
 * really caused, never an artefact of timing on the sink's side.
 *
 * @example
 * const sink = await startKeyedSink({ seed: 7, failShare: 0.3, resetShare: 0.5 });
 * // …subscribe with ordering 'partition', publish, wait…
 * expect(sink.overlaps).toEqual([]);
 * expect(sink.byKey.get('order-1')!.map((r) => r.eventId)).toEqual([...]);
 */
import { createServer, type IncomingMessage } from 'node:http';
import { Rng } from './fuzz-gen.js';
import { listen } from './listen.js';

/** What the sink did with one request: a status it sent, or `reset` when it dropped the connection. */
export type KeyedAnswer = 200 | 500 | 'reset';

export interface KeyedRequest {
  eventId: string;
  /** The `ce-partitionkey` header, or null when the event has none. */
  key: string | null;
  webhookId: string;
  answer: KeyedAnswer;
  /** Arrival of the request's headers (epoch ms). */
  at: number;
}

export interface KeyedSinkOptions {
  /** Seeds the draws; the n-th request gets the same decision in every run with the same seed. */
  seed?: number;
  /** Share of requests, 0 to 1, that fail. Default 0. */
  failShare?: number;
  /** Share of the failures that drop the connection instead of answering 500. Default 0. */
  resetShare?: number;
  /** Upper bound of a random delay before answering, in ms. Default 0. */
  maxDelayMs?: number;
}

/** Decides a request's answer before the draw does; undefined leaves it to the draw. */
export type KeyedRule = (req: { eventId: string; key: string | null }) => KeyedAnswer | undefined;

export interface KeyedSink {
  url: string;
  /** Every request, in arrival order. */
  requests: KeyedRequest[];
  /** The requests of each partition key, in arrival order. */
  byKey: Map<string, KeyedRequest[]>;
  /** One line per request that arrived while another of its key was unanswered. */
  overlaps: string[];
  /** Event ids answered 2xx, with how many times. */
  delivered: Map<string, number>;
  /** Sets or clears the rule that decides answers ahead of the draw. */
  rule(fn: KeyedRule | undefined): void;
  close(): Promise<void>;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

export async function startKeyedSink(options: KeyedSinkOptions = {}): Promise<KeyedSink> {
  const rng = new Rng(options.seed ?? 1);
  const failShare = options.failShare ?? 0;
  const resetShare = options.resetShare ?? 0;
  const maxDelayMs = options.maxDelayMs ?? 0;
  const requests: KeyedRequest[] = [];
  const byKey = new Map<string, KeyedRequest[]>();
  const overlaps: string[] = [];
  const delivered = new Map<string, number>();
  const open = new Map<string, string>();
  const timers = new Set<NodeJS.Timeout>();
  let rule: KeyedRule | undefined;

  const server = createServer((req, res) => {
    const at = Date.now();
    const eventId = header(req, 'ce-id') ?? '?';
    const key = header(req, 'ce-partitionkey') ?? null;
    if (key !== null) {
      const other = open.get(key);
      if (other !== undefined) overlaps.push(`${eventId} arrived while ${other} (key ${key}) was unanswered`);
      open.set(key, eventId);
    }
    // Draws happen in arrival order, whatever the rule says, so they line up with request numbers.
    const failDraw = rng.next();
    const resetDraw = rng.next();
    const delay = Math.floor(rng.next() * (maxDelayMs + 1));
    const answer: KeyedAnswer =
      rule?.({ eventId, key }) ?? (failDraw < failShare ? (resetDraw < resetShare ? 'reset' : 500) : 200);
    const record: KeyedRequest = { eventId, key, webhookId: header(req, 'webhook-id') ?? '', answer, at };
    requests.push(record);
    if (key !== null) {
      let list = byKey.get(key);
      if (!list) {
        list = [];
        byKey.set(key, list);
      }
      list.push(record);
    }

    const finish = () => {
      if (key !== null && open.get(key) === eventId) open.delete(key);
      if (answer === 'reset') {
        // An RST rather than a FIN: the harshest way a peer can vanish mid-request.
        req.socket.resetAndDestroy();
        return;
      }
      if (answer === 200) delivered.set(eventId, (delivered.get(eventId) ?? 0) + 1);
      res.writeHead(answer).end();
    };
    req.resume();
    req.on('end', () => {
      if (delay === 0) return finish();
      const timer = setTimeout(() => {
        timers.delete(timer);
        finish();
      }, delay);
      timers.add(timer);
    });
  });
  const listening = await listen(server);

  return {
    url: listening.url,
    requests,
    byKey,
    overlaps,
    delivered,
    rule(fn) {
      rule = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        void listening.close().then(resolve);
      }),
  };
}
