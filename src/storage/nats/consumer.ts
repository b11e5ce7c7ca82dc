/**
 * One pull subscription on a durable consumer: takes messages, runs the handler, acks after it
 * resolves, naks with a growing delay when it rejects. Several processes running this on the same
 * durable share its messages; JetStream hands each to one of them at a time.
 */
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { CloudEvent } from '../../core/event.js';
import { decodeEvent } from './codec.js';
import { BusDecodeError } from './errors.js';

/** What a handler receives. */
export interface BusMessage {
  event: CloudEvent;
  /** The stream sequence: the event's position in its channel, the same on every redelivery. */
  seq: number;
  subject: string;
  /** 1 on the first delivery; more after a nak, an ack timeout or a lost process. */
  deliveryCount: number;
  /** A header published with the event as `meta`, by name. */
  meta(name: string): string | undefined;
}

export type BusHandler = (message: BusMessage) => Promise<void>;

export interface LoopOptions {
  maxMessages: number;
  /** Lifetime of a pull request; heartbeats come every half of it (see ConsumeOptions). */
  expiresMs: number;
  nakDelayMs: number;
  maxNakDelayMs: number;
  onError: ((error: unknown) => void) | undefined;
}

/** A running subscription: `stop` ends pulling and waits for handlers in flight. */
export interface RunningLoop {
  stop(): Promise<void>;
}

/**
 * Starts pulling from a consumer. Handlers run concurrently; how many at once is bounded by the
 * consumer's `max_ack_pending` on the server (shared by every process), so one key bucket with
 * `max_ack_pending: 1` is handled strictly one message at a time across the whole cluster.
 *
 * @example const loop = await runLoop(consumer, async (m) => record(m.event), opts); await loop.stop()
 */
export async function runLoop(
  consumer: Consumer,
  handler: BusHandler,
  options: LoopOptions,
): Promise<RunningLoop> {
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: options.maxMessages,
    expires: options.expiresMs,
  });
  const inFlight = new Set<Promise<void>>();
  const pulling = (async () => {
    try {
      for await (const msg of messages) {
        const done = handle(msg, handler, options).finally(() => inFlight.delete(done));
        inFlight.add(done);
      }
    } catch (error) {
      // The iterator ends with an error when the connection is closed under it.
      options.onError?.(error);
    }
  })();
  return {
    async stop() {
      await messages.close();
      await pulling;
      await Promise.all(inFlight);
    },
  };
}

async function handle(msg: JsMsg, handler: BusHandler, options: LoopOptions): Promise<void> {
  let event: CloudEvent;
  try {
    event = decodeEvent(msg.data);
  } catch (error) {
    // A payload that cannot be decoded never will be: terminate it rather than redeliver forever.
    safely(() => msg.term(error instanceof BusDecodeError ? error.message : 'undecodable'));
    options.onError?.(error);
    return;
  }
  const deliveryCount = msg.info.deliveryCount;
  try {
    const meta = (name: string) => (msg.headers?.has(name) ? msg.headers.get(name) : undefined);
    await handler({ event, seq: msg.seq, subject: msg.subject, deliveryCount, meta });
  } catch (error) {
    const delay = Math.min(options.nakDelayMs * 2 ** (deliveryCount - 1), options.maxNakDelayMs);
    safely(() => msg.nak(delay));
    options.onError?.(error);
    return;
  }
  // A lost ack means a redelivery (at-least-once); downstream idempotency by event key covers it.
  safely(() => msg.ack());
}

/**
 * Acks on a connection that closed meanwhile throw; the server redelivers after the ack wait,
 * which is exactly the outcome wanted, so there is nothing to do but not crash.
 */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {}
}
