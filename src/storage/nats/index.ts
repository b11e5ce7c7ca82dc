/** The NATS JetStream event bus: see bus.ts, and docs/distributed.md for the scheme. */
export { type BusChannel, JetStreamBus, type PublishResult, type Subscription } from './bus.js';
export { CONTENT_TYPE, decodeEvent, encodeEvent } from './codec.js';
export type { BusState, StatusListener } from './connection.js';
export type { BusHandler, BusMessage } from './consumer.js';
export {
  BusClosedError,
  BusDecodeError,
  BusRequestError,
  BusUnavailableError,
  InvalidBusNameError,
  PublishTimeoutError,
} from './errors.js';
export { escapeToken, eventSubject, PARTITION_BUCKETS, partitionBucket, streamName } from './names.js';
export type { BusOptions, ConsumeOptions } from './options.js';
