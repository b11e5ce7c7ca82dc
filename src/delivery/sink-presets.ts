/**
 * Delivery settings for sinks whose limits are known, by host. A subscription to such a sink gets the
 * preset's settings unless its request sets them, so that a Slack hook is not flooded into 429s.
 */
import type { RateLimit } from '../storage/ports.js';

/** What a preset may set; each field applies only when the subscription request leaves it out. */
export interface SinkPreset {
  rateLimit?: RateLimit;
}

const PRESETS: ReadonlyMap<string, SinkPreset> = new Map([
  // Slack allows about one message per second, incoming webhooks included, and answers 429 beyond it
  // (https://api.slack.com/docs/rate-limits). Its short bursts are tolerated, not promised, so none here.
  ['hooks.slack.com', { rateLimit: { perSecond: 1, burst: 1, concurrency: 1 } }],
]);

/**
 * The preset for a sink URL, by its host, or undefined when there is none (or the URL is invalid).
 *
 * @example
 * presetFor('https://hooks.slack.com/services/T0/B0/x'); // { rateLimit: { perSecond: 1, burst: 1, concurrency: 1 } }
 * presetFor('https://crm.example.com/hooks'); // undefined
 */
export function presetFor(sink: string): SinkPreset | undefined {
  let host: string;
  try {
    host = new URL(sink).hostname;
  } catch {
    return undefined;
  }
  const preset = PRESETS.get(host.replace(/\.$/, ''));
  if (!preset) return undefined;
  // A copy, so that a subscription that is later changed in place cannot change the table.
  return { ...(preset.rateLimit ? { rateLimit: { ...preset.rateLimit } } : {}) };
}
