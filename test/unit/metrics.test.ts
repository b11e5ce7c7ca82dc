import { describe, expect, it } from 'vitest';
import {
  MalformedRequestError,
  OverloadedError,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/core/errors.js';
import { deliveryFields, eventFields, traceIdOf } from '../../src/observability/log-fields.js';
import {
  type LatencyItem,
  rejectReason,
  sendOutcome,
  statusClass,
} from '../../src/observability/metric-labels.js';
import { Metrics } from '../../src/observability/metrics.js';
import { BusClosedError, BusUnavailableError, PublishTimeoutError } from '../../src/storage/nats/errors.js';
import type { StoredEvent } from '../../src/storage/ports.js';
import { MigrationsPendingError, StoreUnavailableError } from '../../src/storage/postgres/errors.js';

const answered = (status: number) => ({ ok: true, status, headers: {}, excerpt: '', latencyMs: 3 }) as const;
const unanswered = (extra: { timedOut?: boolean; refused?: true } = {}) =>
  ({ ok: false, error: 'x', timedOut: false, latencyMs: 3, ...extra }) as const;

describe('metric labels', () => {
  it('names the refusal reason of ingest errors from a fixed list', () => {
    expect(rejectReason(ValidationError.field('/id', 'required'))).toBe('invalid');
    expect(rejectReason(new MalformedRequestError('bad JSON'))).toBe('malformed');
    expect(rejectReason(new PayloadTooLargeError('big'))).toBe('too_large');
    expect(rejectReason(new OverloadedError('busy'))).toBe('overloaded');
    expect(rejectReason({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })).toBe('too_large');
    expect(rejectReason({ code: 'schema-violation' })).toBe('schema');
    expect(rejectReason({ code: 'unknown-type' })).toBe('unknown_type');
    expect(rejectReason(new Error('surprise'))).toBe('other');
    expect(rejectReason(undefined)).toBe('other');
  });

  it("labels the store's and the bus's outages unavailable, whatever their own code", () => {
    expect(rejectReason(new StoreUnavailableError('PostgreSQL refused the connection'))).toBe('unavailable');
    expect(rejectReason(new BusUnavailableError('no responders'))).toBe('unavailable');
    expect(rejectReason(new PublishTimeoutError('no ack in 5 s'))).toBe('unavailable');
    expect(rejectReason(new BusClosedError('draining'))).toBe('unavailable');
    expect(rejectReason(new MigrationsPendingError('public', ['0002']))).toBe('unavailable');
  });

  it('tells outcomes and status classes of a send apart', () => {
    expect([sendOutcome(answered(204)), statusClass(answered(204))]).toEqual(['delivered', '2xx']);
    expect([sendOutcome(answered(404)), statusClass(answered(404))]).toEqual(['failed', '4xx']);
    expect([sendOutcome(answered(503)), statusClass(answered(503))]).toEqual(['failed', '5xx']);
    expect([sendOutcome(answered(301)), statusClass(answered(301))]).toEqual(['failed', '3xx']);
    expect([sendOutcome(unanswered({ timedOut: true })), statusClass(unanswered())]).toEqual([
      'timeout',
      'none',
    ]);
    expect(sendOutcome(unanswered())).toBe('error');
    expect(sendOutcome(unanswered({ refused: true }))).toBe('refused');
  });
});

describe('Metrics recording', () => {
  const stored = (
    receivedAt: string,
    delivery: Partial<LatencyItem['delivery']> = {},
  ): { event: StoredEvent; delivery: LatencyItem['delivery'] } => ({
    event: { seq: 1, receivedAt, event: { specversion: '1.0', id: 'e', source: '/s', type: 't' } },
    delivery: { replayId: null, createdAt: receivedAt, budgetSince: receivedAt, ...delivery },
  });
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const delivered = {
    kind: 'delivered' as const,
    attempt: {
      n: 1,
      at: new Date().toISOString(),
      status: 200,
      outcome: 'delivered' as const,
      latencyMs: 1,
      error: null,
      response: null,
    },
  };
  const dead = {
    kind: 'dead' as const,
    attempt: { ...delivered.attempt, status: 500, outcome: 'dead' as const },
    reason: 'gave up',
  };

  it('counts ingest by known type or other, and duplicates, in the counters and the stats alike', async () => {
    const m = new Metrics();
    m.bind({ backlog: async () => [], breakers: () => [], known: (t) => t === 'known' });
    const ev = (type: string) => ({ specversion: '1.0' as const, id: 'x', source: '/s', type });
    m.ingested(
      [ev('known'), ev('secret.customer.type'), ev('known')],
      [
        { source: '/s', id: 'x', status: 'accepted' },
        { source: '/s', id: 'x', status: 'accepted' },
        { source: '/s', id: 'x', status: 'duplicate' },
      ],
    );
    const text = await m.registry.metrics();
    expect(text).toContain('junction_events_ingested_total{type="known"} 1');
    expect(text).toContain('junction_events_ingested_total{type="other"} 1');
    expect(text).not.toContain('secret.customer.type');
    expect(text).toContain('junction_events_duplicate_total 1');
    expect(m.stats.totals().ingested).toBe(2);
  });

  it('records a batch attempt per member, with latency from receipt for the delivered', async () => {
    const m = new Metrics();
    const received = new Date(Date.now() - 2_000).toISOString();
    const attempt = {
      n: 1,
      at: received,
      status: 500,
      outcome: 'retry' as const,
      latencyMs: 1,
      error: null,
      response: null,
    };
    m.attempted(
      'sub_1',
      [stored(received), stored(received)],
      [
        { kind: 'retry', attempt, nextAttemptAt: new Date() },
        { kind: 'dead', attempt: { ...attempt, outcome: 'dead' }, reason: 'gave up' },
      ],
      answered(500),
    );
    m.attempted(
      'sub_1',
      [stored(received)],
      [{ kind: 'delivered', attempt: { ...attempt, status: 200, outcome: 'delivered' } }],
      answered(200),
    );
    const text = await m.registry.metrics();
    expect(text).toContain('junction_delivery_attempts_total{outcome="failed",status_class="5xx"} 2');
    expect(text).toContain('junction_delivery_attempts_total{outcome="delivered",status_class="2xx"} 1');
    expect(text).toContain('junction_dead_letters_total{subscription="sub_1"} 1');
    expect(text).toContain('junction_delivery_latency_seconds_count{subscription="sub_1"} 1');
    expect(text).toContain('junction_delivery_latency_seconds_bucket{le="1",subscription="sub_1"} 0');
    expect(text).toContain('junction_delivery_latency_seconds_bucket{le="2.5",subscription="sub_1"} 1');
    expect(m.stats.totals()).toEqual({ ingested: 0, delivered: 1, failed: 2, dead: 1 });
  });

  it('measures a replay from its making and a redrive from the redrive, not from an old receipt', async () => {
    const m = new Metrics();
    const lastWeek = ago(7 * 86_400_000);
    m.attempted(
      'sub_1',
      [
        stored(lastWeek, { replayId: 'rpl_1', createdAt: ago(1_500), budgetSince: ago(1_500) }),
        stored(lastWeek, { createdAt: lastWeek, budgetSince: ago(1_500) }),
      ],
      [delivered, delivered],
      answered(200),
    );
    const text = await m.registry.metrics();
    expect(text).toContain('junction_delivery_latency_seconds_bucket{le="1",subscription="sub_1"} 0');
    expect(text).toContain('junction_delivery_latency_seconds_bucket{le="2.5",subscription="sub_1"} 2');
    expect(m.stats.series(5).at(-1)?.p99Ms).toBeLessThan(2_500);
  });

  it('counts the dead letters a deletion made once, and drops the subscription series after a while', async () => {
    const m = new Metrics(50);
    m.attempted('sub_gone', [stored(ago(100))], [delivered], answered(200));
    m.throttled('sub_gone');
    m.attempted('sub_kept', [stored(ago(100))], [dead], answered(500));
    m.subscriptionDeleted('sub_gone', 3);
    // Its delivery in flight was among the three: answered now, it is not counted again.
    m.attempted('sub_gone', [stored(ago(100))], [dead], answered(500));
    m.deadWithoutSending('sub_gone');
    let text = await m.registry.metrics();
    expect(text).toContain('junction_dead_letters_total{subscription="sub_gone"} 3');
    expect(text).toContain('junction_deliveries_throttled_total{subscription="sub_gone"} 1');
    expect(text).toContain('junction_delivery_latency_seconds_count{subscription="sub_gone"} 1');
    expect(m.stats.totals().dead).toBe(4);

    await new Promise((r) => setTimeout(r, 100));
    text = await m.registry.metrics();
    expect(text).not.toContain('subscription="sub_gone"');
    expect(text).toContain('junction_dead_letters_total{subscription="sub_kept"} 1');
  });

  it('reads the backlog and breaker gauges at scrape time, dropping lanes gone since', async () => {
    const m = new Metrics();
    let lanes = [
      {
        subscriptionId: 'sub_1',
        channel: 'orders',
        pending: 4,
        oldestAt: new Date(Date.now() - 90_000).toISOString(),
      },
    ];
    m.bind({
      backlog: async () => lanes,
      breakers: () => [
        { endpoint: 'http://a/…#1', state: 'open' },
        { endpoint: 'http://b/…#2', state: 'half-open' },
      ],
      known: () => false,
    });
    let text = await m.registry.metrics();
    expect(text).toContain('junction_backlog_pending_deliveries{subscription="sub_1",channel="orders"} 4');
    const age =
      /junction_backlog_oldest_pending_age_seconds\{subscription="sub_1",channel="orders"\} (\S+)/.exec(text);
    expect(Number(age?.[1])).toBeGreaterThanOrEqual(90);
    expect(Number(age?.[1])).toBeLessThan(100);
    expect(text).toContain('junction_endpoint_breaker_state{endpoint="http://a/…#1"} 2');
    expect(text).toContain('junction_endpoint_breaker_state{endpoint="http://b/…#2"} 1');
    lanes = [];
    text = await m.registry.metrics();
    expect(text).not.toContain('junction_backlog_pending_deliveries{');
    expect(text).not.toContain('junction_backlog_oldest_pending_age_seconds{');
  });

  it('still answers a scrape when the store does not, without backlog series', async () => {
    const m = new Metrics();
    let down = false;
    m.bind({
      backlog: async () => {
        if (down) throw new Error('the store does not answer');
        return [
          { subscriptionId: 'sub_1', channel: 'orders', pending: 1, oldestAt: new Date().toISOString() },
        ];
      },
      breakers: () => [],
      known: () => false,
    });
    expect(await m.registry.metrics()).toContain('junction_backlog_pending_deliveries{subscription="sub_1"');
    down = true;
    const text = await m.registry.metrics();
    expect(text).toContain('junction_events_duplicate_total 0');
    expect(text).not.toContain('junction_backlog_pending_deliveries{');
    await expect(m.backlog()).rejects.toThrow('does not answer');
    expect(await m.tryBacklog()).toEqual({ error: 'the store does not answer' });
  });
});

describe('log fields', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('takes the trace id from a well-formed traceparent only', () => {
    expect(traceIdOf(traceparent)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdOf(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(traceIdOf('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceIdOf('garbage')).toBeUndefined();
    expect(traceIdOf(42)).toBeUndefined();
    expect(traceIdOf(undefined)).toBeUndefined();
  });

  it('names the event, subscription and attempt under way', () => {
    const event = { specversion: '1.0' as const, id: 'o-1', source: '/shop', type: 't', traceparent };
    expect(eventFields(event)).toEqual({
      event: { source: '/shop', id: 'o-1' },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    expect(eventFields({ ...event, traceparent: undefined })).toEqual({
      event: { source: '/shop', id: 'o-1' },
    });
    const d = { event: { seq: 1, receivedAt: '', event }, delivery: { attempts: 2 } };
    expect(deliveryFields('sub_1', d)).toEqual({
      event: { source: '/shop', id: 'o-1' },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      subscription: 'sub_1',
      attempt: 3,
    });
  });
});
