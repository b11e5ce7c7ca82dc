/**
 * Versions side by side: an event goes to a subscription pinned to another version of its type
 * after a chain of converters between adjacent versions rewrites its data, and the result is
 * validated against the pinned version. An event that cannot be converted is never sent as it is.
 */
import type { CloudEvent } from '../core/event.js';
import type { Conversion, StoredEvent, Subscription } from '../storage/ports.js';
import type { ContractCache } from './contract-cache.js';
import { hasJsonData } from './ingest-check.js';
import { compiledExpression, evaluateWithin } from './jsonata-budget.js';
import { versionUri } from './version-uri.js';

export type ConversionResult =
  | { ok: true; event: CloudEvent; conversion: Conversion | null }
  | { ok: false; reason: string };

/**
 * The version of `type` the subscription is pinned to, if any: one number pins the single type
 * the subscription takes, an object pins per type.
 */
export function pinnedVersion(
  sub: Pick<Subscription, 'types' | 'delivery'>,
  type: string,
): number | undefined {
  const pin = sub.delivery.schemaVersion;
  if (pin === null || pin === undefined) return undefined;
  if (typeof pin === 'number') return sub.types.length === 1 && sub.types[0] === type ? pin : undefined;
  return Object.hasOwn(pin, type) ? pin[type] : undefined;
}

export class Converters {
  constructor(
    private readonly cache: ContractCache,
    private readonly publicUrl: () => string,
  ) {}

  /**
   * The event in version `target` of its type: unchanged when it is in that version already,
   * converted step by step otherwise, or the reason it cannot be.
   */
  async convert(stored: StoredEvent, target: number): Promise<ConversionResult> {
    const { event } = stored;
    const type = event.type;
    const contract = this.cache.get(type);
    if (!contract) return { ok: false, reason: `'${type}' has no schema in the registry to convert by` };
    const targetVersion = contract.versions.get(target);
    if (!targetVersion) {
      return {
        ok: false,
        reason: `the subscription is pinned to version ${target} of '${type}', which is not registered`,
      };
    }
    const from = stored.contract?.version;
    if (from === undefined) {
      return {
        ok: false,
        reason: `the event's schema version is unknown (it was published before '${type}' had a schema), so it cannot be converted to version ${target}`,
      };
    }
    if (from === target) return { ok: true, event, conversion: null };
    if (!hasJsonData(event)) {
      return { ok: false, reason: `only JSON data can be converted; this event's data is not JSON` };
    }
    const step = target > from ? 1 : -1;
    const path = [from];
    let data: unknown = event.data ?? null;
    for (let v = from; v !== target; v += step) {
      const converter = contract.converters.get(`${v}>${v + step}`);
      if (!converter) {
        return {
          ok: false,
          reason: `no converter from version ${v} to ${v + step} of '${type}'; register one with POST /v1/schemas/{type}/converters and redrive`,
        };
      }
      try {
        // JSONata's results carry its own markers on arrays, and may hold a function; the JSON
        // round trip leaves plain data, or fails here rather than on the way out.
        const result = await evaluateWithin(compiledExpression(converter.expression, '/expression'), data, {
          event,
        });
        data = result === undefined ? undefined : (JSON.parse(JSON.stringify(result)) as unknown);
      } catch (error) {
        return {
          ok: false,
          reason: `the converter from version ${v} to ${v + step} of '${type}' failed: ${(error as Error).message ?? String(error)}`,
        };
      }
      if (data === undefined) {
        return {
          ok: false,
          reason: `the converter from version ${v} to ${v + step} of '${type}' produced no data`,
        };
      }
      path.push(v + step);
    }
    const validate = this.cache.validator(targetVersion);
    if (!validate(data)) {
      const first = validate.errors?.[0];
      return {
        ok: false,
        reason: `the converted data does not match version ${target} of '${type}': ${first?.instancePath || 'data'} ${first?.message ?? 'is invalid'}`,
      };
    }
    return {
      ok: true,
      event: { ...event, data, dataschema: versionUri(this.publicUrl(), type, target) },
      conversion: { from, to: target, path },
    };
  }
}
