/**
 * Storage ports: what the hub asks of a backend, in the hub's language. A backend owns its
 * connections and transactions and exposes neither.
 */
import type { CompatibilityMode } from '../contracts/compatibility.js';
import type { CloudEvent } from '../core/event.js';
import type { DeliveryFormat } from '../core/http-binding.js';

/** A delivery a replay makes for an event already stored. */
export interface ReplayDelivery {
  id: string;
  webhookId: string;
  subscriptionId: string;
  orderKey: string | null;
  eventSeq: number;
  channel: string;
}

export type SubscriptionStatus = 'active' | 'disabled';

/**
 * Dead letters moved by one redrive of a whole subscription, oldest first; the caller repeats
 * while there are more, so one request cannot hold the store for minutes.
 */
export const MAX_REDRIVE_PER_CALL = 10_000;

/** A filter expression of the CloudEvents Subscriptions API (one dialect per object). */
export type Filter = Record<string, unknown>;

/**
 * How fast a subscription may be sent to. `perSecond` and `burst` count requests (a batch is one
 * request), since that is what the targets limit; `concurrency` caps requests in flight at once.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
  concurrency: number | null;
}

/** Several events in one `application/cloudevents-batch+json` request: whichever limit comes first. */
export interface BatchPolicy {
  maxEvents: number;
  maxWaitMs: number;
  maxBytes: number;
}

/** `partition`: events with the same `partitionkey` arrive in publish order, one at a time. */
export type Ordering = 'none' | 'partition';
/** With ordering, what a dead letter does to the events of its key behind it. */
export type OnDead = 'skip' | 'block';

export interface DeliveryPolicy {
  format: DeliveryFormat;
  timeoutMs: number;
  maxAttempts: number;
  maxAgeMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on a wait asked for by `Retry-After`. */
  maxRetryAfterMs: number;
  /** null: no limit of the subscription's own (the channel's budget still applies). */
  rateLimit: RateLimit | null;
  ordering: Ordering;
  onDead: OnDead;
  /** null: one event per request, unless the event's channel is a batch channel. */
  batch: BatchPolicy | null;
  /** A subscription whose every attempt has failed for this long is disabled. */
  disableAfterMs: number;
  /**
   * The schema version the subscription reads, per event type: events in another version are
   * converted before they are sent. Null: events go out in the version they arrived in.
   */
  schemaVersion: SchemaPin | null;
  /** A JSONata expression that reshapes the data for this subscription, or null. */
  transform: string | null;
  /** The data regions (`dataregion`) whose events may go to this subscription; null for any. */
  allowedRegions: string[] | null;
  /** `shadow`: matched events are recorded as `shadow` deliveries and never sent. */
  mode: 'live' | 'shadow';
  /**
   * The no-code tool preset whose settings filled in what the request left out
   * (src/adapters/presets.ts), or null.
   */
  preset: string | null;
  /** 4xx statuses retried rather than dead-lettered (n8n's 404 while its workflow is inactive). */
  retryOn: number[];
}

/** A pinned version: one number for a subscription of one type, or a version per type. */
export type SchemaPin = number | Record<string, number>;

/** How a subscription's sink is reached: the Subscriptions API's protocol names. */
export type SinkProtocol = 'HTTP' | 'AMQP' | 'MQTT3' | 'MQTT5' | 'NATS';

/**
 * The settings of a sink's protocol: `headers` and `method` for HTTP, the rest for the brokers
 * (`docs/bridges.md`); only those of the subscription's protocol are ever set.
 */
export interface ProtocolSettings {
  headers?: Record<string, string>;
  method?: string;
  exchange?: string;
  routingkey?: string;
  persistent?: boolean;
  mandatory?: boolean;
  topicname?: string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
  expiry?: number;
  userproperties?: Record<string, string>;
  subject?: string;
  jetstream?: boolean;
}

