/**
 * The registry as ingest and delivery read it: each type's settings, versions and converters held
 * in memory, with validators compiled once per version. The whole registry is read at start; a
 * write through the registry, or a change another process reports, reads its type again.
 */
import type { ValidateFunction } from 'ajv';
import type { EventStore, EventType, SchemaConverter, SchemaVersion } from '../storage/ports.js';
import { newAjv } from './ajv.js';
import { withTypeDefaults } from './type-defaults.js';

/** A registered type as ingest needs it; only types with at least one version have one. */
export interface Contract {
  eventType: EventType;
  versions: Map<number, SchemaVersion>;
  latest: SchemaVersion;
  /** Converters by `"from>to"`. */
  converters: Map<string, SchemaConverter>;
}

export class ContractCache {
  private readonly contracts = new Map<string, Contract>();
  private readonly validators = new Map<string, ValidateFunction>();
  /** Reads of each type started so far: a read that finishes after a later one started is dropped. */
  private readonly reads = new Map<string, number>();

  constructor(private readonly store: EventStore) {}

  /**
   * Reads the whole registry into memory: what a hub does once at start. Registries hold hundreds
   * of types, not millions, and ingest must not wait on the store to learn a type has no schema.
   */
  async load(): Promise<void> {
    const types = await this.store.listEventTypes();
    await Promise.all(types.map((t) => this.refresh(t.type)));
  }

  /** The type's contract, or null when it has no schema version. */
  get(type: string): Contract | null {
    return this.contracts.get(type) ?? null;
  }

  /** Reads the type again from the store, after a change to it here or in another process. */
  async refresh(type: string): Promise<void> {
    const read = (this.reads.get(type) ?? 0) + 1;
    this.reads.set(type, read);
    const [stored, versions, converters] = await Promise.all([
      this.store.getEventType(type),
      this.store.schemaVersions(type),
      this.store.converters(type),
    ]);
    if (this.reads.get(type) !== read) return;
    if (!stored || versions.length === 0) {
      this.contracts.delete(type);
      return;
    }
    this.contracts.set(type, {
      eventType: withTypeDefaults(stored),
      versions: new Map(versions.map((v) => [v.version, v])),
      latest: versions[versions.length - 1]!,
      converters: new Map(converters.map((c) => [`${c.from}>${c.to}`, c])),
    });
  }

  /** The compiled validator of a version; versions never change, so it is compiled once. */
  validator(version: SchemaVersion): ValidateFunction {
    const key = `${version.type}\u0000${version.version}`;
    let validate = this.validators.get(key);
    if (!validate) {
      // One Ajv per version: two versions of a type usually share an `$id`, which one instance refuses.
      try {
        validate = newAjv().compile(version.schema as object | boolean);
      } catch {
        // Registered before patterns were held to RE2: JavaScript's engine still runs it.
        validate = newAjv({ re2: false }).compile(version.schema as object | boolean);
      }
      this.validators.set(key, validate);
    }
    return validate;
  }
}
