/**
 * The registry as ingest and delivery read it: each type's settings, versions and converters held
 * in memory, with validators compiled once per version. A write through the registry drops the
 * type's entry; the next read loads it again from the store.
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

/**
 * Types looked up and found unregistered, remembered so that ingest of unregistered types costs a
 * map lookup; past this many the memory is cleared rather than grown, since the names come from
 * producers and are unbounded.
 */
const MAX_ABSENT = 10_000;

export class ContractCache {
  private readonly contracts = new Map<string, Contract>();
  private readonly absent = new Set<string>();
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly store: EventStore) {}

  /** The type's contract, or null when it has no schema version. */
  get(type: string): Contract | null {
    const cached = this.contracts.get(type);
    if (cached) return cached;
    if (this.absent.has(type)) return null;
    const stored = this.store.getEventType(type);
    const versions = stored ? this.store.schemaVersions(type) : [];
    if (!stored || versions.length === 0) {
      if (this.absent.size >= MAX_ABSENT) this.absent.clear();
      this.absent.add(type);
      return null;
    }
    const contract: Contract = {
      eventType: withTypeDefaults(stored),
      versions: new Map(versions.map((v) => [v.version, v])),
      latest: versions[versions.length - 1]!,
      converters: new Map(this.store.converters(type).map((c) => [`${c.from}>${c.to}`, c])),
    };
    this.contracts.set(type, contract);
    return contract;
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

  /** Forgets what is known of the type, after a change to it. */
  invalidate(type: string): void {
    this.contracts.delete(type);
    this.absent.delete(type);
  }
}
