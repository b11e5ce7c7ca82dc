/**
 * A version's lifecycle: active, deprecated (still taken, with `Deprecation` and `Sunset` response
 * headers, RFC 9745 and RFC 8594), and past its sunset (refused, unless the type says otherwise).
 */
import { ValidationError } from '../core/errors.js';
import { isRfc3339Timestamp } from '../core/timestamp.js';
import type { SchemaVersion } from '../storage/ports.js';

export type LifecycleState = 'active' | 'deprecated' | 'retired';

/** Where a version stands at `now` (epoch ms). */
export function lifecycleOf(
  version: Pick<SchemaVersion, 'deprecatedAt' | 'sunsetAt'>,
  now: number,
): LifecycleState {
  if (version.sunsetAt !== null && Date.parse(version.sunsetAt) <= now) return 'retired';
  return version.deprecatedAt === null ? 'active' : 'deprecated';
}

/** A version's deprecation and sunset as a request sets them. */
export interface LifecycleInput {
  deprecatedAt: string | null;
  sunsetAt: string | null;
}

/**
 * Reads `{deprecated, sunset}` from a request body for `current`. A sunset deprecates the version
 * too; `deprecated: false` clears both; deprecating again keeps the first deprecation time.
 *
 * @throws ValidationError naming the field.
 * @example
 * parseLifecycle({ deprecated: true, sunset: '2027-01-31T00:00:00Z' }, current, Date.now());
 */
export function parseLifecycle(
  body: Record<string, unknown>,
  current: Pick<SchemaVersion, 'deprecatedAt' | 'sunsetAt'>,
  now: number,
): LifecycleInput {
  const unknown = Object.keys(body).filter((k) => k !== 'deprecated' && k !== 'sunset');
  if (unknown.length > 0) {
    throw ValidationError.field(
      `/${unknown[0]}`,
      `unknown field '${unknown[0]}'; a version's lifecycle takes deprecated (true or false) and sunset (an RFC 3339 time or null)`,
    );
  }
  if (body.deprecated === undefined && body.sunset === undefined) {
    throw ValidationError.field(
      '',
      'send deprecated (true or false), sunset (an RFC 3339 time or null), or both',
    );
  }
  if (body.deprecated !== undefined && typeof body.deprecated !== 'boolean') {
    throw ValidationError.field('/deprecated', 'deprecated must be true or false');
  }
  let sunsetAt = current.sunsetAt;
  if (body.sunset !== undefined) {
    if (body.sunset === null) sunsetAt = null;
    else {
      const parsed =
        typeof body.sunset === 'string' && isRfc3339Timestamp(body.sunset)
          ? Date.parse(body.sunset)
          : Number.NaN;
      if (Number.isNaN(parsed)) {
        throw ValidationError.field(
          '/sunset',
          'sunset must be an RFC 3339 time with a zone, such as 2027-01-31T00:00:00Z, or null to remove it',
        );
      }
      sunsetAt = new Date(parsed).toISOString();
    }
  }
  if (body.deprecated === false) {
    if (body.sunset !== undefined && body.sunset !== null) {
      throw ValidationError.field(
        '/sunset',
        'a version that is not deprecated has no sunset: drop sunset, or set deprecated to true',
      );
    }
    return { deprecatedAt: null, sunsetAt: null };
  }
  const deprecatedAt = current.deprecatedAt ?? new Date(now).toISOString();
  if (body.deprecated === undefined && current.deprecatedAt === null && sunsetAt === null) {
    return { deprecatedAt: null, sunsetAt: null };
  }
  return { deprecatedAt, sunsetAt };
}

/** RFC 9110 IMF-fixdate, the form `Sunset` takes. */
function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

/**
 * The response headers for publishing deprecated versions: `Deprecation` (RFC 9745, a structured
 * date) with the earliest deprecation, `Sunset` (RFC 8594) with the earliest sunset, and a `Link`
 * to the successor of each. Empty when none is deprecated.
 */
export function deprecationHeaders(
  versions: { version: SchemaVersion; successor: string | null }[],
): Record<string, string> {
  const deprecated = versions.filter((v) => v.version.deprecatedAt !== null);
  if (deprecated.length === 0) return {};
  const earliest = (times: string[]) => times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
  const headers: Record<string, string> = {
    deprecation: `@${Math.floor(Date.parse(earliest(deprecated.map((v) => v.version.deprecatedAt!))) / 1000)}`,
  };
  const sunsets = deprecated.map((v) => v.version.sunsetAt).filter((t): t is string => t !== null);
  if (sunsets.length > 0) headers.sunset = httpDate(earliest(sunsets));
  const links = [...new Set(deprecated.map((v) => v.successor).filter((l): l is string => l !== null))];
  if (links.length > 0) headers.link = links.map((l) => `<${l}>; rel="successor-version"`).join(', ');
  return headers;
}
