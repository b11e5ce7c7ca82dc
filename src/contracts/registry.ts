/**
 * The schema registry: event types with their settings and numbered JSON Schema versions, each new
 * version checked against the earlier ones under the type's compatibility mode before it is stored.
 */
import { IncompatibleSchemaError, NotFoundError, ValidationError } from '../core/errors.js';
import type { ContractChange, EventStore, EventType, SchemaVersion } from '../storage/ports.js';
import {
  type BreakingChange,
  COMPATIBILITY_MODES,
  type CompatibilityMode,
  checkCompatibility,
  type JsonSchema,
  type Labels,
  readerBreaks,
} from './compatibility.js';
import { diffSchemas, type SchemaPatchOperation } from './schema-diff.js';
import { checkTypeName, validateSchema } from './schema-validation.js';

/** The mode of a type that never chose one: new versions must read data written with the last. */
export const DEFAULT_COMPATIBILITY: CompatibilityMode = 'BACKWARD';

/** The settings of a type a request may change; each is optional. */
export type TypeSettingsInput = Partial<
  Pick<EventType, 'owner' | 'description' | 'channel' | 'example' | 'compatibility' | 'optionalFriendly'>
>;

/** The answer of a check: compatible or not, and each breaking change. */
export interface CheckResult {
  compatible: boolean;
  changes: BreakingChange[];
}

/** Two versions of a type compared: the patch between them, and whether each reads the other's data. */
export interface SchemaDiff {
  type: string;
  from: number;
  to: number;
  changes: SchemaPatchOperation[];
  compatibility: {
    /** Can version `to` read data written with version `from`? */
    backward: CheckResult;
    /** Can version `from` read data written with version `to`? */
    forward: CheckResult;
  };
}

/** A type as listings show it: its settings and its latest version number. */
export type EventTypeSummary = EventType & { latestVersion: number | null };

const TEXT_SETTINGS = ['owner', 'description', 'channel'] as const;
const SETTINGS = [...TEXT_SETTINGS, 'example', 'compatibility', 'optionalFriendly'] as const;
/** Longest owner, description or channel. */
const MAX_TEXT = 4_096;

/**
 * Reads the type settings present in a request body, checking each.
 *
 * @throws ValidationError naming the field and what it accepts.
 * @example
 * parseTypeSettings({ compatibility: 'FULL', owner: 'orders-team' }); // { compatibility: 'FULL', owner: ... }
 */
export function parseTypeSettings(body: Record<string, unknown>): TypeSettingsInput {
  const out: TypeSettingsInput = {};
  for (const name of TEXT_SETTINGS) {
    const value = body[name];
    if (value === undefined) continue;
    if (value !== null && typeof value !== 'string') {
      throw ValidationError.field(`/${name}`, `${name} must be a string (or null to clear it)`);
    }
    if (typeof value === 'string' && value.length > MAX_TEXT) {
      throw ValidationError.field(`/${name}`, `${name} must be at most ${MAX_TEXT} characters`);
    }
    out[name] = value;
  }
  if (body.example !== undefined) out.example = body.example;
  if (body.compatibility !== undefined) out.compatibility = parseMode(body.compatibility, '/compatibility');
  if (body.optionalFriendly !== undefined) {
    if (typeof body.optionalFriendly !== 'boolean') {
      throw ValidationError.field('/optionalFriendly', 'optionalFriendly must be true or false');
    }
    out.optionalFriendly = body.optionalFriendly;
  }
  return out;
}

/** Reads a compatibility mode, or throws ValidationError listing the accepted ones. */
export function parseMode(value: unknown, pointer: string): CompatibilityMode {
  if (typeof value !== 'string' || !COMPATIBILITY_MODES.includes(value as CompatibilityMode)) {
    throw ValidationError.field(
      pointer,
      `unknown compatibility mode ${JSON.stringify(value)}; use one of ${COMPATIBILITY_MODES.join(', ')}`,
    );
  }
  return value as CompatibilityMode;
}

