/** The settings of an event type as first registered, and the defaults for settings added later. */

import type { EventType } from '../storage/ports.js';
import type { CompatibilityMode } from './compatibility.js';

/** The mode of a type that never chose one: new versions must read data written with the last. */
export const DEFAULT_COMPATIBILITY: CompatibilityMode = 'BACKWARD';

/** A type with a schema has one to be held to: ingest refuses events that do not match it. */
export const DEFAULT_VALIDATION = 'enforce' as const;

/** The settings of a type registered now, before any are given. */
export function newTypeSettings(type: string, now: string): EventType {
  return {
    type,
    owner: null,
    description: null,
    channel: null,
    example: null,
    compatibility: DEFAULT_COMPATIBILITY,
    optionalFriendly: false,
    validation: DEFAULT_VALIDATION,
    afterSunset: 'refuse',
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * A stored type with the settings it lacks (it was saved by an older version) filled in. A type
 * registered before ingest checked events is only warned about, not suddenly enforced: its
 * producers never had to match it.
 */
export function withTypeDefaults(stored: EventType): EventType {
  const given: Partial<EventType> = stored;
  return {
    ...newTypeSettings(stored.type, stored.createdAt),
    ...stored,
    validation: given.validation ?? 'warn',
  };
}
