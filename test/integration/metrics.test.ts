/**
 * Metrics, log fields and live stats against the real hub process and real sinks: a scripted run
 * (deliveries that succeed, fail into dead letters, wait on a Retry-After, are rate limited, trip a
 * breaker; a duplicate; refused publishes), after which every counter, the latency histogram's
 * counts, the backlog gauges and `GET /v1/stats` say exactly what happened.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamName } from '../../src/storage/nats/names.js';
import { migrate } from '../../src/storage/postgres/index.js';
import { allDeliveries } from '../helpers/delivery.js';
import { canConnect, NATS_URL, uniquePrefix } from '../helpers/nats.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const ORDER = 'com.acme.order.created';
const NOTE = 'com.acme.note.added';
const FAIL = 'com.acme.fail.happened';
const METERED = 'com.acme.metered.tick';
const PARKED = 'com.acme.parked.thing';
const BREAK = 'com.acme.break.now';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let hub: HubProcess;
let ok: Sink;
let failing: Sink;
let parked: Sink;
let breaking: Sink;
const subs: Record<string, string> = {};
const started = Date.now();

/** One sample of the exposition text, by name and exact labels; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!;
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) {
      return Number(m[3]);
    }
  }
  return undefined;
}

/** Every sample of a metric, with its labels. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(): Promise<string> {
  const res = await hub.fetch('/metrics');
  expect(res.status).toBe(200);
  return res.text();
}

const events = (type: string, prefix: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    source: '/metrics-test',
    type,
    data: { total: i },
    ...extra,
  }));

async function statuses(subscriptionId: string): Promise<string[]> {
  return (await allDeliveries(hub, subscriptionId)).map((d) => d.status);
}

beforeAll(async () => {
  ok = await startSink();
  failing = await startSink((_req, res) => res.writeHead(500).end('boom'));
  parked = await startSink((_req, res) => res.writeHead(503, { 'retry-after': '3600' }).end('later'));
  breaking = await startSink((_req, res) => res.writeHead(500).end('down'));
  hub = await startHub({ env: { JUNCTION_LOG_LEVEL: 'debug' } });

  const schema = await hub.fetch(`/v1/schemas/${ORDER}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: { type: 'object', properties: { total: { type: 'number' } }, required: ['total'] },
    }),
  });
  expect(schema.status).toBe(201);
  subs.ok = (await hub.subscribe({ sink: `${ok.url}/ok`, types: [ORDER, NOTE] })).id;
  subs.fail = (
    await hub.subscribe({ sink: failing.url, types: [FAIL], delivery: { maxAttempts: 2, initialDelayMs: 0 } })
  ).id;
  subs.metered = (
    await hub.subscribe({
      sink: `${ok.url}/metered`,
      types: [METERED],
      delivery: { rateLimit: { perSecond: 10, burst: 1 } },
    })
  ).id;
  subs.parked = (await hub.subscribe({ sink: parked.url, types: [PARKED] })).id;
  subs.break = (await hub.subscribe({ sink: breaking.url, types: [BREAK], delivery: { maxAttempts: 1 } })).id;

  // The script: 3 + 2 delivered at once, a duplicate, 3 refused publishes, 2 events failing twice
  // into dead letters, 5 rate limited, 3 waiting an hour on Retry-After, 20 tripping a breaker.
  await publishBatch(hub, events(ORDER, 'o', 3));
  await publishBatch(hub, events(NOTE, 'n', 2));
  const again = await hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', ...events(ORDER, 'o', 1)[0] }),
  });
  expect(((await again.json()) as { events: { status: string }[] }).events[0]!.status).toBe('duplicate');
  const schemaRefused = await hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      id: 'bad',
      source: '/metrics-test',
      type: ORDER,
      data: { total: 'x' },
    }),
  });
  expect(schemaRefused.status).toBe(400);
  const malformed = await hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: '{"specversion": ',
  });
  expect(malformed.status).toBe(400);
  const anonymous = await fetch(`${hub.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', ...events(NOTE, 'anon', 1)[0] }),
  });
  expect(anonymous.status).toBe(401);
  await publishBatch(hub, events(FAIL, 'f', 2, { traceparent: TRACEPARENT }));
  await publishBatch(hub, events(METERED, 'm', 5));
  await publishBatch(hub, events(PARKED, 'p', 3));
  await publishBatch(hub, events(BREAK, 'b', 20));

  const settled = async (id: string, want: string, n: number) =>
    waitFor(
      async () => {
        const s = await statuses(id);
        return s.length === n && s.every((x) => x === want);
      },
      20_000,
      `${n} ${want} deliveries of ${id}`,
    );
  await settled(subs.ok, 'delivered', 5);
  await settled(subs.fail, 'dead', 2);
  await settled(subs.metered, 'delivered', 5);
  await settled(subs.parked, 'retrying', 3);
  await settled(subs.break, 'dead', 20);
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await Promise.all([ok, failing, parked, breaking].map((s) => s?.close()));
});

describe('GET /metrics after a scripted run', () => {
  it('counts ingested events by type (unregistered types as other), duplicates and refusals by reason', async () => {
    const text = await scrape();
    expect(sample(text, 'junction_events_ingested_total', { type: ORDER })).toBe(3);
    expect(sample(text, 'junction_events_ingested_total', { type: 'other' })).toBe(2 + 2 + 5 + 3 + 20);
    expect(samples(text, 'junction_events_ingested_total')).toHaveLength(2);
    expect(sample(text, 'junction_events_duplicate_total')).toBe(1);
    expect(sample(text, 'junction_events_rejected_total', { reason: 'schema' })).toBe(1);
    expect(sample(text, 'junction_events_rejected_total', { reason: 'malformed' })).toBe(1);
    expect(sample(text, 'junction_events_rejected_total', { reason: 'unauthorized' })).toBe(1);
    expect(samples(text, 'junction_events_rejected_total')).toHaveLength(3);
  });

  it('counts attempts by outcome and status class, and dead letters by subscription', async () => {
    const text = await scrape();
    expect(
      sample(text, 'junction_delivery_attempts_total', { outcome: 'delivered', status_class: '2xx' }),
    ).toBe(10);
    // Two events twice each, three parked once, twenty once into the breaker.
    expect(sample(text, 'junction_delivery_attempts_total', { outcome: 'failed', status_class: '5xx' })).toBe(
      4 + 3 + 20,
    );
    expect(samples(text, 'junction_delivery_attempts_total')).toHaveLength(2);
    expect(sample(text, 'junction_dead_letters_total', { subscription: subs.fail! })).toBe(2);
    expect(sample(text, 'junction_dead_letters_total', { subscription: subs.break! })).toBe(20);
    expect(samples(text, 'junction_dead_letters_total')).toHaveLength(2);
    // The sinks saw what the counters say was sent.
    expect(ok.received).toHaveLength(10);
    expect(failing.received).toHaveLength(4);
    expect(parked.received).toHaveLength(3);
    expect(breaking.received).toHaveLength(20);
  });

  it('observes end-to-end latency of each delivered delivery, by subscription', async () => {
    const text = await scrape();
    const elapsed = (Date.now() - started) / 1000;
    for (const id of [subs.ok!, subs.metered!]) {
      expect(sample(text, 'junction_delivery_latency_seconds_count', { subscription: id })).toBe(5);
      const sum = sample(text, 'junction_delivery_latency_seconds_sum', { subscription: id })!;
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(5 * elapsed);
      expect(sample(text, 'junction_delivery_latency_seconds_bucket', { subscription: id, le: '+Inf' })).toBe(
        5,
      );
    }
    // The rate limit (10/s, burst 1) spaces the five: the last is delivered at least 0.3 s after receipt.
    expect(
      sample(text, 'junction_delivery_latency_seconds_sum', { subscription: subs.metered! }),
    ).toBeGreaterThan(0.3);
    expect(samples(text, 'junction_delivery_latency_seconds_count')).toHaveLength(2);
  });

  it('counts deliveries the rate limit deferred', async () => {
    const text = await scrape();
    const throttled = sample(text, 'junction_deliveries_throttled_total', { subscription: subs.metered! })!;
    // Each of the four after the first waited for a token at least once.
    expect(throttled).toBeGreaterThanOrEqual(4);
    expect(throttled).toBeLessThanOrEqual(12);
    expect(samples(text, 'junction_deliveries_throttled_total')).toHaveLength(1);
  });

  it('reads the backlog per subscription and channel from the store at scrape time', async () => {
    const text = await scrape();
    expect(samples(text, 'junction_backlog_pending_deliveries')).toEqual([
      { labels: { subscription: subs.parked!, channel: 'default' }, value: 3 },
    ]);
    const age = sample(text, 'junction_backlog_oldest_pending_age_seconds', {
      subscription: subs.parked!,
      channel: 'default',
    })!;
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan((Date.now() - started) / 1000);
  });

  it('shows the breaker of each endpoint it has sent to, redacted, open where the sink kept failing', async () => {
    const text = await scrape();
    const listed = (await (await hub.fetch('/v1/endpoints')).json()) as { endpoint: string; state: string }[];
    const gauges = samples(text, 'junction_endpoint_breaker_state');
    expect(gauges).toHaveLength(listed.length);
    const value = { closed: 0, 'half-open': 1, open: 2 } as Record<string, number>;
    for (const sink of [ok, failing, parked, breaking]) {
      const origin = new URL(sink.url).origin;
      const mine = gauges.filter((g) => g.labels.endpoint!.startsWith(`${origin}/`));
      expect(mine).toHaveLength(sink === ok ? 2 : 1);
      // Only the origin shows: a path may carry a token.
      for (const g of mine) expect(g.labels.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/…#[0-9a-f]{12}$/);
      const states = listed.filter((l) => l.endpoint.startsWith(`${origin}/`)).map((l) => value[l.state]);
      expect(mine.map((g) => g.value).sort()).toEqual(states.sort());
    }
    const broken = gauges.find((g) => g.labels.endpoint!.startsWith(`${new URL(breaking.url).origin}/`))!;
    expect(broken.value).toBeGreaterThanOrEqual(1);
    expect(gauges.filter((g) => g.value !== 0)).toEqual([broken]);
  });
});

describe('GET /v1/stats', () => {
  it('answers totals, one bucket per 5 s of the window, and the backlog, matching what happened', async () => {
    const res = await hub.fetch('/v1/stats?window=600');
    expect(res.status).toBe(200);
    const stats = (await res.json()) as {
      now: string;
      intervalSeconds: number;
      series: {
        at: string;
        ingested: number;
        delivered: number;
        failed: number;
        dead: number;
        p50Ms: number | null;
        p99Ms: number | null;
      }[];
      backlog: {
        subscription: string;
        channel: string;
        pending: number;
        oldestPendingAgeSeconds: number | null;
      }[];
      totals: { ingested: number; delivered: number; failed: number; dead: number };
    };
    expect(stats.intervalSeconds).toBe(5);
    expect(Math.abs(Date.parse(stats.now) - Date.now())).toBeLessThan(5_000);
    expect(stats.totals).toEqual({ ingested: 35, delivered: 10, failed: 27, dead: 22 });
    expect(stats.series).toHaveLength(120);
    const starts = stats.series.map((p) => Date.parse(p.at));
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(5_000);
    expect(starts.at(-1)! % 5_000).toBe(0);
    expect(starts.at(-1)!).toBeLessThanOrEqual(Date.parse(stats.now));
    const sum = (k: 'ingested' | 'delivered' | 'failed' | 'dead') =>
      stats.series.reduce((n, p) => n + p[k], 0);
    expect({
      ingested: sum('ingested'),
      delivered: sum('delivered'),
      failed: sum('failed'),
      dead: sum('dead'),
    }).toEqual(stats.totals);
    for (const p of stats.series) {
      if (p.delivered === 0) expect([p.p50Ms, p.p99Ms]).toEqual([null, null]);
      else {
        expect(p.p50Ms).toBeGreaterThan(0);
        expect(p.p99Ms).toBeGreaterThanOrEqual(p.p50Ms!);
      }
    }
    expect(stats.backlog).toHaveLength(1);
    expect(stats.backlog[0]).toMatchObject({ subscription: subs.parked, channel: 'default', pending: 3 });
    expect(stats.backlog[0]!.oldestPendingAgeSeconds).toBeGreaterThan(0);

    const short = (await (await hub.fetch('/v1/stats?window=7')).json()) as { series: unknown[] };
    expect(short.series).toHaveLength(2);
    const fallback = (await (await hub.fetch('/v1/stats')).json()) as { series: unknown[] };
    expect(fallback.series).toHaveLength(120);
  });

  it('refuses a bad window with problem+json naming /window, and a request without a key', async () => {
    for (const window of ['0', '4', '3601', 'abc', '1.5', '-10', '']) {
      const res = await hub.fetch(`/v1/stats?window=${window}`);
      expect(res.status, window).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { errors: { pointer: string }[] };
      expect(body.errors.map((e) => e.pointer)).toEqual(['/window']);
    }
    expect((await fetch(`${hub.url}/v1/stats`)).status).toBe(401);
  });

  it('is described in /openapi.json', async () => {
    const doc = (await (await fetch(`${hub.url}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    expect(doc.paths['/v1/stats']?.get?.parameters?.map((p) => p.name)).toEqual(['window']);
  });
});

describe('log lines', () => {
  it('carry the event key, subscription, attempt and trace id on the ingest and delivery paths', () => {
    const lines = hub
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ingested = lines.find(
      (l) => l.msg === 'ingested' && (l.event as { id?: string } | undefined)?.id === 'f0',
    );
    expect(ingested).toMatchObject({
      event: { source: '/metrics-test', id: 'f0' },
      traceId: TRACE_ID,
      status: 'accepted',
      subscriptions: [subs.fail],
    });
    const failed = lines.filter(
      (l) => l.msg === 'attempt failed' && (l.event as { id?: string } | undefined)?.id === 'f0',
    );
    expect(failed.map((l) => [l.subscription, l.attempt, l.traceId])).toEqual([
      [subs.fail, 1, TRACE_ID],
      [subs.fail, 2, TRACE_ID],
    ]);
    // An event without a traceparent has no traceId.
    const plain = lines.find(
      (l) => l.msg === 'ingested' && (l.event as { id?: string } | undefined)?.id === 'o0',
    );
    expect(plain).toBeDefined();
    expect(plain).not.toHaveProperty('traceId');
  });
});

describe('deleting a subscription', () => {
  it('counts the deliveries it dead-letters, in /metrics and /v1/stats', async () => {
    const own = await startHub();
    const waiting = await startSink((_req, res) =>
      res.writeHead(503, { 'retry-after': '3600' }).end('later'),
    );
    try {
      const sub = await own.subscribe({ sink: waiting.url, types: [PARKED] });
      await publishBatch(own, events(PARKED, 'gone', 3));
      await waitFor(
        async () => {
          const s = (await allDeliveries(own, sub.id)).map((d) => d.status);
          return s.length === 3 && s.every((x) => x === 'retrying');
        },
        20_000,
        '3 retrying deliveries',
      );
      expect((await own.fetch(`/v1/subscriptions/${sub.id}`, { method: 'DELETE' })).status).toBe(200);

      const text = await (await own.fetch('/metrics')).text();
      expect(sample(text, 'junction_dead_letters_total', { subscription: sub.id })).toBe(3);
      const stats = (await (await own.fetch('/v1/stats')).json()) as { totals: { dead: number } };
      expect(stats.totals.dead).toBe(3);
    } finally {
      await own.stop();
      await waiting.close();
    }
  }, 60_000);
});

const required = process.env.CI === 'true';
const pgReachable = await postgresReachable();
if (!pgReachable && !required) {
  console.warn(
    `store-outage metrics tests skipped: PostgreSQL (${POSTGRES_URL}) does not answer; under CI=true this fails`,
  );
}

describe.skipIf(!pgReachable && !required)('while PostgreSQL does not answer', () => {
  it('/v1/stats still answers, with the backlog empty and why; outages count as unavailable', async () => {
    const sql = testClient();
    const schema = uniqueSchema('statscut');
    const pg = new URL(POSTGRES_URL);
    const proxy = await startTcpProxy(pg.hostname || '127.0.0.1', Number(pg.port || 5432));
    let own: HubProcess | undefined;
    try {
      await migrate(POSTGRES_URL, { schema });
      const through = new URL(POSTGRES_URL);
      through.port = String(proxy.port);
      own = await startHub({ args: ['--store', through.toString(), '--schema', schema] });
      const before = (await (await own.fetch('/v1/stats')).json()) as Record<string, unknown>;
      expect(before.backlog).toEqual([]);
      expect(before).not.toHaveProperty('backlogError');

      await proxy.cut();
      const hub = own;
      await waitFor(
        async () => {
          const res = await hub.fetch('/v1/events', {
            method: 'POST',
            headers: { 'content-type': 'application/cloudevents+json' },
            body: JSON.stringify({ specversion: '1.0', id: `cut-${Date.now()}`, source: '/cut', type: NOTE }),
          });
          return res.status === 503;
        },
        20_000,
        'ingest to answer 503',
      );
      // One backlog read serves every caller for a second, so the outage shows within about that.
      type Stats = { backlog: unknown[]; backlogError?: unknown; totals: unknown };
      let stats: Stats | undefined;
      await waitFor(
        async () => {
          const res = await hub.fetch('/v1/stats');
          expect(res.status).toBe(200);
          stats = (await res.json()) as Stats;
          return stats.backlogError !== undefined;
        },
        5_000,
        '/v1/stats to report the backlog read failing',
      );
      if (!stats) throw new Error('no stats read');
      expect(stats.backlog).toEqual([]);
      expect(typeof stats.backlogError).toBe('string');
      expect(stats.backlogError).not.toBe('');
      expect(stats.totals).toMatchObject({ ingested: 0 });

      const scraped = await own.fetch('/metrics');
      expect(scraped.status).toBe(200);
      const text = await scraped.text();
      expect(
        sample(text, 'junction_events_rejected_total', { reason: 'unavailable' }),
      ).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'junction_events_rejected_total', { reason: 'other' })).toBeUndefined();
    } finally {
      await own?.kill();
      await proxy.close();
      await dropSchemas(sql, [schema]);
      await sql.end();
    }
  }, 90_000);
});

const nats = new URL(NATS_URL);
const busReachable = pgReachable && (await canConnect(nats.hostname, Number(nats.port || 4222)));
if (!busReachable && !required) {
  console.warn(
    `distributed metrics tests skipped: PostgreSQL (${POSTGRES_URL}) or NATS (${NATS_URL}) does not answer; under CI=true this fails`,
  );
}

describe.skipIf(!busReachable && !required)('with a bus (PostgreSQL + NATS JetStream)', () => {
  it("counts a producer's retry after JetStream's duplicate window once, as a duplicate", async () => {
    const sql = testClient();
    const nc = await connect({ servers: NATS_URL });
    const schema = uniqueSchema('metricsbus');
    const prefix = uniquePrefix('metricsbus');
    let own: HubProcess | undefined;
    try {
      await migrate(POSTGRES_URL, { schema });
      own = await startHub({
        args: ['--store', POSTGRES_URL, '--schema', schema, '--bus', NATS_URL, '--bus-prefix', prefix],
      });
      const event = { specversion: '1.0', id: 'retried', source: '/metrics-bus', type: NOTE };
      const publish = async (): Promise<string> => {
        const res = await own!.fetch('/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify(event),
        });
        expect(res.status).toBe(202);
        return ((await res.json()) as { events: { status: string }[] }).events[0]!.status;
      };
      expect(await publish()).toBe('accepted');
      expect(await publish()).toBe('duplicate');
      // The window is two minutes; shortened here, so that the next retry falls past it.
      const jsm = await jetstreamManager(nc);
      await jsm.streams.update(streamName(prefix, 'default'), { duplicate_window: nanos(200) });
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await publish()).toBe('accepted');

      let text = '';
      await waitFor(
        async () => {
          text = await (await own!.fetch('/metrics')).text();
          return sample(text, 'junction_events_duplicate_total') === 2;
        },
        15_000,
        'the recorder to find the retry stored',
      );
      expect(sample(text, 'junction_events_ingested_total', { type: 'other' })).toBe(1);
      const stats = (await (await own.fetch('/v1/stats')).json()) as { totals: { ingested: number } };
      expect(stats.totals.ingested).toBe(1);
    } finally {
      await own?.kill();
      await nc.close();
      await dropSchemas(sql, [schema]);
      await sql.end();
    }
  }, 60_000);
});
