/**
 * Acknowledged JetStream publishes over one reply subscription.
 *
 * A JetStream publish is a core NATS publish with a reply subject: the stream that stores the
 * message answers there with `{stream, seq, duplicate}` or `{error}`. The client's `js.publish`
 * does this through `nc.request`, which for every publish makes a request object, a timer, a
 * deferred, and on completion an `Error` with its stack (the request's `cancel` rejects the
 * settled promise with a fresh `RequestError`): 8 % of the hub's CPU at batched ingest, and most of
 * its garbage. Here every publish shares one wildcard subscription and one sweep timer; the
 * answer is matched by the token at the end of its reply subject. Hand-written because the client
 * offers no cheaper acknowledged publish.
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { BusClosedError, BusRequestError, BusUnavailableError, PublishTimeoutError } from './errors.js';

/** What JetStream answered: the stream sequence, and whether the message id was seen already. */
export interface PubAck {
  seq: number;
  duplicate: boolean;
}

interface Waiter {
  subject: string;
  deadline: number;
  resolve(ack: PubAck): void;
  reject(error: Error): void;
}

/** The status code NATS sends to a reply subject when no subscription took the message. */
const NO_RESPONDERS = 503;

export class AckedPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #inbox: string;
  readonly #pending = new Map<number, Waiter>();
  readonly #sweep: NodeJS.Timeout;
  #queue: { token: number; subject: string; data: Uint8Array; headers: MsgHdrs }[] = [];
  #next = 0;

  /** Subscribes to the replies at once; `timeoutMs` bounds the wait for each acknowledgement. */
  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#inbox = createInbox();
    nc.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => this.#answer(error, msg) });
    // A tenth of the timeout (at least 20 ms): a publish times out at most 10 % late.
    this.#sweep = setInterval(() => this.#expire(), Math.max(20, timeoutMs / 10));
    this.#sweep.unref();
    void nc.closed().then(() => this.close());
  }

  /** Publishes for as long as the publish waits; what a caller checks before publishing more. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * Publishes `data` to `subject` and resolves with JetStream's acknowledgement. While the
   * connection is down the client buffers the publish; it times out if no answer comes in time.
   *
   * @example const { seq } = await publisher.publish('junction.orders.x', bytes, headers)
   * @throws PublishTimeoutError when no acknowledgement came in time (retry with the same message id).
   * @throws BusUnavailableError when no stream takes the subject.
   * @throws BusRequestError when the stream refused the message (limits, expected sequence).
   */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    const token = ++this.#next;
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { subject, deadline: performance.now() + this.#timeoutMs, resolve, reject });
      this.#queue.push({ token, subject, data, headers });
      if (this.#queue.length === 1) setImmediate(this.#send);
    });
  }

  /**
   * Hands the queued publishes to the client at once, so that they leave in one socket write. The
   * client writes what was published since its last write once the current task ends; requests
   * that arrived together (one turn of the event loop) each publish in their own task, and on
   * loopback a socket write costs more than the publish: 30 % of the hub's CPU at one event per
   * request, before the queue.
   */
  readonly #send = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    for (const { token, subject, data, headers } of queue) {
      try {
        this.#nc.publish(subject, data, { reply: `${this.#inbox}.${token}`, headers });
      } catch (error) {
        const waiter = this.#pending.get(token);
        if (!waiter) continue;
        this.#pending.delete(token);
        waiter.reject(
          this.#nc.isClosed()
            ? new BusClosedError(`publish to ${subject} failed: the bus is closed`, { cause: error })
            : new BusRequestError(`publish to ${subject} failed: ${(error as Error).message}`, {
                cause: error,
              }),
        );
      }
    }
  };

  /** Stops the sweep and fails what still waits: the connection is gone. */
  close(): void {
    clearInterval(this.#sweep);
    for (const [token, waiter] of this.#pending) {
      this.#pending.delete(token);
      waiter.reject(new BusClosedError(`publish to ${waiter.subject} failed: the bus is closed`));
    }
  }

  #answer(error: Error | null, msg: Msg): void {
    if (error) return; // The subscription's own error (a permission violation): publishes time out.
    const token = Number(msg.subject.slice(this.#inbox.length + 1));
    const waiter = this.#pending.get(token);
    if (!waiter) return; // Answered after its timeout.
    this.#pending.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS) {
      waiter.reject(
        new BusUnavailableError(`publish to ${waiter.subject} failed: no JetStream stream answered`),
      );
      return;
    }
    let ack: {
      seq?: unknown;
      duplicate?: unknown;
      error?: { code?: number; err_code?: number; description?: string };
    };
    try {
      ack = msg.json();
    } catch (cause) {
      waiter.reject(
        new BusRequestError(`publish to ${waiter.subject} failed: the answer is not JSON`, { cause }),
      );
      return;
    }
    if (ack.error || typeof ack.seq !== 'number') {
      const { description = 'no sequence in the acknowledgement', err_code, code } = ack.error ?? {};
      const message = `publish to ${waiter.subject} failed: ${description}${err_code ? ` (JetStream error ${err_code})` : ''}`;
      // JetStream's own 503: no quorum, a leader being elected. Worth retrying, unlike the rest.
      waiter.reject(code === 503 ? new BusUnavailableError(message) : new BusRequestError(message));
      return;
    }
    waiter.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  #expire(): void {
    const now = performance.now();
    // Insertion order is deadline order: every publish waits the same time.
    for (const [token, waiter] of this.#pending) {
      if (waiter.deadline > now) break;
      this.#pending.delete(token);
      waiter.reject(
        new PublishTimeoutError(`publish to ${waiter.subject} failed: no answer from JetStream in time`),
      );
    }
  }
}
