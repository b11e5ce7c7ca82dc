/**
 * Distributed tracing (OpenTelemetry): a `junction.ingest` span per event taken in, a
 * `junction.route` span per event matched to subscriptions, and a `junction.deliver` span per
 * attempt, with the W3C trace context carried from the producer to the sink. See docs/tracing.md.
 *
 * Parentage is passed explicitly rather than through an async context manager: delivery happens
 * later, perhaps in another process, so its parent has to come from the stored event anyway, and
 * no global provider or context manager is registered. Without a tracer provider every method is
 * skipped by the caller checking `enabled`, so the hot path builds no span object at all.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import { type CloudEvent, rememberJson } from '../core/event.js';
import { VERSION } from '../core/version.js';
import type { AppendResult, Routed, Subscription } from '../storage/ports.js';

/** Where a trace context is read from or written to: HTTP headers, or an event's extensions. */
export type TraceCarrier = Record<string, unknown>;

const propagator = new W3CTraceContextPropagator();

const getter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
  },
};

const setter: TextMapSetter<TraceCarrier> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** The trace context a carrier holds, or null when it holds none that is well-formed. */
export function extractContext(carrier: TraceCarrier | undefined): Context | null {
  if (carrier === undefined) return null;
  const context = propagator.extract(ROOT_CONTEXT, carrier, getter);
  return trace.getSpanContext(context) ? context : null;
}

/** Writes the span's context into the carrier as `traceparent` (and `tracestate` when it has one). */
function inject(span: Span, carrier: TraceCarrier): void {
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, setter);
}

function eventAttributes(event: CloudEvent): Attributes {
  // The CloudEvents semantic conventions are still incubating: named here rather than imported.
  return {
    'cloudevents.event_id': event.id,
    'cloudevents.event_source': event.source,
    'cloudevents.event_type': event.type,
  };
}

/** The spans of one ingest request: one per event, each the parent of that event's route span. */
export class IngestSpans {
  constructor(
    private readonly tracer: Tracer,
    private readonly spans: Map<CloudEvent, Span>,
  ) {}

  /** Runs `route` for the event inside a `junction.route` span, child of the event's ingest span. */
  route(event: CloudEvent, route: () => Routed): Routed {
    const parent = this.spans.get(event);
    return routeSpan(this.tracer, event, parent ? trace.setSpan(ROOT_CONTEXT, parent) : null, route);
  }

  /** Ends each event's span with its result (`accepted` or `duplicate`), in the order given. */
  end(events: CloudEvent[], results: AppendResult[]): void {
    events.forEach((event, i) => {
      const span = this.spans.get(event);
      const status = results[i]?.status;
      if (status) span?.setAttribute('junction.ingest.status', status);
      span?.end();
    });
  }

  /** Ends every span as failed: the request was refused or could not be stored. */
  fail(error: unknown): void {
    for (const span of this.spans.values()) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
      span.end();
    }
  }
}

