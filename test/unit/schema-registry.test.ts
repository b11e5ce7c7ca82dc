/** What the registry takes as a schema and as settings, checked without a hub. */
import { describe, expect, it } from 'vitest';
import { checkTypeName, MAX_SCHEMA_BYTES, validateSchema } from '../../src/contracts/schema-validation.js';
import { parseMode, parseTypeSettings } from '../../src/contracts/type-settings.js';
import { PayloadTooLargeError, ValidationError } from '../../src/core/errors.js';

function pointersOf(run: () => void): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError || error instanceof PayloadTooLargeError) {
      return (error.errors ?? []).map((e) => e.pointer);
    }
    throw error;
  }
  return [];
}

describe('validateSchema', () => {
  it('takes draft 2020-12 schemas with references within the document', () => {
    const schemas: unknown[] = [
      true,
      {},
      { type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string' } } },
      { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{}] },
      { $id: 'https://schemas.example.com/order', $ref: '#/$defs/x', $defs: { x: {} } },
      // `$ref` in data keywords is data, not a reference.
      { const: { $ref: 'https://example.com' }, examples: [{ $ref: 'x.json' }] },
      // A property named $ref is a subschema, not a reference.
      { properties: { $ref: { type: 'string' } } },
    ];
    for (const schema of schemas) expect(pointersOf(() => validateSchema(schema, '/schema'))).toEqual([]);
  });

  it('refuses every reference that leaves the document, at its pointer', () => {
    expect(
      pointersOf(() =>
        validateSchema(
          {
            allOf: [{ $ref: 'https://example.com/a.json' }, { $ref: '#/$defs/b' }],
            $defs: { b: { $dynamicRef: 'other.json#meta' } },
          },
          '/schema',
        ),
      ),
    ).toEqual(['/schema/allOf/0/$ref', '/schema/$defs/b/$dynamicRef']);
  });

  it('refuses what is not a schema, naming where', () => {
    expect(pointersOf(() => validateSchema(undefined, '/schema'))).toEqual(['/schema']);
    expect(pointersOf(() => validateSchema([], '/schema'))).toEqual(['/schema']);
    expect(pointersOf(() => validateSchema(null, '/schema'))).toEqual(['/schema']);
    expect(pointersOf(() => validateSchema({ minLength: -1 }, '/schema'))).toContain('/schema/minLength');
    expect(pointersOf(() => validateSchema({ required: 'a' }, '/schema'))).toContain('/schema/required');
    expect(
      pointersOf(() => validateSchema({ $schema: 'http://json-schema.org/draft-04/schema#' }, '/schema')),
    ).toEqual(['/schema/$schema']);
    expect(pointersOf(() => validateSchema({ $schema: 42 }, '/schema'))).toEqual(['/schema/$schema']);
  });

  it('refuses a schema over the limit with 413, and takes one just under it', () => {
    const pad = (n: number) => ({ description: 'x'.repeat(n) });
    const overhead = JSON.stringify(pad(0)).length;
    expect(() => validateSchema(pad(MAX_SCHEMA_BYTES - overhead), '/schema')).not.toThrow();
    expect(() => validateSchema(pad(MAX_SCHEMA_BYTES - overhead + 1), '/schema')).toThrow(
      PayloadTooLargeError,
    );
  });
});

describe('settings', () => {
  it('reads each setting given, and leaves out the rest', () => {
    expect(parseTypeSettings({})).toEqual({});
    expect(
      parseTypeSettings({
        owner: 'orders-team',
        description: null,
        channel: 'orders',
        example: { id: 1 },
        compatibility: 'FULL_TRANSITIVE',
        optionalFriendly: true,
        schema: {},
      }),
    ).toEqual({
      owner: 'orders-team',
      description: null,
      channel: 'orders',
      example: { id: 1 },
      compatibility: 'FULL_TRANSITIVE',
      optionalFriendly: true,
    });
  });

  it('refuses a wrong setting, naming it and what it takes', () => {
    expect(pointersOf(() => parseTypeSettings({ owner: 3 }))).toEqual(['/owner']);
    expect(pointersOf(() => parseTypeSettings({ description: 'x'.repeat(5_000) }))).toEqual(['/description']);
    expect(pointersOf(() => parseTypeSettings({ optionalFriendly: 1 }))).toEqual(['/optionalFriendly']);
    expect(() => parseMode('backward', '/compatibility')).toThrow(
      /use one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE/,
    );
  });

  it('takes printable type names only', () => {
    expect(() => checkTypeName('com.acme.order.created')).not.toThrow();
    expect(() => checkTypeName('com.acme/ordér created')).not.toThrow();
    expect(pointersOf(() => checkTypeName(''))).toEqual(['/type']);
    expect(pointersOf(() => checkTypeName('a\tb'))).toEqual(['/type']);
    expect(pointersOf(() => checkTypeName('a\u0085b'))).toEqual(['/type']);
  });
});
