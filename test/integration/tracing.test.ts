/**
 * Tracing end to end. In this process: a hub (the real HTTP server and SQLite store) handed a
 * tracer provider with an in-memory exporter, delivering to a real HTTP sink. In a child process:
 * the real `junction serve` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver
 * run by the test.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { type RunningHub, startHub as startInProcess } from '../../src/server/serve.js';
import { migrate } from '../../src/storage/postgres/index.js';
import { canConnect, NATS_URL, uniquePrefix } from '../helpers/nats.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';
import { type HubProcess, startHub, tempDataDir, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const required = process.env.CI === 'true';
const nats = new URL(NATS_URL);
const distributed =
  (await postgresReachable()) && (await canConnect(nats.hostname, Number(nats.port || 4222)));
if (!distributed && !required) {
  console.warn(
    `distributed tracing test skipped: PostgreSQL (${POSTGRES_URL}) or NATS (${NATS_URL}) does not answer; under CI=true this fails`,
  );
}

const KEY = 'tracing-key';
const SOURCE = '/tracing';
const fastRetries = { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 3, timeoutMs: 2_000 };

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let hub: RunningHub;
let plain: RunningHub;
let sink: Sink;
let n = 0;

async function api(at: RunningHub, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${KEY}`);
  return fetch(at.url + path, { ...init, headers });
}

async function subscribe(at: RunningHub, path: string, type: string): Promise<string> {
  const res = await api(at, '/v1/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sink: `${sink.url}${path}`, types: [type], delivery: fastRetries }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function publish(
  at: RunningHub,
  event: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await api(at, '/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', ...headers },
    body: JSON.stringify({ specversion: '1.0', source: SOURCE, data: { n }, ...event }),
  });
  expect(res.status).toBe(202);
}

async function stored(at: RunningHub, id: string): Promise<Record<string, unknown>> {
  const res = await api(at, `/v1/events/lookup?source=${encodeURIComponent(SOURCE)}&id=${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { event: Record<string, unknown> }).event;
}

const received = (path: string) => sink.received.filter((r) => r.path === `/hook${path}`);
const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

beforeAll(async () => {
  sink = await startSink((req, res, _i) => {
    // /flaky fails its first request and takes the rest.
    const status = req.path === '/hook/flaky' && received('/flaky').length === 1 ? 500 : 200;
    res.writeHead(status).end(status === 200 ? 'ok' : 'try again');
  });
  const config = (dataDir: string) =>
    parseConfig({ port: 0, dataDir, adminKey: KEY, logLevel: 'silent', pollIntervalMs: 100 }, {});
  hub = await startInProcess(config(tempDataDir()), { tracerProvider: provider });
  plain = await startInProcess(config(tempDataDir()));
});

afterAll(async () => {
  await hub?.stop();
  await plain?.stop();
  await provider.shutdown();
  await sink?.close();
});

describe('spans in one process, with an in-memory exporter', () => {
  it('continues the request traceparent through ingest, route and deliver to the sink', async () => {
    const type = 'test.tracing.header';
    const sub = await subscribe(hub, '/header', type);
    const traceId = hex(16);
    const caller = hex(8);
    const id = `h${++n}`;
    await publish(hub, { id, type }, { traceparent: traceparent(traceId, caller) });
    await waitFor(() => named(spansOf(traceId), 'junction.deliver').length === 1, 10_000, 'deliver span');

    const spans = spansOf(traceId);
    const [ingest] = named(spans, 'junction.ingest');
    const [route] = named(spans, 'junction.route');
    const [deliver] = named(spans, 'junction.deliver');
    expect(ingest?.kind).toBe(SpanKind.SERVER);
    expect(parentOf(ingest!)).toBe(caller);
    expect(ingest!.attributes).toMatchObject({
      'cloudevents.event_id': id,
      'cloudevents.event_type': type,
      'junction.ingest.status': 'accepted',
    });
    expect(parentOf(route!)).toBe(ingest!.spanContext().spanId);
    expect(route!.attributes).toMatchObject({ 'junction.route.subscriptions': 1 });
    // Delivery's parent is the traceparent the hub stamped on the stored event: the ingest span.
    expect(parentOf(deliver!)).toBe(ingest!.spanContext().spanId);
    expect(deliver!.kind).toBe(SpanKind.CLIENT);
    expect(deliver!.attributes).toMatchObject({
      'junction.subscription.id': sub,
      'junction.delivery.attempt': 1,
      'junction.delivery.outcome': 'delivered',
      'http.response.status_code': 200,
    });
    expect(deliver!.status.code).toBe(SpanStatusCode.UNSET);

    const [request] = received('/header');
    expect(request?.headers.traceparent).toBe(traceparent(traceId, deliver!.spanContext().spanId));
    expect((await stored(hub, id)).traceparent).toBe(traceparent(traceId, ingest!.spanContext().spanId));
  });

  it("lets the event's own traceparent win, links the request's, and stores the event as sent", async () => {
    const type = 'test.tracing.extension';
    await subscribe(hub, '/extension', type);
    const traceId = hex(16);
    const producer = hex(8);
    const requestTrace = hex(16);
    const id = `e${++n}`;
    const own = traceparent(traceId, producer);
    await publish(hub, { id, type, traceparent: own }, { traceparent: traceparent(requestTrace, hex(8)) });
    await waitFor(() => named(spansOf(traceId), 'junction.deliver').length === 1, 10_000, 'deliver span');

    const spans = spansOf(traceId);
    const [ingest] = named(spans, 'junction.ingest');
    const [route] = named(spans, 'junction.route');
    const [deliver] = named(spans, 'junction.deliver');
    expect(parentOf(ingest!)).toBe(producer);
    expect(ingest!.links.map((l) => l.context.traceId)).toEqual([requestTrace]);
    expect(parentOf(route!)).toBe(ingest!.spanContext().spanId);
    expect(parentOf(deliver!)).toBe(producer);
    expect(spansOf(requestTrace)).toEqual([]);

    const [request] = received('/extension');
    expect(request?.headers.traceparent).toBe(traceparent(traceId, deliver!.spanContext().spanId));
    expect((await stored(hub, id)).traceparent).toBe(own);
  });

  it('makes one deliver span per attempt when the sink fails and then takes the event', async () => {
    const type = 'test.tracing.flaky';
    await subscribe(hub, '/flaky', type);
    const traceId = hex(16);
    await publish(hub, { id: `f${++n}`, type }, { traceparent: traceparent(traceId, hex(8)) });
    // The retry is read back from the store: its parent comes from the stored (stamped) event.
    await waitFor(() => named(spansOf(traceId), 'junction.deliver').length === 2, 10_000, 'two attempts');

    const [ingest] = named(spansOf(traceId), 'junction.ingest');
    const attempts = named(spansOf(traceId), 'junction.deliver').sort(
      (a, b) =>
        (a.attributes['junction.delivery.attempt'] as number) -
        (b.attributes['junction.delivery.attempt'] as number),
    );
    expect(attempts.map((s) => s.attributes['junction.delivery.attempt'])).toEqual([1, 2]);
    expect(attempts.map((s) => s.attributes['junction.delivery.outcome'])).toEqual(['retry', 'delivered']);
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([500, 200]);
    expect(attempts.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    for (const s of attempts) expect(parentOf(s)).toBe(ingest!.spanContext().spanId);
    // Each request carries its own attempt's span.
    expect(received('/flaky').map((r) => r.headers.traceparent)).toEqual(
      attempts.map((s) => traceparent(traceId, s.spanContext().spanId)),
    );
  });

  it('without a tracer provider, forwards the event traceparent untouched and stamps nothing', async () => {
    const type = 'test.tracing.off';
    await subscribe(plain, '/off', type);
    const own = traceparent(hex(16), hex(8));
    await publish(plain, { id: `o${++n}`, type, traceparent: own });
    const bare = `b${++n}`;
    await publish(plain, { id: bare, type }, { traceparent: traceparent(hex(16), hex(8)) });
    await waitFor(() => received('/off').length === 2, 10_000, 'two deliveries');
    const headers = received('/off').map((r) => r.headers.traceparent);
    expect(headers).toContain(own);
    expect(headers).toContain(undefined);
    expect((await stored(plain, bare)).traceparent).toBeUndefined();
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** An OTLP/HTTP receiver: keeps every span posted to /v1/traces (the exporter sends JSON). */
async function startReceiver(): Promise<{
  url: string;
  spans: OtlpSpan[];
  services: Set<string>;
  headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      headers.push(req.headers);
      if (req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      };
      for (const rs of body.resourceSpans) {
        const name = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        if (name) services.add(name);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    services,
    headers,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

describe('the real server process exporting over OTLP/HTTP', () => {
  let proc: HubProcess | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

  afterAll(async () => {
    await proc?.stop();
    await receiver?.close();
  });

  it('sends ingest, route and deliver spans of one trace to OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    receiver = await startReceiver();
    proc = await startHub({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'junction-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    const type = 'test.tracing.otlp';
    await proc.subscribe({ sink: `${sink.url}/otlp`, types: [type], delivery: fastRetries });
    const traceId = hex(16);
    const caller = hex(8);
    const res = await proc.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', traceparent: traceparent(traceId, caller) },
      body: JSON.stringify({ specversion: '1.0', id: `p${++n}`, source: SOURCE, type, data: {} }),
    });
    expect(res.status).toBe(202);
    const inTrace = () => receiver!.spans.filter((s) => s.traceId === traceId);
    await waitFor(
      () => inTrace().some((s) => s.name === 'junction.deliver'),
      15_000,
      'exported deliver span',
    );

    const byName = new Map(inTrace().map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['junction.deliver', 'junction.ingest', 'junction.route']);
    const ingest = byName.get('junction.ingest')!;
    expect(ingest.parentSpanId).toBe(caller);
    expect(byName.get('junction.route')!.parentSpanId).toBe(ingest.spanId);
    expect(byName.get('junction.deliver')!.parentSpanId).toBe(ingest.spanId);
    expect(receiver.services).toEqual(new Set(['junction-under-test']));
    const [delivered] = received('/otlp');
    expect(delivered?.headers.traceparent).toBe(traceparent(traceId, byName.get('junction.deliver')!.spanId));
  });
});

describe.skipIf(!distributed && !required)('distributed mode (PostgreSQL + NATS JetStream)', () => {
  const sql = testClient();
  const schema = uniqueSchema('tracing');
  let bused: RunningHub | undefined;

  afterAll(async () => {
    await bused?.stop();
    await dropSchemas(sql, [schema]);
    await sql.end();
  });

  it('carries the stamped traceparent through the bus: the recorder routes and delivers in the trace', async () => {
    await migrate(POSTGRES_URL, { schema });
    const config = parseConfig(
      {
        port: 0,
        dataDir: tempDataDir(),
        adminKey: KEY,
        logLevel: 'silent',
        pollIntervalMs: 100,
        store: POSTGRES_URL,
        storeSchema: schema,
        bus: NATS_URL,
        busPrefix: uniquePrefix('tracing'),
      },
      {},
    );
    bused = await startInProcess(config, { tracerProvider: provider });
    const type = 'test.tracing.bus';
    await subscribe(bused, '/bus', type);
    const traceId = hex(16);
    const caller = hex(8);
    const id = `d${++n}`;
    await publish(bused, { id, type }, { traceparent: traceparent(traceId, caller) });
    await waitFor(() => named(spansOf(traceId), 'junction.deliver').length === 1, 15_000, 'deliver span');

    const spans = spansOf(traceId);
    const [ingest] = named(spans, 'junction.ingest');
    const [route] = named(spans, 'junction.route');
    const [deliver] = named(spans, 'junction.deliver');
    expect(parentOf(ingest!)).toBe(caller);
    // Routed by the recorder from the event read off the bus: its parent is the stamp.
    expect(parentOf(route!)).toBe(ingest!.spanContext().spanId);
    expect(parentOf(deliver!)).toBe(ingest!.spanContext().spanId);
    const [request] = received('/bus');
    expect(request?.headers.traceparent).toBe(traceparent(traceId, deliver!.spanContext().spanId));
    expect((await stored(bused, id)).traceparent).toBe(traceparent(traceId, ingest!.spanContext().spanId));
  });
});