function routeSpan(tracer: Tracer, event: CloudEvent, parent: Context | null, route: () => Routed): Routed {
  const span = tracer.startSpan(
    'junction.route',
    { kind: SpanKind.INTERNAL, attributes: eventAttributes(event) },
    parent ?? ROOT_CONTEXT,
  );
  try {
    const routed = route();
    span.setAttributes({
      'junction.channel': routed.channel,
      'junction.route.subscriptions': routed.subscriptions.length,
      'junction.route.settled': routed.settled?.length ?? 0,
    });
    return routed;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** One delivery attempt's span, ended once the attempt's outcome is known. */
export class DeliverSpan {
  constructor(private readonly span: Span) {}

  /**
   * Ends the span with what the attempt came to: `delivered`, `retry`, `dead`, `disable` or
   * `aborted`; anything but `delivered` marks it as an error.
   */
  end(
    outcome: string,
    sent: { ok: true; status: number; latencyMs: number } | { ok: false; error: string; latencyMs: number },
  ): void {
    this.span.setAttribute('junction.delivery.outcome', outcome);
    this.span.setAttribute('junction.delivery.latency_ms', Math.round(sent.latencyMs));
    if (sent.ok) this.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, sent.status);
    if (outcome !== 'delivered') {
      const message = sent.ok ? `the sink answered ${sent.status}` : sent.error;
      this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    this.span.end();
  }
}

/**
 * The hub's tracer. `Tracing.off` stands in when no provider is configured; callers check
 * `enabled` before building anything, so tracing costs nothing then.
 */
export class Tracing {
  static readonly off = new Tracing(undefined);

  readonly enabled: boolean;
  private readonly tracer: Tracer | undefined;

  constructor(provider: TracerProvider | undefined) {
    this.tracer = provider?.getTracer('junction', VERSION);
    this.enabled = this.tracer !== undefined;
  }

  /**
   * Starts a `junction.ingest` span per event. An event's own `traceparent` extension is its
   * parent; otherwise the request's `traceparent` header; otherwise the span starts a trace. When
   * both are there and differ, the request's context becomes a link, so neither is lost.
   *
   * An event that arrives without a `traceparent` is stamped with its ingest span's, so that its
   * deliveries, made later and perhaps in another process, join the same trace.
   */
  ingest(events: CloudEvent[], headers: TraceCarrier | undefined): IngestSpans {
    const tracer = this.tracer!;
    const request = extractContext(headers);
    const requestSpan = request ? trace.getSpanContext(request) : undefined;
    const spans = new Map<CloudEvent, Span>();
    for (const event of events) {
      const own = extractContext(event as unknown as TraceCarrier);
      const links: Link[] =
        own && requestSpan && trace.getSpanContext(own)?.traceId !== requestSpan.traceId
          ? [{ context: requestSpan }]
          : [];
      const span = tracer.startSpan(
        'junction.ingest',
        {
          kind: SpanKind.SERVER,
          attributes: { ...eventAttributes(event), 'junction.ingest.batch': events.length > 1 },
          links,
        },
        own ?? request ?? ROOT_CONTEXT,
      );
      // Only a missing extension is stamped: a malformed one is the producer's, stored as sent.
      if (event.traceparent === undefined) {
        inject(span, event as unknown as TraceCarrier);
        // The JSON text the event arrived as, kept to be stored without serialising it again, now
        // lacks the stamp: replace it.
        rememberJson(event, JSON.stringify(event));
      }
      spans.set(event, span);
    }
    return new IngestSpans(tracer, spans);
  }

  /**
   * Runs `route` inside a `junction.route` span whose parent is the event's `traceparent`: for
   * events routed away from their ingest (by the bus recorder, or the hub's own events).
   */
  route(event: CloudEvent, route: () => Routed): Routed {
    return routeSpan(this.tracer!, event, extractContext(event as unknown as TraceCarrier), route);
  }

  /**
   * Starts the `junction.deliver` span of one attempt and writes its context into the outbound
   * `headers`, replacing the event's, so the sink sees the deliver span as its parent. One event's
   * span is a child of the event's stored `traceparent`; a batch's starts a trace of its own, linked
   * to each member's.
   */
  deliver(
    sub: Subscription,
    events: CloudEvent[],
    attempt: number,
    ids: { delivery: string; webhook: string },
    headers: Record<string, string>,
  ): DeliverSpan {
    const contexts = events.map((e) => extractContext(e as unknown as TraceCarrier));
    const batched = events.length > 1;
    const links: Link[] = [];
    if (batched) {
      for (const c of contexts) {
        const sc = c && trace.getSpanContext(c);
        if (sc) links.push({ context: sc });
      }
    }
    const first = events[0]!;
    const span = this.tracer!.startSpan(
      'junction.deliver',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          ...(batched ? { 'junction.delivery.events': events.length } : eventAttributes(first)),
          'junction.subscription.id': sub.id,
          'junction.delivery.id': ids.delivery,
          'junction.delivery.attempt': attempt,
          'junction.delivery.protocol': sub.protocol,
          'junction.webhook.id': ids.webhook,
        },
        links,
      },
      (!batched && contexts[0]) || ROOT_CONTEXT,
    );
    delete headers.traceparent;
    delete headers.tracestate;
    inject(span, headers as TraceCarrier);
    return new DeliverSpan(span);
  }
}
