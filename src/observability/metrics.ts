/**
 * Prometheus metrics (prom-client), in a registry of the hub's own rather than the library's global
 * one, so two hubs in one process (as in tests) count apart. Labels are bounded: an event type
 * appears only once it is registered, never an id.
 */
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  /** Events whose data did not match their type's schema, by what ingest did with them. */
  readonly schemaViolations = new Counter({
    name: 'junction_events_schema_violations_total',
    help: 'Events whose data did not match their schema version; outcome is refused (enforce) or accepted (warn).',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Events published in a deprecated version, or refused past its sunset. */
  readonly deprecatedPublished = new Counter({
    name: 'junction_events_deprecated_version_total',
    help: 'Events published in a deprecated schema version; outcome is accepted, or refused past the sunset.',
    labelNames: ['type', 'version', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Events of types with no schema, refused under `unknownTypes: refuse`. */
  readonly unknownTypesRefused = new Counter({
    name: 'junction_events_unknown_type_refused_total',
    help: 'Events refused because their type has no schema in the registry (unknownTypes: refuse).',
    registers: [this.registry],
  });

  /** Conversions to a subscription's pinned version, by outcome. */
  readonly conversions = new Counter({
    name: 'junction_deliveries_converted_total',
    help: "Events converted to a subscription's pinned schema version; outcome is converted or failed (dead-lettered).",
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Deliveries a region policy blocked, by the policy (channel or subscription) that did. */
  readonly blockedDeliveries = new Counter({
    name: 'junction_deliveries_blocked_total',
    help: 'Deliveries recorded as blocked by a region policy, never sent; policy is channel or subscription.',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });

  /** Deliveries recorded for subscriptions in shadow mode. */
  readonly shadowDeliveries = new Counter({
    name: 'junction_deliveries_shadow_total',
    help: 'Deliveries recorded for subscriptions in shadow mode: what they would have received, not sent.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'junction_' });
  }
}
