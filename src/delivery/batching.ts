/**
 * Batching: several due deliveries of one lane go out as one `application/cloudevents-batch+json`
 * request, which succeeds or is retried as a whole while each event keeps its own delivery record.
 */
import { createHash } from 'node:crypto';
import type { CloudEvent } from '../core/event.js';
import type { BatchPolicy } from '../storage/ports.js';
import type { Fifo, Queued } from './lane.js';

/** Replayed deliveries say so, with the `junctionreplay` extension naming the replay. */
export function asSent(event: CloudEvent, replayId: string | null): CloudEvent {
  return replayId === null ? event : { ...event, junctionreplay: replayId };
}

/** Bytes of the member as it goes into the batch body (UTF-8 JSON), measured once per delivery. */
function sizeOf(item: Queued): number {
  item.bytes ??= Buffer.byteLength(JSON.stringify(asSent(item.event.event, item.delivery.replayId)));
  return item.bytes;
}

/**
 * Whether a lane should send a batch now: it is full, the store holds more behind it, or its oldest
 * event has waited `maxWaitMs`. Otherwise, the time at which it should (epoch ms).
 */
export function batchReadyAt(queue: Fifo<Queued>, policy: BatchPolicy, storeHasMore: boolean): number {
  const head = queue.peek();
  if (!head) return Number.POSITIVE_INFINITY;
  if (storeHasMore || queue.length >= policy.maxEvents) return 0;
  let bytes = 1;
  for (let i = 0; i < queue.length; i++) {
    bytes += sizeOf(queue.at(i)!) + 1;
    if (bytes >= policy.maxBytes) return 0;
  }
  return head.queuedAt + policy.maxWaitMs;
}

/**
 * Takes the next batch off the queue: up to `maxEvents`, within `maxBytes` of JSON, and always at
 * least one event, so an event bigger than `maxBytes` still goes out (alone).
 */
export function takeBatch(queue: Fifo<Queued>, policy: BatchPolicy): Queued[] {
  const batch: Queued[] = [];
  // '[' and ']', and a comma before each member but the first: exactly JSON.stringify's output.
  let bytes = 1;
  while (batch.length < policy.maxEvents) {
    const next = queue.peek();
    if (!next) break;
    const size = sizeOf(next) + 1;
    if (batch.length > 0 && bytes + size > policy.maxBytes) break;
    bytes += size;
    batch.push(queue.take()!);
  }
  return batch;
}

/**
 * The webhook-id of a batch: derived from its members' ids, so a batch retried with the same
 * members keeps its id, as Standard Webhooks asks of a retried message.
 *
 * @example batchWebhookId(['msg_a', 'msg_b']) // 'msg_batch_' + 26 hex characters
 */
export function batchWebhookId(memberIds: string[]): string {
  const hash = createHash('sha256');
  for (const id of memberIds) hash.update(id).update('\n');
  return `msg_batch_${hash.digest('hex').slice(0, 26)}`;
}
