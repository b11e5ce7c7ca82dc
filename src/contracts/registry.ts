/**
 * The schema registry: event types with their settings and numbered JSON Schema versions, each new
 * version checked against the earlier ones under the type's compatibility mode before it is stored.
 */
import { IncompatibleSchemaError, NotFoundError, ValidationError } from '../core/errors.js';
import type {
  ContractChange,
  EventStore,
  EventType,
  SchemaConverter,
  SchemaVersion,
} from '../storage/ports.js';
import {
  type BreakingChange,
  type CompatibilityMode,
  checkCompatibility,
  type JsonSchema,
  type Labels,
  readerBreaks,
} from './compatibility.js';
import { ContractCache } from './contract-cache.js';
import { compileExpression } from './jsonata-budget.js';
import { lifecycleOf, parseLifecycle } from './lifecycle.js';
import { diffSchemas, type SchemaPatchOperation } from './schema-diff.js';
import { checkTypeName, validateSchema } from './schema-validation.js';
import { DEFAULT_COMPATIBILITY, newTypeSettings, withTypeDefaults } from './type-defaults.js';
import { settingsGiven, type TypeSettingsInput, wholeVersion } from './type-settings.js';

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

/** The registry's operations; the store does the storing, the checker the comparing. */
export class SchemaRegistry {
  /** Registrations run one at a time, so each is checked against the version it follows. */
  private queue: Promise<unknown> = Promise.resolve();
  /** What ingest and delivery read: dropped per type on every change made here. */
  readonly cache: ContractCache;