export interface Subscription {
  id: string;
  status: SubscriptionStatus;
  /** Why the hub disabled it (a 410 from the sink), when it did. */
  statusReason: string | null;
  types: string[];
  filters: Filter[];
  sink: string;
  protocol: SinkProtocol;
  protocolsettings: ProtocolSettings;
  delivery: DeliveryPolicy;
  /** Standard Webhooks secrets, newest first; more than one while a rotation is in progress. */
  secrets: string[];
  /**
   * `rest-hook`: made through `/v1/rest-hooks` by a no-code tool, which owns it; the hub removes it
   * when its target answers 410. Absent for subscriptions made through `/v1/subscriptions`.
   */
  origin?: 'rest-hook';
  /** Since when every attempt has failed (no success since), or null. */
  failingSince: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Every status a delivery can have, for the API's filters and descriptions. */
export const DELIVERY_STATUSES = [
  'pending',
  'delivered',
  'retrying',
  'dead',
  'discarded',
  'filtered',
  'blocked',
  'shadow',
] as const;

export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface StoredEvent {
  /** The hub's sequence number: the order in which events became durable. */
  seq: number;
  event: CloudEvent;
  receivedAt: string;
  /** How the event stood against its type's contract at ingest; null for a type with no schema. */
  contract?: EventContract | null;
}

/** The schema version an event was checked against at ingest, and what was wrong under `warn`. */
export interface EventContract {
  version: number;
  /** Validation errors of an event accepted under `warn` (absent when it was valid or unchecked). */
  errors?: { pointer: string; message: string }[];
}

/** How an event was converted between schema versions on its way to a pinned subscription. */
export interface Conversion {
  from: number;
  to: number;
  /** Every version it passed through, `from` and `to` included. */
  path: number[];
}

export interface Attempt {
  n: number;
  at: string;
  /** HTTP status, or null when no response came (timeout, connection error). */
  status: number | null;
  /** `blocked` and `shadow`: settled by a policy before sending; nothing was sent. */
  outcome: 'delivered' | 'retry' | 'dead' | 'disabled' | 'blocked' | 'shadow';
  latencyMs: number;
  error: string | null;
  /** The first 1 KiB of the response body. */
  response: string | null;
}

export interface Delivery {
  id: string;
  subscriptionId: string;
  eventSeq: number;
  /** The channel of the event's type when the delivery was made. */
  channel: string;
  /**
   * With `ordering: "partition"`, the event's partition key: a later delivery with the same key waits
   * while this one is pending, retrying, or dead under `onDead: "block"`. Null otherwise.
   */
  orderKey: string | null;
  /** The replay that made this delivery, or null for a live one. */
  replayId: string | null;
  /** The batch (its webhook-id) whose retry this delivery waits for, or null. */
  batchId: string | null;
  /** Stable across retries, redrives and replays: the consumer's idempotency key. */
  webhookId: string;
  /** How the event was converted to the subscription's pinned version for the last attempt, or null. */
  conversion: Conversion | null;
  status: DeliveryStatus;
  attempts: number;
  /** Attempts counted against `maxAttempts`: since creation, or since the last redrive. */
  budgetAttempts: number;
  /** When the retry budget's age (`maxAgeMs`) started: creation, or the last redrive. */
  budgetSince: string;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A delivery ready to send, with what the dispatcher needs to send it. */
export interface DueDelivery {
  delivery: Delivery;
  event: StoredEvent;
}

/** A page of a lane's due deliveries, with where the next page starts. */
export interface DuePage {
  items: DueDelivery[];
  /** Opaque: pass it back as `after` for the next page. */
  cursor: string | null;
  /** No due delivery was left after this page when it was read. */
  exhausted: boolean;
}

/** The result of an attempt, as the dispatcher decided it, with the conversion the event went through. */
export type AttemptResult = AttemptVerdict & { conversion?: Conversion };

type AttemptVerdict =
  | { kind: 'delivered'; attempt: Attempt }
  | {
      kind: 'retry';
      attempt: Attempt;
      nextAttemptAt: Date;
      /** The batch it failed in: its members are retried together, under the same webhook-id. */
      batchId?: string;
    }
  | {
      kind: 'dead';
      attempt: Attempt;
      reason: string;
      /** With `onDead: "block"`: the dead letter keeps later events of its partition key waiting. */
      holdKey?: boolean;
    }
  | { kind: 'disable'; attempt: Attempt; reason: string }
  /** Settled before sending: a region policy blocks it now, or the subscription is in shadow mode. */
  | { kind: 'settled'; attempt: Attempt; status: 'blocked' | 'shadow'; reason: string };

/** Where ingest sends an event: its channel and the subscriptions that take it. */
export interface Routed {
  channel: string;
  subscriptions: Subscription[];
  /**
   * Subscriptions that match but are not sent to: recorded as `blocked` by a region policy (the
   * reason names it) or as `shadow` for a subscription in shadow mode.
   */
  settled?: SettledRoute[];
}

/** A delivery recorded at ingest as already settled, with why. */
export interface SettledRoute {
  subscription: Subscription;
  status: 'blocked' | 'shadow';
  reason: string;
  /** For `blocked`: the policy that blocked it. */
  policy?: 'channel' | 'subscription';
}

/** Deliveries of one subscription from one channel: the unit the dispatcher schedules. */
export interface Lane {
  subscriptionId: string;
  channel: string;
}

/** A lane's deliveries still to attempt (pending or retrying), for the backlog gauges. */
export interface LaneBacklog extends Lane {
  pending: number;
  /** When the oldest of them was made (ISO 8601). */
  oldestAt: string;
}

/** A replay of archived events to one subscription, as a job with progress. */
export interface Replay {
  id: string;
  subscriptionId: string;
  /** Received-at range of the events, `from` inclusive, `to` exclusive (RFC 3339). */
  from: string;
  to: string;
  types: string[];
  filters: Filter[];
  /** Give replayed deliveries fresh webhook-ids instead of the original delivery's. */
  newWebhookIds: boolean;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  /** Events of the range looked at so far, and how many of them matched and were sent. */
  scanned: number;
  matched: number;
  /** Events in the range when the replay started. */
  total: number;
  /** The last event sequence number looked at: where a restarted replay resumes. */
  cursor: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * What ingest does with an event of a registered type: refuse one that does not match its schema
 * (`enforce`), take it flagged and counted (`warn`), or not look (`off`).
 */
export type ValidationMode = 'enforce' | 'warn' | 'off';

/** What ingest does with an event of a version past its sunset: refuse it, or take it with a warning. */
export type AfterSunset = 'refuse' | 'accept';

/** An event type's contract settings; its schemas are versions of their own. */
export interface EventType {
  type: string;
  /** The team or person who answers for the contract. */
  owner: string | null;
  description: string | null;
  /** The channel its events travel in, for the catalog; routing takes the channel from the config. */
  channel: string | null;
  /** An example event of the type. */
  example: unknown;
  compatibility: CompatibilityMode;
  /** Adding an optional property to an open content model counts as compatible. */
  optionalFriendly: boolean;
  validation: ValidationMode;
  afterSunset: AfterSunset;
  createdAt: string;
  updatedAt: string;
}

/** One registered JSON Schema of an event type; versions count from 1 and never change. */
export interface SchemaVersion {
  type: string;
  version: number;
  schema: unknown;
  createdAt: string;
  createdBy: string;
  /** When the version was deprecated, or null: publishing it then gets `Deprecation` headers. */
  deprecatedAt: string | null;
  /** When it stops being accepted (with `afterSunset: "refuse"`), or null for never. */
  sunsetAt: string | null;
}

/** A JSONata expression that rewrites the data of one version into the adjacent one. */
export interface SchemaConverter {
  type: string;
  from: number;
  to: number;
  expression: string;
  createdAt: string;
  createdBy: string;
}

/** One change to a contract, with who made it and when. */
export interface ContractChange {
  id: number;
  type: string;
  at: string;
  /** Who made it: `admin` for the bootstrap key. */
  actor: string;
  /**
   * What changed: `{ action: 'register', version, fields? }` (with the settings given alongside) or
   * `{ action: 'settings', fields }`.
   */
  change: Record<string, unknown>;
}

export interface AppendResult {
  source: string;
  id: string;
  status: 'accepted' | 'duplicate';
}

export interface Page<T> {
  items: T[];
  /** Cursor for the next page, or null on the last one. */
  next: string | null;
}

/**
 * What the dashboard's event search asks for; every field is optional. `subject` ending in `*`
 * matches as a prefix; `from` (inclusive) and `to` (exclusive) bound the received time.
 */
export interface EventQuery {
  type?: string;
  source?: string;
  subject?: string;
  correlationid?: string;
  /** The 32 hex digits of a W3C trace id, matched against the event's `traceparent`. */
  traceid?: string;
  from?: Date;
  to?: Date;
}

/** One event as a search lists it: its identity and what it was searched by, not its data. */
export interface EventSummary {
  seq: number;
  source: string;
  id: string;
  type: string;
  subject: string | null;
  time: string | null;
  receivedAt: string;
  correlationid: string | null;
  traceid: string | null;
}

/** The no-code tools an inbound hook adapts to, and `signed` for a service that signs with an HMAC. */
export const HOOK_PRESETS = [
  'generic',
  'zapier',
  'make',
  'n8n',
  'power-automate',
  'airtable',
  'ifttt',
  'signed',
] as const;

export type HookPreset = (typeof HOOK_PRESETS)[number];

/**
 * How a signed hook's sender signs: an HMAC of the body (or of a payload made from a timestamp and
 * the body) in a header, Stripe's `t=…,v1=…`, or Standard Webhooks' `webhook-signature`.
 */
export interface HookSigning {
  scheme: 'hmac' | 'stripe' | 'standard-webhooks';
  /** The shared secret, kept as given: it is needed to verify. */
  secret: string;
  /** For `hmac`: the header holding the signature. */
  header: string;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /** Text before the signature in the header, such as `sha256=`. */
  prefix: string;
  /** For `hmac`: the header holding the Unix time of signing, or null when none is signed. */
  timestampHeader: string | null;
  /** For `hmac`: what is signed, `{body}` and optionally `{timestamp}` in it (`v0:{timestamp}:{body}`). */
  payload: string;
  /** A timestamp further than this from the hub's clock is refused (replay protection). */
  toleranceSeconds: number;
}

/** An inbound hook: a URL a no-code tool posts to, and how its requests become CloudEvents. */
export interface Hook {
  id: string;
  name: string | null;
  preset: HookPreset;
  status: 'active' | 'disabled';
  /** The event type, or the fallback when `typeField`/`typeHeader` is absent from a request. */
  type: string | null;
  typeField: string | null;
  typeHeader: string | null;
  /** Put before a type read from a field or header (`com.github.` before `push`). */
  typePrefix: string;
  source: string;
  subjectField: string | null;
  partitionKeyField: string | null;
  idField: string | null;
  idHeader: string | null;
  /** A JSONata expression that makes the event's data from the body, or null for the body as is. */
  mapping: string | null;
  signing: HookSigning | null;
  /** Airtable's `macSecretBase64`, kept to verify `X-Airtable-Content-MAC`. */
  macSecret: string | null;
  /** The largest body taken, in bytes. */
  maxBodyBytes: number;
  /** sha256 (hex) of the URL secret; the secret itself is never stored. */
  secretHash: string;
  /** After a rotation with a grace period: the previous secret's hash, and until when it works. */
  previousSecretHash: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What `takeTokens` gave: `waitMs` is 0 when tokens were granted. */
export interface TokenGrant {
  granted: number;
  waitMs: number;
}

/** What another process changed: read it again. */
export type StoreChange = { kind: 'subscription'; id: string } | { kind: 'contract'; type: string };

export interface EventStore {
  /**
   * Appends events and creates their deliveries, for the subscriptions `route` picks, in one
   * durable transaction. Resolves once the transaction is durable. A `(source, id)` already stored
   * is a duplicate and creates nothing.
   */
  append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Routed,
    contracts?: (EventContract | null)[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }>;
  /** Events accepted but not yet durable: what ingest checks before taking more. */
  backlog(): number;

