/**
 * An event type's settings as requests give them: each read and checked here, in one place, with
 * the history entry that records which were given.
 */
import { ValidationError } from '../core/errors.js';
import type { EventType, ValidationMode } from '../storage/ports.js';
import { COMPATIBILITY_MODES, type CompatibilityMode } from './compatibility.js';

/** The settings of a type a request may change; each is optional. */
export type TypeSettingsInput = Partial<
  Pick<
    EventType,
    | 'owner'
    | 'description'
    | 'channel'
    | 'example'
    | 'compatibility'
    | 'optionalFriendly'
    | 'validation'
    | 'afterSunset'
  >
>;

const TEXT_SETTINGS = ['owner', 'description', 'channel'] as const;
const SETTINGS = [
  ...TEXT_SETTINGS,
  'example',
  'compatibility',
  'optionalFriendly',
  'validation',
  'afterSunset',
] as const;
const VALIDATION_MODES: ValidationMode[] = ['enforce', 'warn', 'off'];
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
  if (body.validation !== undefined) {
    if (!VALIDATION_MODES.includes(body.validation as ValidationMode)) {
      throw ValidationError.field(
        '/validation',
        `validation must be 'enforce' (refuse events that do not match), 'warn' (take them, flagged) or 'off'`,
      );
    }
    out.validation = body.validation as ValidationMode;
  }
  if (body.afterSunset !== undefined) {
    if (body.afterSunset !== 'refuse' && body.afterSunset !== 'accept') {
      throw ValidationError.field(
        '/afterSunset',
        `afterSunset must be 'refuse' (events of a version past its sunset get 400) or 'accept' (taken, with a warning)`,
      );
    }
    out.afterSunset = body.afterSunset;
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

/** A version number in a request body. */
export function wholeVersion(value: unknown, pointer: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw ValidationError.field(
      pointer,
      `${pointer.slice(1)} must be a version number, a whole number from 1`,
    );
  }
  return value;
}

/** The settings a request set, in a fixed order, for the contract's history. */
export function settingsGiven(input: TypeSettingsInput): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.filter((k) => k in input).map((k) => [k, input[k]]));
}