  constructor(
    private readonly store: EventStore,
    /** Epoch ms; tests move it. */
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new ContractCache(store);
  }

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
    return this.serially(type, () => this.registerNow(type, schema, settings, actor));
  }

  /** Runs registry writes one at a time, and forgets the type's cached contract after each. */
  private serially<T>(type: string, write: () => Promise<T>): Promise<T> {
    // Read again even after a failed write: it may have failed after committing (a lost connection).
    const run = this.queue.then(write).finally(() => this.cache.refresh(type).catch(() => undefined));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async registerNow(type: string, schema: unknown, input: TypeSettingsInput, actor: string) {
    const now = new Date(this.now()).toISOString();
    const current = await this.store.getEventType(type);
    const base = current ? withTypeDefaults(current) : newTypeSettings(type, now);
    const eventType: EventType = { ...base, ...input, updatedAt: now };
    const previous = await this.store.schemaVersions(type);
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
  async check(type: string, schema: unknown, mode: CompatibilityMode | undefined): Promise<CheckResult> {
    checkTypeName(type);
    validateSchema(schema, '/schema');
    const current = await this.store.getEventType(type);
    const changes = checkCompatibility(
      schema as JsonSchema,
      (await this.store.schemaVersions(type)).map((v) => v.schema as JsonSchema),
      mode ?? current?.compatibility ?? DEFAULT_COMPATIBILITY,
      { optionalFriendly: current?.optionalFriendly ?? false },
    );
    return { compatible: changes.length === 0, changes };
  }

  /** Changes a type's settings and records which fields changed. */
  updateSettings(type: string, input: TypeSettingsInput, actor: string): Promise<EventType> {
    return this.serially(type, async () => {
      const current = await this.getType(type);
      const updated: EventType = { ...current, ...input, updatedAt: new Date(this.now()).toISOString() };
      await this.store.saveEventType(updated, actor, { action: 'settings', fields: settingsGiven(input) });
      return updated;
    });
  }

  /**
   * Deprecates a version (with an optional sunset), or takes the deprecation back, from a request
   * body `{deprecated, sunset}`.
   *
   * @throws NotFoundError for an unknown type or version; ValidationError for a bad field.
   */
  setLifecycle(type: string, n: number, body: Record<string, unknown>, actor: string): Promise<VersionView> {
    return this.serially(type, async () => {
      const current = await this.version(type, n);
      const lifecycle = parseLifecycle(body, current, this.now());
      await this.store.setSchemaLifecycle(type, n, lifecycle, actor, {
        action: 'lifecycle',
        version: n,
        ...lifecycle,
      });
      return await this.version(type, n);
    });
  }

  /**
   * Registers (or replaces) the JSONata converter from one version to the adjacent one.
   *
   * @throws ValidationError when the versions are not adjacent or the expression does not parse;
   * NotFoundError when either version does not exist.
   */
  saveConverter(type: string, body: Record<string, unknown>, actor: string): Promise<SchemaConverter> {
    const from = wholeVersion(body.from, '/from');
    const to = wholeVersion(body.to, '/to');
    if (Math.abs(from - to) !== 1) {
      throw ValidationError.field(
        '/to',
        `a converter joins adjacent versions (${from} to ${from + 1} or ${from - 1}); Junction chains them to go further`,
      );
    }
    compileExpression(body.expression, '/expression');
    return this.serially(type, async () => {
      await this.version(type, from);
      await this.version(type, to);
      const converter: SchemaConverter = {
        type,
        from,
        to,
        expression: body.expression as string,
        createdAt: new Date(this.now()).toISOString(),
        createdBy: actor,
      };
      await this.store.saveConverter(converter, {
        action: 'converter',
        from,
        to,
        expression: converter.expression,
      });
      return converter;
    });
  }

  /** Removes a converter. @throws NotFoundError when there is none. */
  deleteConverter(type: string, from: number, to: number, actor: string): Promise<void> {
    return this.serially(type, async () => {
      await this.getType(type);
      const found = await this.store.deleteConverter(type, from, to, actor, {
        action: 'converter-removed',
        from,
        to,
      });
      if (!found) {
        throw new NotFoundError(
          `'${type}' has no converter from version ${from} to ${to}; list them with GET /v1/schemas/{type}/converters`,
        );
      }
    });
  }

  async converters(type: string): Promise<SchemaConverter[]> {
    await this.getType(type);
    return this.store.converters(type);
  }

  /** A type's settings with its latest version. */
  async describe(type: string): Promise<EventTypeSummary & { latest: VersionView | null }> {
    const eventType = await this.getType(type);
    const latest = await this.store.getSchemaVersion(type);
    return {
      ...eventType,
      latestVersion: latest?.version ?? null,
      latest: latest ? this.view(latest) : null,
    };
  }

  async getType(type: string): Promise<EventType> {
    const found = await this.store.getEventType(type);
    if (!found) {
      throw new NotFoundError(
        `no event type '${type}' in the registry; register a schema with POST /v1/schemas/{type}`,
      );
    }
    return withTypeDefaults(found);
  }

  async listTypes(): Promise<EventTypeSummary[]> {
    const types = await this.store.listEventTypes();
    return Promise.all(
      types.map(async (t) => ({
        ...withTypeDefaults(t),
        latestVersion: (await this.store.getSchemaVersion(t.type))?.version ?? null,
      })),
    );
  }

  async versions(type: string): Promise<VersionView[]> {
    await this.getType(type);
    return (await this.store.schemaVersions(type)).map((v) => this.view(v));
  }

  async version(type: string, version: number): Promise<VersionView> {
    await this.getType(type);
    const found = await this.store.getSchemaVersion(type, version);
    if (!found) {
      throw new NotFoundError(
        `event type '${type}' has no version ${version}; list them with GET /v1/schemas/{type}/versions`,
      );
    }
    return this.view(found);
  }

  /** A version with where it stands in its lifecycle now. */
  private view(version: SchemaVersion): VersionView {
    return { ...version, state: lifecycleOf(version, this.now()) };
  }

  /**
   * Compares two versions of a type, in either order: the JSON Patch from `from` to `to`, and both
   * compatibility verdicts under the type's optional-friendly setting.
   *
   * @throws NotFoundError for an unknown type, or a version it does not have (naming `/from` or `/to`).
   * @example
   * (await registry.diff('com.acme.order.created', 1, 3)).compatibility.backward.compatible; // false
   */
  async diff(type: string, from: number, to: number): Promise<SchemaDiff> {
    const eventType = await this.getType(type);
    const versions = await this.store.schemaVersions(type);
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

  async changes(type: string): Promise<ContractChange[]> {
    await this.getType(type);
    return this.store.contractChanges(type);
  }
}

/** A version as the API shows it: with its lifecycle state now. */
export type VersionView = SchemaVersion & { state: ReturnType<typeof lifecycleOf> };