  /** Creates or replaces a subscription. */
  saveSubscription(sub: Subscription): Promise<void>;
  /**
   * Deletes a subscription; its deliveries still to attempt become dead letters. Resolves with how
   * many did, or null if there was no such subscription.
   */
  deleteSubscription(id: string): Promise<number | null>;
  getSubscription(id: string): Promise<Subscription | undefined>;
  listSubscriptions(): Promise<Subscription[]>;

  /** Every lane with deliveries still to attempt. */
  lanes(): Promise<Lane[]>;
  /** Every lane with deliveries still to attempt, with how many and when the oldest was made. */
  backlogByLane(): Promise<LaneBacklog[]>;
  /**
   * A lane's deliveries whose next attempt is due, oldest first, skipping the ids in `exclude`. With
   * ordering, only the first unsettled delivery of each partition key is due.
   */
  dueInLane(lane: Lane, now: Date, limit: number, exclude: ReadonlySet<string>): Promise<DueDelivery[]>;
  /**
   * The same, continuing after `after`, a cursor from an earlier page (null: from the start), so a
   * lane working through a backlog reads each row once. A delivery that comes due behind the
   * cursor (a retry is always ahead of it; one whose key was just released may not be) is found
   * once the lane starts again from null, which it does whenever a page comes back `exhausted`.
   */
  dueInLanePage(
    lane: Lane,
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
    after: string | null,
  ): Promise<DuePage>;
  /** The channels in which the subscription has deliveries still to attempt. */
  channelsWithWork(subscriptionId: string): Promise<string[]>;
  /** The earliest time after `now` that a delivery of the lane is due, if any. */
  nextDueInLane(lane: Lane, now: Date): Promise<Date | null>;
  /**
   * Records an attempt and moves the delivery to its next state. Resolves once durable; attempt
   * records are group-committed like ingest, since one fsync per attempt would cap throughput.
   */
  recordAttempt(deliveryId: string, result: AttemptResult): Promise<void>;

