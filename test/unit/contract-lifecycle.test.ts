import { describe, expect, it } from 'vitest';
import { deprecationHeaders, lifecycleOf, parseLifecycle } from '../../src/contracts/lifecycle.js';
import { versionOf, versionUri } from '../../src/contracts/version-uri.js';
import type { SchemaVersion } from '../../src/storage/ports.js';

const NOW = Date.parse('2027-05-01T00:00:00Z');
const active = { deprecatedAt: null, sunsetAt: null };

function version(n: number, deprecatedAt: string | null, sunsetAt: string | null): SchemaVersion {
  return { type: 't', version: n, schema: true, createdAt: '', createdBy: 'admin', deprecatedAt, sunsetAt };
}

describe('lifecycleOf', () => {
  it('is active, deprecated, or retired from the sunset on', () => {
    expect(lifecycleOf(active, NOW)).toBe('active');
    expect(lifecycleOf({ deprecatedAt: '2027-04-01T00:00:00Z', sunsetAt: null }, NOW)).toBe('deprecated');
    const sunset = '2027-05-01T00:00:00.000Z';
    expect(lifecycleOf({ deprecatedAt: '2027-04-01T00:00:00Z', sunsetAt: sunset }, NOW - 1)).toBe(
      'deprecated',
    );
    expect(lifecycleOf({ deprecatedAt: '2027-04-01T00:00:00Z', sunsetAt: sunset }, NOW)).toBe('retired');
  });
});

describe('parseLifecycle', () => {
  it('deprecates now, and a sunset deprecates too', () => {
    expect(parseLifecycle({ deprecated: true }, active, NOW)).toEqual({
      deprecatedAt: '2027-05-01T00:00:00.000Z',
      sunsetAt: null,
    });
    expect(parseLifecycle({ sunset: '2027-06-01T02:00:00+02:00' }, active, NOW)).toEqual({
      deprecatedAt: '2027-05-01T00:00:00.000Z',
      sunsetAt: '2027-06-01T00:00:00.000Z',
    });
  });

  it('keeps the first deprecation time, and clears everything on deprecated: false', () => {
    const current = { deprecatedAt: '2027-01-01T00:00:00.000Z', sunsetAt: null };
    expect(
      parseLifecycle({ deprecated: true, sunset: '2027-07-01T00:00:00Z' }, current, NOW).deprecatedAt,
    ).toBe('2027-01-01T00:00:00.000Z');
    expect(parseLifecycle({ deprecated: false }, current, NOW)).toEqual(active);
  });

  it('removing the sunset of a version that was never deprecated leaves it active', () => {
    expect(parseLifecycle({ sunset: null }, active, NOW)).toEqual(active);
  });
});

describe('deprecationHeaders', () => {
  it('is empty when nothing published is deprecated', () => {
    expect(deprecationHeaders([{ version: version(2, null, null), successor: null }])).toEqual({});
  });

  it('gives the earliest deprecation and sunset, and each successor once', () => {
    const headers = deprecationHeaders([
      {
        version: version(1, '2027-02-01T00:00:00.000Z', '2027-09-01T00:00:00.000Z'),
        successor: 'https://h/2',
      },
      {
        version: version(1, '2027-02-01T00:00:00.000Z', '2027-09-01T00:00:00.000Z'),
        successor: 'https://h/2',
      },
      {
        version: version(3, '2027-01-01T00:00:00.000Z', '2027-08-01T00:00:00.000Z'),
        successor: 'https://h/4',
      },
    ]);
    expect(headers).toEqual({
      deprecation: `@${Date.parse('2027-01-01T00:00:00Z') / 1000}`,
      sunset: 'Sun, 01 Aug 2027 00:00:00 GMT',
      link: '<https://h/2>; rel="successor-version", <https://h/4>; rel="successor-version"',
    });
  });
});

describe('versionOf', () => {
  it('reads the version from a registry URL of any host, type percent-encoded', () => {
    const uri = versionUri('https://hub.example.com', 'com.acme/order created', 12);
    expect(uri).toBe('https://hub.example.com/v1/schemas/com.acme%2Forder%20created/versions/12');
    expect(versionOf(uri, 'com.acme/order created')).toEqual({ kind: 'version', version: 12 });
  });

  it("tells a producer's own URL and another type's apart", () => {
    expect(versionOf('https://schemas.acme.com/order.json', 't')).toEqual({ kind: 'foreign' });
    expect(versionOf('urn:acme:order:v2', 't')).toEqual({ kind: 'foreign' });
    expect(versionOf('https://h/v1/schemas/u/versions/1', 't')).toEqual({ kind: 'other-type', type: 'u' });
    expect(versionOf('https://h/v1/schemas/t/versions/0', 't')).toEqual({ kind: 'foreign' });
    expect(versionOf('https://h/v1/schemas/%E0%A4%A/versions/1', 't')).toEqual({ kind: 'foreign' });
  });
});
