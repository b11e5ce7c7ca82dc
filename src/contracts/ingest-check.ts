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
  /** Whether the store holds an event with this source and id already. */
  isStored: (source: string, id: string) => Promise<boolean>;
}

type Published = { version: SchemaVersion; successor: string | null };

/** One event's verdict before it is known whether the event is a retry of one already stored. */
interface OneVerdict {
  contract: EventContract | null;
  notes: IngestWarning[];
  refusals: Refusal[];
  counts: (() => void)[];
  published?: Published;
}

/** The verdict on an event of a type with no schema, when such types are accepted: shared, never changed. */
const UNCHECKED: OneVerdict = Object.freeze({
  contract: null,
  notes: Object.freeze([]) as unknown as IngestWarning[],
  refusals: Object.freeze([]) as unknown as Refusal[],
  counts: Object.freeze([]) as unknown as (() => void)[],
});

type Refusal = {
  error: new (message: string, options: { errors: FieldError[] }) => JunctionError;
  fields: FieldError[];
};

/** Whether the event's data is JSON, the only kind a JSON Schema describes. */
export function hasJsonData(event: CloudEvent): boolean {
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
  async check(events: CloudEvent[], batch: boolean, count = true): Promise<IngestVerdict> {
    const now = this.options.now();
    const contracts: (EventContract | null)[] = [];
    const warnings: (IngestWarning[] | undefined)[] = [];
    const published: Published[] = [];
    const refusals: Refusal[] = [];

    for (const [i, event] of events.entries()) {
      const one = this.checkOne(event, batch ? `/${i}` : '', now);
      if (one.refusals.length > 0 && (await this.options.isStored(event.source, event.id))) {
        // A retry of an event the hub already holds is a duplicate, however it would be judged
        // now (a schema registered since, a sunset passed): the store answers it as one.
        contracts.push(null);
        warnings.push(undefined);
        continue;
      }
      if (count) for (const inc of one.counts) inc();
      for (const r of one.refusals) {
        const same = refusals.find((x) => x.error === r.error);
        if (same) same.fields.push(...r.fields);
        else refusals.push({ error: r.error, fields: [...r.fields] });
      }
      contracts.push(one.contract);
      warnings.push(one.notes.length > 0 ? one.notes : undefined);
      if (one.published) published.push(one.published);
    }

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

  /** One event's verdict, with the metrics it would count once it is known not to be a retry. */
  private checkOne(event: CloudEvent, at: string, now: number): OneVerdict {
    const contract = this.cache.get(event.type);
    // Most events at ingest may be of types with no schema: they cost a map lookup, nothing more.
    if (!contract && this.options.unknownTypes === 'accept') return UNCHECKED;
    const one: OneVerdict = { contract: null, notes: [], refusals: [], counts: [] };
    const refuse = (error: Refusal['error'], fields: FieldError[]) => one.refusals.push({ error, fields });
    if (!contract) {
      if (this.options.unknownTypes === 'refuse') {
        one.counts.push(() => this.metrics.unknownTypesRefused.inc());
        refuse(UnknownTypeError, [
          {
            pointer: `${at}/type`,
            message: `type '${event.type}' has no schema in the registry, and this hub takes only registered types; register one with POST /v1/schemas/{type}`,
          },
        ]);
      }
      return one;
    }
    const mode = contract.eventType.validation;
    const version = this.versionOf(event, contract, at, mode, one.notes, refuse);
    if (!version) return one;
    const state = lifecycleOf(version, now);
    if (state !== 'active') {
      const refused = state === 'retired' && contract.eventType.afterSunset === 'refuse';
      const labels = {
        type: event.type,
        version: String(version.version),
        outcome: refused ? 'refused' : 'accepted',
      };
      one.counts.push(() => this.metrics.deprecatedPublished.inc(labels));
      if (refused) {
        refuse(VersionRetiredError, [
          {
            pointer: event.dataschema === undefined ? `${at}/type` : `${at}/dataschema`,
            message: `version ${version.version} of '${event.type}' was retired at ${version.sunsetAt}; publish version ${contract.latest.version} (set dataschema to its registry URL)`,
          },
        ]);
      }
      one.notes.push({ code: 'deprecated', version: version.version, sunset: version.sunsetAt });
      const next = contract.versions.get(version.version + 1);
      one.published = {
        version,
        successor: next ? versionUri(this.options.publicUrl(), event.type, next.version) : null,
      };
    }
    const record: EventContract = { version: version.version };
    if (mode !== 'off') {
      const errors = this.validate(event, version, at);
      if (errors.length > 0) {
        const labels = { type: event.type, outcome: mode === 'enforce' ? 'refused' : 'accepted' };
        one.counts.push(() => this.metrics.schemaViolations.inc(labels));
        if (mode === 'enforce') refuse(SchemaViolationError, errors);
        else {
          record.errors = errors;
          one.notes.push({ code: 'schema-violation', version: version.version, errors });
        }
      }
    }
    one.contract = record;
    return one;
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
      const base64 = event.data_base64 !== undefined;
      return [
        {
          pointer: base64 ? `${at}/data_base64` : `${at}/datacontenttype`,
          message: base64
            ? `'${event.type}' has a JSON Schema, so its data must be JSON: send it as data, not data_base64`
            : `'${event.type}' has a JSON Schema, so its data must be JSON; send it with a JSON content type`,
        },
      ];
    }
    const validate = this.cache.validator(version);
    // An event without data is checked as null: a schema that allows no payload says so.
    if (validate(event.data ?? null)) return [];
    return fieldErrors(validate.errors, at);
  }
}
