/**
 * Counters of what inbound hooks took and refused, in the hub's own registry. Labels are bounded:
 * the preset (eight names, or `unknown` for a hook that does not exist) and a reason drawn from the
 * error codes, never a hook id.
 */
import { Counter, type Registry } from 'prom-client';
import { JunctionError } from '../../core/errors.js';
import { SignatureError } from './errors.js';

export class HookMetrics {
  /** Events hooks made durable, by preset, accepted or duplicate. */
  readonly events: Counter<'preset' | 'status'>;
  /** Requests hooks refused, by preset and reason. */
  readonly rejections: Counter<'preset' | 'reason'>;

  constructor(registry: Registry) {
    this.events = new Counter({
      name: 'junction_hook_events_total',
      help: 'Events made by inbound hooks, by preset; status is accepted or duplicate (a retry of a request already taken).',
      labelNames: ['preset', 'status'] as const,
      registers: [registry],
    });
    this.rejections = new Counter({
      name: 'junction_hook_rejections_total',
      help: 'Requests to inbound hooks refused, by preset and reason (unauthorized, bad-signature, stale-timestamp, payload-too-large, unmappable-body, …).',
      labelNames: ['preset', 'reason'] as const,
      registers: [registry],
    });
  }

  /** Counts a refusal; the reason is the error's code, or a signature failure's own reason. */
  rejected(preset: string, error: unknown): void {
    const reason =
      error instanceof SignatureError
        ? error.reason
        : error instanceof JunctionError
          ? error.code
          : 'internal';
    this.rejections.inc({ preset, reason });
  }
}
