/**
 * A real HTTP sink on a loopback port whose misbehaviour is set, and changed, while a test runs: it
 * fails a share of requests with 500, never answers, resets the connection, answers 429 with
 * Retry-After, or answers slowly. Which requests fail is drawn from a seeded generator, one draw per
 * request, so the n-th request gets the same decision in every run with the same seed.
 *
 * It keeps one record per event it was sent (one per member of a batch), with what it answered, so a
 * test can compare the hub's account of each delivery with what the receiving end saw.
 *
 * @example
 * const sink = await startFaultSink({ seed: 42 });
 * sink.fault({ kind: 'error500', share: 0.3 });
 * // …subscribe a hub to sink.url, publish, wait…
 * sink.heal();
 * expect(apiDelivered).toEqual(sink.deliveredIds());
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Rng } from './fuzz-gen.js';
import { listen } from './listen.js';

export type FaultKind = 'ok' | 'error500' | 'hang' | 'reset' | 'status429' | 'slow';

export interface Fault {
  kind: FaultKind;
  /** Share of requests, 0 to 1, that get the fault; the rest are answered 200. Default 1. */
  share?: number;
  /** For `status429`: the Retry-After value in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** For `slow`: how long to wait before answering 200. Default 1000. */
  delayMs?: number;
  /** Heal on its own this long after the fault is set. Default: only `heal()` ends it. */
  forMs?: number;
}

/**
 * What the sink did with a request: the status it finished sending, `hang` (never answered),
 * `reset` (dropped the connection), `aborted` (the client went away before an answer was sent) or
 * `pending` (still being answered).
 */
export type Answer = number | 'hang' | 'reset' | 'aborted' | 'pending';

export interface FaultRecord {
  /** The request's number, from 0; the members of one batch share it. */
  request: number;
  /** The CloudEvent id: `ce-id` in binary mode, `id` of the body (or of the batch member) otherwise. */
  eventId: string | undefined;
  webhookId: string | undefined;
  /** The fault applied to this request, or `ok` when the draw spared it. */
  fault: FaultKind;
  answer: Answer;
  /** Arrival of the whole request (epoch ms). */
  at: number;
}

export interface FaultSink {
  url: string;
  /** Replaces the current behaviour from the next request on. */
  fault(fault: Fault): void;
  /** Answers every request 200 from now on. */
  heal(): void;
  /** Every record, in arrival order; one per event. */
  requests(): readonly FaultRecord[];
  /** Number of HTTP requests received (a batch counts once). */
  requestCount(): number;
  /** Event ids answered 2xx at least once. */
  deliveredIds(): Set<string>;
  /** Events answered 2xx, repeats included. */
  answered2xx(): number;
  /** Requests per applied fault kind. */
  faultCounts(): Record<FaultKind, number>;
  /** Closes the server, destroying hung and idle connections. */
  close(): Promise<void>;
}

const BATCH = 'application/cloudevents-batch+json';
const HEALTHY: Fault = { kind: 'ok' };

/** The event ids a delivery request carries, in order; one `undefined` when none can be read. */
function eventIdsOf(req: IncomingMessage, body: Buffer): (string | undefined)[] {
  const header = req.headers['ce-id'];
  if (typeof header === 'string') return [header];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [undefined];
  }
  const idOf = (v: unknown) => {
    const id = (v as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  };
  if ((req.headers['content-type'] ?? '').startsWith(BATCH) && Array.isArray(parsed)) {
    return parsed.length > 0 ? parsed.map(idOf) : [undefined];
  }
  return [idOf(parsed)];
}

export async function startFaultSink(options: { seed?: number } = {}): Promise<FaultSink> {
  const rng = new Rng(options.seed ?? 1);
  const records: FaultRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let current: Fault = HEALTHY;
  let healTimer: NodeJS.Timeout | undefined;
  let requests = 0;

  const setFault = (fault: Fault) => {
    if (healTimer) clearTimeout(healTimer);
    healTimer = undefined;
    current = fault;
    if (fault.forMs !== undefined) {
      healTimer = setTimeout(() => {
        if (current === fault) current = HEALTHY;
      }, fault.forMs);
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const n = requests++;
    // One draw per request whatever the fault, so the sequence of draws lines up with request numbers.
    const draw = rng.next();
    const fault = current;
    const kind: FaultKind = fault.kind !== 'ok' && draw < (fault.share ?? 1) ? fault.kind : 'ok';
    const webhookId = req.headers['webhook-id'];
    const mine = eventIdsOf(req, body).map(
      (eventId): FaultRecord => ({
        request: n,
        eventId,
        webhookId: typeof webhookId === 'string' ? webhookId : undefined,
        fault: kind,
        answer: 'pending',
        at: Date.now(),
      }),
    );
    records.push(...mine);
    const settle = (answer: Answer) => {
      for (const r of mine) r.answer = answer;
    };
    // Only an answer handed to the socket in full counts: a 2xx the client never got is not one.
    const answer = (status: number, headers: Record<string, string> = {}) => {
      if (res.destroyed) return settle('aborted');
      res.once('finish', () => settle(status));
      res.once('close', () => {
        if (!res.writableFinished) settle('aborted');
      });
      res.writeHead(status, headers).end(`answer ${status}`);
    };

    switch (kind) {
      case 'ok':
        return answer(200);
      case 'error500':
        return answer(500);
      case 'status429':
        return answer(429, { 'retry-after': String(fault.retryAfterSeconds ?? 1) });
      case 'hang':
        // Never answered: the client's timeout has to end it, or close() does.
        return settle('hang');
      case 'reset':
        settle('reset');
        // An RST rather than a FIN, where the socket allows it: the harshest way a peer can vanish.
        req.socket.resetAndDestroy();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(200);
        }, fault.delayMs ?? 1000);
        timers.add(timer);
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  const listening = await listen(server);

  return {
    url: listening.url,
    fault: setFault,
    heal: () => setFault(HEALTHY),
    requests: () => records,
    requestCount: () => requests,
    deliveredIds() {
      const ids = new Set<string>();
      for (const r of records) {
        if (typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300 && r.eventId !== undefined) {
          ids.add(r.eventId);
        }
      }
      return ids;
    },
    answered2xx: () =>
      records.filter((r) => typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300).length,
    faultCounts() {
      const counts: Record<FaultKind, number> = {
        ok: 0,
        error500: 0,
        hang: 0,
        reset: 0,
        status429: 0,
        slow: 0,
      };
      let last = -1;
      for (const r of records) {
        if (r.request === last) continue;
        last = r.request;
        counts[r.fault]++;
      }
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (healTimer) clearTimeout(healTimer);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        void listening.close().then(resolve);
      }),
  };
}
