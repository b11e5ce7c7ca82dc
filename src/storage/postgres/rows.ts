/**
 * Rows as the driver returns them (bigints parsed as numbers, json and jsonb parsed), and their
 * shapes in the port's language: the same mapping as the embedded store's, column for column.
 */
import type { CloudEvent } from '../../core/event.js';
import type {
  Attempt,
  Conversion,
  Delivery,
  DeliveryStatus,
  EventContract,
  Page,
  SchemaConverter,
  SchemaVersion,
  StoredEvent,
} from '../ports.js';
import { deliveryOfRow, iso, type DeliveryRow as StoredDeliveryRow } from '../records.js';

export type DeliveryRow = StoredDeliveryRow<Conversion | null>;

export interface EventRow {
  seq: number;
  body: CloudEvent;
  received_at: number;
  contract: EventContract | null;
}

export interface SchemaVersionRow {
  type: string;
  version: number;
  schema: unknown;
  created_at: number;
  created_by: string;
  deprecated_at: number | null;
  sunset_at: number | null;
}

export interface ConverterRow {
  type: string;
  from_version: number;
  to_version: number;
  expression: string;
  created_at: number;
  created_by: string;
}

export interface AttemptRow {
  delivery_id: string;
  n: number;
  at: number;
  status: number | null;
  outcome: Attempt['outcome'];
  latency_ms: number;
  error: string | null;
  response: string | null;
}

export { iso };

export function toDelivery(r: DeliveryRow): Delivery {
  return deliveryOfRow(r, r.conversion);
}

export function toStoredEvent(r: EventRow): StoredEvent {
  return { seq: r.seq, event: r.body, receivedAt: iso(r.received_at), contract: r.contract };
}

export function toSchemaVersion(r: SchemaVersionRow): SchemaVersion {
  return {
    type: r.type,
    version: r.version,
    schema: r.schema,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
    deprecatedAt: r.deprecated_at === null ? null : iso(r.deprecated_at),
    sunsetAt: r.sunset_at === null ? null : iso(r.sunset_at),
  };
}

export function toConverter(r: ConverterRow): SchemaConverter {
  return {
    type: r.type,
    from: r.from_version,
    to: r.to_version,
    expression: r.expression,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
  };
}

export function toAttempt(r: AttemptRow): Attempt {
  return {
    n: r.n,
    at: iso(r.at),
    status: r.status,
    outcome: r.outcome,
    latencyMs: r.latency_ms,
    error: r.error,
    response: r.response,
  };
}

/** A page of `limit` rows, read as `limit + 1` to know whether another follows. */
export function page(rows: readonly DeliveryRow[], limit: number): Page<Delivery> {
  const items = rows.slice(0, limit).map(toDelivery);
  return { items, next: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null };
}

export function counts(rows: readonly { status: DeliveryStatus; n: number }[]) {
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Partial<Record<DeliveryStatus, number>>;
}

/**
 * A PostgreSQL array literal, bound as text and cast in the query (`${pgArray(xs)}::text[]`). The
 * driver's own array parameters need the server's type list, fetched on the first connection, and
 * fail on a query sent before it: a literal does not depend on it.
 */
export function pgArray(values: readonly (string | number | boolean | null)[]): string {
  const items = values.map((v) => {
    if (v === null) return 'NULL';
    if (typeof v === 'boolean') return v ? 't' : 'f';
    return `"${String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}
