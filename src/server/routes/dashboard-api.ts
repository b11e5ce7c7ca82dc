import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { isRfc3339Timestamp } from '../../core/timestamp.js';
import type { TestEventInput } from '../../delivery/test-send.js';
import type { EventQuery } from '../../storage/ports.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';
import { readPaging } from '../paging.js';

const TRACE_ID = /^[0-9a-f]{32}$/;

/** A query parameter's text; an empty one counts as absent, since forms send empty fields. */
function textParam(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string')
    throw ValidationError.field(`/${name}`, `give query parameter ${name} once, as text`);
  return value;
}

function timeParam(query: Record<string, unknown>, name: 'from' | 'to'): Date | undefined {
  const value = textParam(query, name);
  if (value === undefined) return undefined;
  if (!isRfc3339Timestamp(value))
    throw ValidationError.field(`/${name}`, `${name} must be an RFC 3339 time, such as 2026-11-26T08:00:00Z`);
  const at = new Date(value);
  if (!Number.isNaN(at.getTime())) return at;
  // A leap second (23:59:60) is valid RFC 3339 that Date cannot read: like POSIX time, it is
  // taken as the start of the next second.
  const leap = new Date(value.replace(/([Tt]\d{2}:\d{2}):60/, '$1:59'));
  if (!Number.isNaN(leap.getTime())) return new Date(leap.getTime() + 1000);
  throw ValidationError.field(`/${name}`, `${name} is out of the range of times the hub can search`);
}

/** Reads the search's filters, each checked here so a bad one is named in the answer. */
export function readEventQuery(query: Record<string, unknown>): EventQuery {
  const out: EventQuery = {};
  for (const name of ['type', 'source', 'correlationid'] as const) {
    const value = textParam(query, name);
    if (value !== undefined) out[name] = value;
  }
  const subject = textParam(query, 'subject');
  if (subject === '*')
    throw ValidationError.field(
      '/subject',
      'put at least one character before *: subject=orders/* is a prefix',
    );
  if (subject !== undefined) out.subject = subject;
  const traceid = textParam(query, 'traceid')?.toLowerCase();
  if (traceid !== undefined && !TRACE_ID.test(traceid))
    throw ValidationError.field('/traceid', 'traceid must be the 32 hex digits of a W3C trace id');
  if (traceid !== undefined) out.traceid = traceid;
  const from = timeParam(query, 'from');
  const to = timeParam(query, 'to');
  if (from && to && from.getTime() >= to.getTime())
    throw ValidationError.field('/to', 'to must be later than from');
  if (from) out.from = from;
  if (to) out.to = to;
  return out;
}

/** A page's cursor is the sequence number of its last event: the next page starts below it. */
function readCursor(after: string | undefined): number | undefined {
  if (after === undefined) return undefined;
  const seq = Number(after);
  if (!/^\d+$/.test(after) || !Number.isSafeInteger(seq))
    throw ValidationError.field('/after', "after must be the 'next' cursor of an earlier page");
  return seq;
}

function readTestInput(body: unknown): TestEventInput {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw ValidationError.field('', 'send a JSON object, {"type"?: string, "data"?: any}, or no body');
  const { type, data } = body as Record<string, unknown>;
  if (type !== undefined && (typeof type !== 'string' || type === ''))
    throw ValidationError.field('/type', 'type must be a non-empty string');
  return { ...(type === undefined ? {} : { type }), ...(data === undefined ? {} : { data }) };
}

/**
 * What the dashboard reads beyond the resources' own routes: the event search, a test event for a
 * subscription, and a subscription's delivery state in one answer.
 */
export const dashboardApiRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/events', async (request) => {
    const params = request.query as Record<string, unknown>;
    const query = readEventQuery(params);
    const { limit, after } = readPaging(params);
    const items = await hub.store.searchEvents(query, limit, readCursor(after));
    return { items, next: items.length === limit ? String(items[items.length - 1]!.seq) : null };
  });

  app.post<{ Params: { id: string } }>('/v1/subscriptions/:id/test', async (request) => {
    hub.getSubscription(request.params.id);
    const raw = request.body;
    const input = readTestInput(Buffer.isBuffer(raw) && raw.length > 0 ? readJsonBody(request) : null);
    return hub.sendTest(request.params.id, input);
  });

  app.get<{ Params: { id: string } }>('/v1/subscriptions/:id/state', async (request) => {
    const sub = hub.getSubscription(request.params.id);
    const stats = await hub.subscriptionStats(sub.id);
    return {
      breaker: { requests: 0, failures: 0, reopenAt: null, ...stats.breaker },
      rateLimit: sub.delivery.rateLimit,
      counts: stats.deliveries,
      failingSince: stats.failingSince,
    };
  });
};
