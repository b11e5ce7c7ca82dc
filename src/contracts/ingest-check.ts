/**
 * Contracts at the edge: each event of a registered type is matched to a schema version (from its
 * `dataschema`, else the latest), checked against that version's lifecycle, and validated as its
 * type's `validation` mode says. A request is taken or refused whole, like a batch.
 */
import type { ErrorObject } from 'ajv';
import { type FieldError, JunctionError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { isJsonMediaType, parseMediaType } from '../core/media-type.js';
import type { Metrics } from '../observability/metrics.js';
import type { EventContract, SchemaVersion } from '../storage/ports.js';
import type { Contract, ContractCache } from './contract-cache.js';
import { deprecationHeaders, lifecycleOf } from './lifecycle.js';
import { versionOf, versionUri } from './version-uri.js';

/** Validation errors reported per event: enough to act on, bounded for a pathological payload. */
const MAX_ERRORS_PER_EVENT = 20;

/** Events whose data does not match their schema version, under `enforce`. */
export class SchemaViolationError extends JunctionError {
  override readonly code = 'schema-violation';
  override readonly status = 400;
  override readonly title = 'Event does not match its schema';
}

/** Events of a version past its sunset, under `afterSunset: refuse`. */
export class VersionRetiredError extends JunctionError {
  override readonly code = 'version-retired';
  override readonly status = 400;
  override readonly title = 'Schema version retired';
}

/** Events of a type with no schema, under `unknownTypes: refuse`. */
export class UnknownTypeError extends JunctionError {
  override readonly code = 'unknown-type';
  override readonly status = 400;
  override readonly title = 'Unknown event type';
}

/** Something an event was taken despite, reported beside its `accepted` status. */
export type IngestWarning =
  | { code: 'schema-violation'; version: number; errors: FieldError[] }
  | { code: 'deprecated'; version: number; sunset: string | null }
  | { code: 'dataschema'; message: string };

export interface IngestVerdict {
  /** Per event: the version it was checked against (and its errors under warn), or null. */
  contracts: (EventContract | null)[];
  /** Per event: what it was taken despite, if anything. */
  warnings: (IngestWarning[] | undefined)[];
  /** `Deprecation`, `Sunset` and `Link` for the response when a deprecated version was published. */
  headers: Record<string, string>;
}

export interface IngestCheckOptions {
  unknownTypes: 'accept' | 'refuse';
  /** The hub's public address, for the successor links of deprecated versions. */
  publicUrl: () => string;
  /** Epoch ms; a test moves it to see a sunset pass. */
  now: () => number;
}

type Refusal = {
  error: new (message: string, options: { errors: FieldError[] }) => JunctionError;
  fields: FieldError[];
};

/** Whether the event's data is JSON, the only kind a JSON Schema describes. */
function hasJsonData(event: CloudEvent): boolean {
  if (event.data_base64 !== undefined) return false;
  if (event.datacontenttype === undefined) return true;
  const mediaType = parseMediaType(event.datacontenttype);
  return mediaType !== undefined && isJsonMediaType(mediaType);
}

function fieldErrors(errors: ErrorObject[] | null | undefined, at: string): FieldError[] {
  return (errors ?? []).slice(0, MAX_ERRORS_PER_EVENT).map((e) => ({
    pointer: `${at}/data${e.instancePath}`,
    message: `${e.instancePath || 'data'} ${e.message ?? 'is invalid'}${
      e.params && 'allowedValues' in e.params ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : ''
    }${e.params && 'additionalProperty' in e.params ? ` ('${String(e.params.additionalProperty)}')` : ''}`,
  }));
}

export class IngestCheck {
  constructor(
    private readonly cache: ContractCache,
    private readonly metrics: Metrics,
    private readonly options: IngestCheckOptions,
  ) {}

  /**
   * Checks every event; `batch` says whether their pointers are `/{index}/...` or `/...`.
   *
   * @throws SchemaViolationError, VersionRetiredError or UnknownTypeError (400), listing every
   * event's problems; nothing of the request is taken then.
   */
  check(events: CloudEvent[], batch: boolean): IngestVerdict {
    const now = this.options.now();
    const contracts: (EventContract | null)[] = [];
    const warnings: (IngestWarning[] | undefined)[] = [];
    const published: { version: SchemaVersion; successor: string | null }[] = [];
    const refusals: Refusal[] = [];
    const refuse = (error: Refusal['error'], fields: FieldError[]) => {
      const same = refusals.find((r) => r.error === error);
      if (same) same.fields.push(...fields);
      else refusals.push({ error, fields });
    };

    events.forEach((event, i) => {
      const at = batch ? `/${i}` : '';
      const contract = this.cache.get(event.type);
      if (!contract) {
        contracts.push(null);
        warnings.push(undefined);
        if (this.options.unknownTypes === 'refuse') {
          this.metrics.unknownTypesRefused.inc();
          refuse(UnknownTypeError, [
            {
              pointer: `${at}/type`,
              message: `type '${event.type}' has no schema in the registry, and this hub takes only registered types; register one with POST /v1/schemas/{type}`,
            },
          ]);
        }
        return;
      }
      const mode = contract.eventType.validation;
      const notes: IngestWarning[] = [];
      const version = this.versionOf(event, contract, at, mode, notes, refuse);
      if (!version) {
        contracts.push(null);
        warnings.push(undefined);
        return;
      }
      const state = lifecycleOf(version, now);
      if (state !== 'active') {
        const refused = state === 'retired' && contract.eventType.afterSunset === 'refuse';
        this.metrics.deprecatedPublished.inc({
          type: event.type,
          version: String(version.version),
          outcome: refused ? 'refused' : 'accepted',
        });
        if (refused) {
          refuse(VersionRetiredError, [
            {
              pointer: event.dataschema === undefined ? `${at}/type` : `${at}/dataschema`,
              message: `version ${version.version} of '${event.type}' was retired at ${version.sunsetAt}; publish version ${contract.latest.version} (set dataschema to its registry URL)`,
            },
          ]);
        }
        notes.push({ code: 'deprecated', version: version.version, sunset: version.sunsetAt });
        const next = contract.versions.get(version.version + 1);
        published.push({
          version,
          successor: next ? versionUri(this.options.publicUrl(), event.type, next.version) : null,
        });
      }
      const record: EventContract = { version: version.version };
      if (mode !== 'off') {
        const errors = this.validate(event, version, at);
        if (errors.length > 0) {
          this.metrics.schemaViolations.inc({
            type: event.type,
            outcome: mode === 'enforce' ? 'refused' : 'accepted',
          });
          if (mode === 'enforce') refuse(SchemaViolationError, errors);
          else {
            record.errors = errors;
            notes.push({ code: 'schema-violation', version: version.version, errors });
          }
        }
      }
      contracts.push(record);
      warnings.push(notes.length > 0 ? notes : undefined);
    });

    const first = refusals[0];
    if (first) {
      const fields = refusals.flatMap((r) => r.fields);
      const shown = fields
        .slice(0, 3)
        .map((f) => `${f.pointer || '/'}: ${f.message}`)
        .join('; ');
      const more = fields.length > 3 ? `; and ${fields.length - 3} more (see errors)` : '';
      throw new first.error(`${shown}${more}`, { errors: fields });
    }
    return { contracts, warnings, headers: deprecationHeaders(published) };
  }

  /** The version an event claims (its `dataschema`) or, failing that, the latest. */
  private versionOf(
    event: CloudEvent,
    contract: Contract,
    at: string,
    mode: Contract['eventType']['validation'],
    notes: IngestWarning[],
    refuse: (error: Refusal['error'], fields: FieldError[]) => void,
  ): SchemaVersion | undefined {
    if (event.dataschema === undefined) return contract.latest;
    const claimed = versionOf(event.dataschema, event.type);
    if (claimed.kind === 'foreign') return contract.latest;
    const found = claimed.kind === 'version' ? contract.versions.get(claimed.version) : undefined;
    if (found) return found;
    const message =
      claimed.kind === 'other-type'
        ? `dataschema names a schema of '${claimed.type}', but the event's type is '${event.type}'; point it at a version of '${event.type}' or leave it out`
        : `dataschema names version ${(claimed as { version: number }).version} of '${event.type}', which is not registered (the latest is ${contract.latest.version})`;
    if (mode === 'enforce') {
      refuse(SchemaViolationError, [{ pointer: `${at}/dataschema`, message }]);
      return undefined;
    }
    if (mode === 'warn') notes.push({ code: 'dataschema', message });
    return contract.latest;
  }

  private validate(event: CloudEvent, version: SchemaVersion, at: string): FieldError[] {
    if (!hasJsonData(event)) {
      return [
        {
          pointer: `${at}/datacontenttype`,
          message: `'${event.type}' has a JSON Schema, so its data must be JSON; send it with a JSON content type`,
        },
      ];
    }
    const validate = this.cache.validator(version);
    // An event without data is checked as null: a schema that allows no payload says so.
    if (validate(event.data ?? null)) return [];
    return fieldErrors(validate.errors, at);
  }
}