/** The request body as an object, or a ValidationError saying it must be one. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.field('', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** The registry's operations; the store does the storing, the checker the comparing. */
export class SchemaRegistry {
  /** Registrations run one at a time, so each is checked against the version it follows. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: EventStore) {}

  /**
   * Registers `schema` as the type's next version, with any settings given, after checking it
   * against the earlier versions under the type's mode (or the one given with it).
   *
   * @throws ValidationError for a bad type name, schema or setting; PayloadTooLargeError for an
   * oversized schema; IncompatibleSchemaError (409) listing each breaking change.
   */
  register(
    type: string,
    schema: unknown,
    settings: TypeSettingsInput,
    actor: string,
  ): Promise<{ version: SchemaVersion; eventType: EventType }> {
    checkTypeName(type);
    validateSchema(schema, '/schema');
    const run = this.queue.then(() => this.registerNow(type, schema, settings, actor));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async registerNow(type: string, schema: unknown, input: TypeSettingsInput, actor: string) {
    const now = new Date().toISOString();
    const current = this.store.getEventType(type);
    const eventType: EventType = { ...(current ?? defaults(type, now)), ...input, updatedAt: now };
    const previous = this.store.schemaVersions(type);
    const changes = checkCompatibility(
      schema as JsonSchema,
      previous.map((v) => v.schema as JsonSchema),
      eventType.compatibility,
      { optionalFriendly: eventType.optionalFriendly },
    );
    if (changes.length > 0) {
      throw new IncompatibleSchemaError(
        `the schema would break consumers of ${type} under ${eventType.compatibility} compatibility: ${changes
          .map((c) => c.message)
          .join('; ')}; make the change compatible, or register it as a new event type`,
        changes,
      );
    }
    const fields = settingsGiven(input);
    const change = Object.keys(fields).length > 0 ? { action: 'register', fields } : { action: 'register' };
    const version = await this.store.registerSchema(eventType, schema, previous.length, actor, change);
    if (version === null) {
      // Only another process sharing the store can get here: this one registers one at a time.
      throw new IncompatibleSchemaError(
        `another version of ${type} was registered while this one was checked; send it again`,
        [],
      );
    }
    return { version, eventType };
  }

  /** Whether `schema` could be registered now, under `mode` or the type's own; stores nothing. */
  check(type: string, schema: unknown, mode: CompatibilityMode | undefined): CheckResult {
    checkTypeName(type);
    validateSchema(schema, '/schema');
    const current = this.store.getEventType(type);
    const changes = checkCompatibility(
      schema as JsonSchema,
      this.store.schemaVersions(type).map((v) => v.schema as JsonSchema),
      mode ?? current?.compatibility ?? DEFAULT_COMPATIBILITY,
      { optionalFriendly: current?.optionalFriendly ?? false },
    );
    return { compatible: changes.length === 0, changes };
  }

  /** Changes a type's settings and records which fields changed. */
  async updateSettings(type: string, input: TypeSettingsInput, actor: string): Promise<EventType> {
    const current = this.getType(type);
    const updated: EventType = { ...current, ...input, updatedAt: new Date().toISOString() };
    await this.store.saveEventType(updated, actor, { action: 'settings', fields: settingsGiven(input) });
    return updated;
  }

  /** A type's settings with its latest version. */
  describe(type: string): EventTypeSummary & { latest: SchemaVersion | null } {
    const eventType = this.getType(type);
    const latest = this.store.getSchemaVersion(type) ?? null;
    return { ...eventType, latestVersion: latest?.version ?? null, latest };
  }

  getType(type: string): EventType {
    const found = this.store.getEventType(type);
    if (!found) {
      throw new NotFoundError(
        `no event type '${type}' in the registry; register a schema with POST /v1/schemas/{type}`,
      );
    }
    return found;
  }

  listTypes(): EventTypeSummary[] {
    return this.store.listEventTypes().map((t) => ({
      ...t,
      latestVersion: this.store.getSchemaVersion(t.type)?.version ?? null,
    }));
  }

  versions(type: string): SchemaVersion[] {
    this.getType(type);
    return this.store.schemaVersions(type);
  }

  version(type: string, version: number): SchemaVersion {
    this.getType(type);
    const found = this.store.getSchemaVersion(type, version);
    if (!found) {
      throw new NotFoundError(
        `event type '${type}' has no version ${version}; list them with GET /v1/schemas/{type}/versions`,
      );
    }
    return found;
  }

  /**
   * Compares two versions of a type, in either order: the JSON Patch from `from` to `to`, and both
   * compatibility verdicts under the type's optional-friendly setting.
   *
   * @throws NotFoundError for an unknown type, or a version it does not have (naming `/from` or `/to`).
   * @example
   * registry.diff('com.acme.order.created', 1, 3).compatibility.backward.compatible; // false
   */
  diff(type: string, from: number, to: number): SchemaDiff {
    const eventType = this.getType(type);
    const versions = this.store.schemaVersions(type);
    const schemaOf = (version: number, parameter: 'from' | 'to'): JsonSchema => {
      const found = versions.find((v) => v.version === version);
      if (found) return found.schema as JsonSchema;
      const message = `event type '${type}' has no version ${version}; its versions are ${
        versions.length === 0 ? 'none yet' : `1 to ${versions.length}`
      }`;
      throw new NotFoundError(`${message}; choose one of them for ${parameter}`, {
        errors: [{ pointer: `/${parameter}`, message }],
      });
    };
    const fromSchema = schemaOf(from, 'from');
    const toSchema = schemaOf(to, 'to');
    // readerBreaks is what checkCompatibility runs for one earlier version; called directly, its
    // messages can name the real version numbers rather than "the candidate" and "version 1".
    const verdict = (writer: JsonSchema, reader: JsonSchema, labels: Labels): CheckResult => {
      const changes = readerBreaks(writer, reader, { optionalFriendly: eventType.optionalFriendly }, labels);
      return { compatible: changes.length === 0, changes };
    };
    return {
      type,
      from,
      to,
      changes: diffSchemas(fromSchema, toSchema),
      compatibility: {
        backward: verdict(fromSchema, toSchema, {
          writer: `data written with version ${from}`,
          reader: `version ${to}`,
        }),
        forward: verdict(toSchema, fromSchema, {
          writer: `data written with version ${to}`,
          reader: `version ${from}`,
        }),
      },
    };
  }

  changes(type: string): ContractChange[] {
    this.getType(type);
    return this.store.contractChanges(type);
  }
}

/** The settings a request set, in a fixed order, for the contract's history. */
function settingsGiven(input: TypeSettingsInput): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.filter((k) => k in input).map((k) => [k, input[k]]));
}

function defaults(type: string, now: string): EventType {
  return {
    type,
    owner: null,
    description: null,
    channel: null,
    example: null,
    compatibility: DEFAULT_COMPATIBILITY,
    optionalFriendly: false,
    createdAt: now,
    updatedAt: now,
  };
}
