/**
 * An event as one subscription reads it: converted to the subscription's pinned schema version,
 * then reshaped by its transform; or why it cannot be, which dead-letters the delivery. Deciding
 * that nothing needs doing costs no promise, since it is asked of every delivery.
 */
import { type ConversionResult, type Converters, pinnedVersion } from '../contracts/conversion.js';
import type { Metrics } from '../observability/metrics.js';
import type { StoredEvent, Subscription } from '../storage/ports.js';
import { Transforms } from './transform.js';

export class Preparation {
  private readonly transforms: Transforms;

  constructor(
    private readonly converters: Converters,
    private readonly metrics: Metrics,
    /** The largest data a transform may produce, as JSON. */
    maxBytes: number,
  ) {
    this.transforms = new Transforms(maxBytes);
  }

  /**
   * The event as the subscription reads it, or null when it goes out as stored. `count: false`
   * (a simulation) leaves the metrics alone.
   */
  for(sub: Subscription, event: StoredEvent, count = true): Promise<ConversionResult> | null {
    const pin = pinnedVersion(sub, event.event.type);
    if (pin === undefined && sub.delivery.transform === null) return null;
    return this.prepare(sub, event, pin, count);
  }

  private async prepare(
    sub: Subscription,
    stored: StoredEvent,
    pin: number | undefined,
    count: boolean,
  ): Promise<ConversionResult> {
    let result: ConversionResult = { ok: true, event: stored.event, conversion: null };
    if (pin !== undefined) {
      result = await this.converters.convert(stored, pin);
      if (count && (!result.ok || result.conversion)) {
        this.metrics.conversions.inc({
          type: stored.event.type,
          outcome: result.ok ? 'converted' : 'failed',
        });
      }
      if (!result.ok) return result;
    }
    if (sub.delivery.transform === null) return result;
    const transformed = await this.transforms.apply(sub.delivery.transform, result.event);
    return transformed.ok ? { ...result, event: transformed.event } : transformed;
  }
}
