import { describe, expect, it } from 'vitest';
import { newId, newSecret } from '../../src/core/ids.js';

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]+$/;

function decodeTime(suffix: string): number {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = 0;
  for (const c of suffix.slice(0, 10)) t = t * 32 + alphabet.indexOf(c);
  return t;
}

describe('newId', () => {
  it('is the prefix, an underscore and 26 Crockford base32 characters', () => {
    for (const prefix of ['sub', 'dlv', 'msg']) {
      const id = newId(prefix);
      expect(id.startsWith(`${prefix}_`)).toBe(true);
      const suffix = id.slice(prefix.length + 1);
      expect(suffix).toHaveLength(26);
      expect(suffix).toMatch(CROCKFORD);
    }
  });

  it('encodes the time in its first ten characters', () => {
    const t = Date.now() + 10_000;
    const id = newId('x', t);
    expect(decodeTime(id.slice(2))).toBe(t);
  });

  it('sorts by creation order within one millisecond', () => {
    const t = Date.now() + 20_000;
    const ids = Array.from({ length: 5_000 }, () => newId('dlv', t));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(decodeTime(id.slice(4))).toBe(t);
  });

  it('sorts by creation order across milliseconds', () => {
    const t = Date.now() + 30_000;
    const ids: string[] = [];
    for (let ms = 0; ms < 50; ms++) for (let k = 0; k < 20; k++) ids.push(newId('evt', t + ms));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts by creation order with the real clock', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('sub'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('stays ordered when the clock steps back', () => {
    const t = Date.now() + 40_000;
    const a = newId('x', t);
    const b = newId('x', t - 5_000);
    expect(b > a).toBe(true);
  });

  it('randomises ids made in different milliseconds', () => {
    const t = Date.now() + 50_000;
    const a = newId('x', t).slice(12);
    const b = newId('x', t + 1).slice(12);
    expect(a).not.toBe(b);
  });
});

describe('newSecret', () => {
  it('is whsec_ and the base64 of 24 bytes', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    expect(key).toHaveLength(24);
    expect(key.toString('base64')).toBe(secret.slice('whsec_'.length));
  });

  it('is different every time', () => {
    const secrets = new Set(Array.from({ length: 1_000 }, () => newSecret()));
    expect(secrets.size).toBe(1_000);
  });
});
