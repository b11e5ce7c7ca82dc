/**
 * Outbound presets: what each no-code tool's incoming webhook needs from a delivery, so that a
 * user only pastes its URL. A subscription names a preset in `delivery.preset`, or gets the one
 * its sink's host is recognised by; the preset fills in the delivery settings the request leaves
 * out (an explicit setting always wins). What each tool does, and why each value, is in
 * docs/recipes/.
 */
import type { DeliveryPolicy, RateLimit } from '../storage/ports.js';

export const PRESET_NAMES = ['zapier', 'make', 'n8n', 'power-automate', 'slack', 'json'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The delivery settings a preset may fill in. */
export type PresetSettings = Partial<
  Pick<DeliveryPolicy, 'format' | 'timeoutMs' | 'rateLimit' | 'transform' | 'retryOn'>
>;

/**
 * Slack's default message: the event's type and subject in bold, then its data as JSON in a code
 * block, cut to stay within the 3,000 characters Slack shows in one text section. A subscription
 * builds its own text or `blocks` with `delivery.transform`.
 */
export const SLACK_TEXT_TEMPLATE =
  '{"text": "*" & $event.type & "*" & ($event.subject ? " " & $event.subject : "") & ($exists($) ? "\\n```" & $substring($string($), 0, 2900) & "```" : "")}';

const SLACK_LIMIT: RateLimit = { perSecond: 1, burst: 1, concurrency: 1 };

const PRESETS: Readonly<Record<PresetName, PresetSettings>> = {
  // Catch hooks parse a flat JSON object into fields a Zap can map: the webhook shape. Zapier
  // answers 200 even when the Zap is off, and 410 once a REST-hook subscription is gone (the hub
  // removes such a subscription, or disables a plain one).
  zapier: {
    format: 'webhook',
    timeoutMs: 30_000,
    rateLimit: { perSecond: 50, burst: 100, concurrency: null },
  },
  // Make queues each webhook's requests and answers at once; it refuses more than about 30
  // requests a second per webhook with 429, and payloads over 5 MB with 413.
  make: { format: 'webhook', timeoutMs: 30_000, rateLimit: { perSecond: 30, burst: 30, concurrency: null } },
  // n8n answers only when its workflow ends (unless told to respond at once), and 404 while the
  // workflow is inactive: retried, since activating it is the fix, not changing the event.
  n8n: { format: 'webhook', timeoutMs: 120_000, retryOn: [404] },
  // Power Automate's "When an HTTP request is received" trigger answers 202 at once, or waits up to
  // 120 s for a Response action.
  'power-automate': { format: 'webhook', timeoutMs: 120_000 },
  // Incoming webhooks take `{text}` or `{blocks}` as the whole body, about one message a second.
  slack: { format: 'binary', transform: SLACK_TEXT_TEMPLATE, rateLimit: SLACK_LIMIT },
  json: { format: 'webhook' },
};

/** Hosts each preset is recognised by (lower case, without a trailing dot). */
const RECOGNISED: readonly [RegExp, PresetName][] = [
  [/^hooks\.zapier\.com$/, 'zapier'],
  [/^hook\.(?:[a-z0-9-]+\.)?make\.com$/, 'make'],
  [/^hook\.integromat\.com$/, 'make'],
  [/\.app\.n8n\.cloud$/, 'n8n'],
  [/\.logic\.azure\.com$/, 'power-automate'],
  [/\.environment\.api\.powerplatform\.com$/, 'power-automate'],
  [/^hooks\.slack\.com$/, 'slack'],
];

/**
 * The preset a sink URL is recognised by, from its host, or undefined (also for an invalid URL).
 *
 * @example recognisePreset('https://hooks.zapier.com/hooks/catch/1/abc/') // 'zapier'
 */
export function recognisePreset(sink: string): PresetName | undefined {
  let host: string;
  try {
    host = new URL(sink).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return undefined;
  }
  return RECOGNISED.find(([pattern]) => pattern.test(host))?.[1];
}

/**
 * A copy of the preset's settings, so that a subscription changed in place cannot change the
 * table.
 *
 * @example presetSettings('slack').rateLimit // { perSecond: 1, burst: 1, concurrency: 1 }
 */
export function presetSettings(name: PresetName): PresetSettings {
  return structuredClone(PRESETS[name]);
}

export const isPresetName = (value: unknown): value is PresetName =>
  typeof value === 'string' && (PRESET_NAMES as readonly string[]).includes(value);
