import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.js';
import { type CloudEvent, eventJson, rememberJson } from '../../src/core/event.js';
import { tracerProviderFromEnv, tracesExporters } from '../../src/observability/otel-env.js';
import { extractContext, Tracing } from '../../src/observability/tracing.js';
import type { Routed, Subscription } from '../../src/storage/ports.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TP = `00-${TRACE}-${PARENT}-01`;

describe('which exporters the OTEL_* variables ask for', () => {
  it('asks for none when nothing is set', () => {
    expect(tracesExporters({})).toEqual([]);
    expect(tracerProviderFromEnv({})).toBeUndefined();
  });

  it('exports over OTLP when an endpoint is set, the general or the traces one', () => {
    expect(tracesExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual(['otlp']);
    expect(tracesExporters({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' })).toEqual(['otlp']);
  });

  it('honours OTEL_TRACES_EXPORTER, none included, and OTEL_SDK_DISABLED above all', () => {
    expect(tracesExporters({ OTEL_TRACES_EXPORTER: 'console' })).toEqual(['console']);
    expect(tracesExporters({ OTEL_TRACES_EXPORTER: ' OTLP , console' })).toEqual(['otlp', 'console']);
    expect(
      tracesExporters({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }),
    ).toEqual([]);
    expect(tracesExporters({ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'otlp' })).toEqual([]);
    expect(tracesExporters({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(['otlp']);
  });

  it('refuses, naming the variable, an exporter or protocol it cannot provide', () => {
    expect(() => tracesExporters({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(ConfigError);
    expect(() => tracesExporters({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      /OTEL_TRACES_EXPORTER: 'zipkin'/,
    );
    expect(() =>
      tracesExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'/);
    expect(
      tracesExporters({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }),
    ).toEqual(['otlp']);
  });
});

describe('Tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracing = new Tracing(provider);
  afterAll(() => provider.shutdown());

  const event = (extra: Record<string, unknown> = {}): CloudEvent => ({
    specversion: '1.0',
    id: 'e1',
    source: '/s',
    type: 't',
    ...extra,
  });
  const routed: Routed = { channel: 'default', subscriptions: [] };

  it('is off without a provider', () => {
    expect(Tracing.off.enabled).toBe(false);
    expect(tracing.enabled).toBe(true);
  });

  it('stamps a missing traceparent, and the text the event is stored as carries it', () => {
    const e = event();
    rememberJson(e, JSON.stringify(e));
    const spans = tracing.ingest([e], { traceparent: TP });
    spans.end([e], [{ source: '/s', id: 'e1', status: 'accepted' }]);
    expect(e.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(JSON.parse(eventJson(e)).traceparent).toBe(e.traceparent);
  });

  it('keeps a malformed traceparent as sent, and starts a trace of its own', () => {
    exporter.reset();
    const e = event({ traceparent: 'not-a-traceparent' });
    tracing.ingest([e], undefined).end([e], [{ source: '/s', id: 'e1', status: 'accepted' }]);
    expect(e.traceparent).toBe('not-a-traceparent');
    const [span] = exporter.getFinishedSpans();
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it('marks every ingest span of a refused request as an error', () => {
    exporter.reset();
    const events = [event(), event({ id: 'e2' })];
    tracing.ingest(events, undefined).fail(new Error('the store does not answer'));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.status)).toEqual([
      { code: 2, message: 'the store does not answer' },
      { code: 2, message: 'the store does not answer' },
    ]);
  });

  it("routes an event outside ingest under the event's own traceparent", () => {
    exporter.reset();
    expect(tracing.route(event({ traceparent: TP }), () => routed)).toBe(routed);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('junction.route');
    expect(span?.parentSpanContext?.spanId).toBe(PARENT);
  });

  it("replaces the event's traceparent and tracestate in the headers with the deliver span's", () => {
    exporter.reset();
    const sub = { id: 'sub_1', protocol: 'HTTP' } as Subscription;
    const headers: Record<string, string> = { traceparent: TP, tracestate: 'k=v' };
    const span = tracing.deliver(
      sub,
      [event({ traceparent: TP, tracestate: 'k=v' })],
      3,
      { delivery: 'd', webhook: 'w' },
      headers,
    );
    span.end('dead', { ok: true, status: 400, latencyMs: 3.4 });
    const [done] = exporter.getFinishedSpans();
    expect(headers.traceparent).toBe(`00-${TRACE}-${done!.spanContext().spanId}-01`);
    expect(headers.tracestate).toBe('k=v');
    expect(done!.attributes).toMatchObject({
      'junction.delivery.attempt': 3,
      'junction.delivery.outcome': 'dead',
      'http.response.status_code': 400,
    });
    expect(done!.status).toEqual({ code: 2, message: 'the sink answered 400' });
  });

  it('starts a batch its own trace, linked to each member', () => {
    exporter.reset();
    const other = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const headers: Record<string, string> = {};
    tracing
      .deliver(
        { id: 'sub_1', protocol: 'HTTP' } as Subscription,
        [event({ traceparent: TP }), event({ id: 'e2', traceparent: other }), event({ id: 'e3' })],
        1,
        { delivery: 'd', webhook: 'w' },
        headers,
      )
      .end('retry', { ok: false, error: 'ECONNREFUSED', latencyMs: 1 });
    const [span] = exporter.getFinishedSpans();
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links.map((l) => l.context.traceId)).toEqual([TRACE, 'a'.repeat(32)]);
    expect(headers.traceparent).toContain(span!.spanContext().traceId);
  });

  it('reads a context only from a well-formed traceparent', () => {
    expect(extractContext({ traceparent: TP })).not.toBeNull();
    expect(extractContext({ traceparent: '00-xyz' })).toBeNull();
    expect(extractContext({})).toBeNull();
    expect(extractContext(undefined)).toBeNull();
  });
});
