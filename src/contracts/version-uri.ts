/**
 * The `dataschema` of an event names the registry version it follows: the URL of that version in
 * the registry API, `{hub}/v1/schemas/{type}/versions/{n}`, under any host (a producer may point
 * at the staging hub's copy). Any other URI is the producer's own and says nothing about versions.
 */

/** What a `dataschema` says about the version of an event of `type`. */
export type DataschemaVersion =
  | { kind: 'version'; version: number }
  /** Not a registry URL: the producer's own schema link. */
  | { kind: 'foreign' }
  /** A registry URL for another type. */
  | { kind: 'other-type'; type: string };

const REGISTRY_PATH = /\/v1\/schemas\/([^/]+)\/versions\/([1-9]\d{0,8})$/;

/**
 * Reads the version out of a registry `dataschema`.
 *
 * @example
 * versionOf('https://hub.example.com/v1/schemas/order.created/versions/2', 'order.created');
 * // { kind: 'version', version: 2 }
 */
export function versionOf(dataschema: string, type: string): DataschemaVersion {
  let path: string;
  try {
    path = new URL(dataschema).pathname;
  } catch {
    return { kind: 'foreign' };
  }
  const match = REGISTRY_PATH.exec(path);
  if (!match) return { kind: 'foreign' };
  let named: string;
  try {
    named = decodeURIComponent(match[1]!);
  } catch {
    return { kind: 'foreign' };
  }
  if (named !== type) return { kind: 'other-type', type: named };
  return { kind: 'version', version: Number(match[2]) };
}

/** The registry URL of a version, under the hub's public address. */
export function versionUri(base: string, type: string, version: number): string {
  return `${base}/v1/schemas/${encodeURIComponent(type)}/versions/${version}`;
}