  /** Whether an event with this source and id is stored. */
  hasEvent(source: string, id: string): Promise<boolean>;
  lookupEvent(
    source: string,
    id: string,
  ): Promise<{ event: StoredEvent; deliveries: (Delivery & { attemptLog: Attempt[] })[] } | undefined>;
  listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>>;
  listDeadLetters(
    subscriptionId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>>;
  /** The identity and type of events by sequence number, for listings that show deliveries. */
  eventSummaries(seqs: number[]): Promise<Map<number, { source: string; id: string; type: string }>>;
  /** Moves dead deliveries back to pending, due now; returns the ones moved. */
  redrive(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]>;
  /** Gives up on dead deliveries for good (they stop blocking their partition key); returns them. */
  discard(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]>;
  /**
   * Deletes up to `limit` events of the channel received before `before` that have nothing left to
   * deliver or redrive, with their deliveries and attempts; returns how many it deleted.
   */
  sweep(channel: string, before: Date, limit: number): Promise<number>;

  /**
   * Archived events received in [from, to), in order of receipt (then sequence number), after the
   * event `afterSeq` (0: from the start).
   */
  archived(
    from: Date,
    to: Date,
    afterSeq: number,
    limit: number,
  ): Promise<(StoredEvent & { channel: string })[]>;
  /**
   * Stored events matching every field of the query, newest (highest sequence number) first, with
   * a sequence number below `beforeSeq` when given: keyset paging, each filter served by an index.
   */
  searchEvents(query: EventQuery, limit: number, beforeSeq: number | undefined): Promise<EventSummary[]>;
  /** The latest `limit` stored events of a type, newest first. */
  recentEvents(type: string, limit: number): Promise<StoredEvent[]>;
  /** How many archived events were received in [from, to). */
  countArchived(from: Date, to: Date): Promise<number>;
  /** The deliveries a replay made, counted by status. */
  replayDeliveryCounts(replayId: string): Promise<Partial<Record<DeliveryStatus, number>>>;
  /** A subscription's deliveries counted by status. */
  deliveryCounts(subscriptionId: string): Promise<Partial<Record<DeliveryStatus, number>>>;
  /**
   * The webhook-ids of the events' original (not replayed) deliveries to the subscription, by event
   * sequence number; events without one are absent. One read for a replay's whole page.
   */
  webhookIdsOf(eventSeqs: number[], subscriptionId: string): Promise<Map<number, string>>;
  /** Saves a replay's progress together with the deliveries of its latest page, in one transaction. */
  saveReplay(replay: Replay, deliveries: ReplayDelivery[]): Promise<void>;
  getReplay(id: string): Promise<Replay | undefined>;
  /** The newest replays first. */
  listReplays(limit: number): Promise<Replay[]>;
  /** Every replay still running: what a start resumes. */
  runningReplays(): Promise<Replay[]>;
  /**
   * Takes (or keeps) a running replay for this process, before each page it works through. A store
   * shared by several processes grants it to one at a time, for a while: false while another
   * process holds it; a store only one process uses always grants it.
   */
  claimReplay(id: string): Promise<boolean>;
  /**
   * Takes up to `n` tokens (at least 1) from the token bucket `key` (a subscription's rate limit):
   * `burst` tokens, refilled at `perSecond`, full when first used, and shared by every process on
   * the store. Resolves with the tokens granted (0 to n) and, when none are, the milliseconds until
   * one will be. A bucket whose rate or burst changed keeps its schedule under the new settings.
   */
  takeTokens(key: string, perSecond: number, burst: number, n: number): Promise<TokenGrant>;

  /**
   * Registers a schema as the type's next version and saves the type's settings with it, recording
   * `change` (to which the version number is added), in one transaction. `expectedLatest` is the version the schema was checked against
   * (0 for none): when another version has been registered since, nothing is stored and it resolves
   * null, so a schema is never stored unchecked against its predecessor. Otherwise resolves the new
   * version's number.
   */
  registerSchema(
    settings: EventType,
    schema: unknown,
    expectedLatest: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<SchemaVersion | null>;
  /** Saves a type's settings and records what changed. */
  saveEventType(settings: EventType, actor: string, change: Record<string, unknown>): Promise<void>;
  getEventType(type: string): Promise<EventType | undefined>;
  /** Every type with settings, by name. */
  listEventTypes(): Promise<EventType[]>;
  /** A type's versions, oldest first. */
  schemaVersions(type: string): Promise<SchemaVersion[]>;
  /** One version of a type, or its latest when `version` is omitted. */
  getSchemaVersion(type: string, version?: number): Promise<SchemaVersion | undefined>;
  /** A type's contract changes, oldest first. */
  contractChanges(type: string): Promise<ContractChange[]>;
  /** Sets a version's deprecation and sunset, recording the change. False when there is no such version. */
  setSchemaLifecycle(
    type: string,
    version: number,
    lifecycle: { deprecatedAt: string | null; sunsetAt: string | null },
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean>;
  /** Saves (or replaces) a converter between adjacent versions, recording the change. */
  saveConverter(converter: SchemaConverter, change: Record<string, unknown>): Promise<void>;
  /** Deletes a converter, recording the change. False when there was none. */
  deleteConverter(
    type: string,
    from: number,
    to: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean>;
  /** A type's converters, by `from` then `to`. */
  converters(type: string): Promise<SchemaConverter[]>;

  /** Creates or replaces an inbound hook. */
  saveHook(hook: Hook): Promise<void>;
  getHook(id: string): Promise<Hook | undefined>;
  /** Every hook, by id (so in order of creation). */
  listHooks(): Promise<Hook[]>;
  /** Deletes a hook. False if there was none. */
  deleteHook(id: string): Promise<boolean>;

  /** Checks that the store answers, for `/readyz`, and when `healthy()` says it did not. */
  ping(): Promise<boolean>;
  /**
   * Whether the store took its last reads and writes, as last seen: no round trip, so the
   * dispatcher can ask before every round of sends.
   */
  healthy(): boolean;
  /**
   * Calls `listener` when another process changes a subscription or a contract, so that what this
   * process holds in memory can be read again. A store only one process uses never calls it: the
   * hub applies its own changes as it makes them. Returns a function that stops the calls.
   */
  watch(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}
