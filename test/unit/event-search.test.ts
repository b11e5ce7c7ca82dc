/**
 * The event search's shared pieces (the subject range of a prefix, the broad-prefix threshold)
 * and the plans the embedded store picks for a broad and a narrow subject prefix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { broadPrefixMatches, subjectMatch } from '../../src/storage/search.js';
import { openSqliteStore, type SqliteStore } from '../../src/storage/sqlite/store.js';

describe('subjectMatch', () => {
  it('ends a prefix range at its last character incremented, past the surrogates and U+10FFFF', () => {
    expect(subjectMatch('orders/1')).toEqual({ equals: 'orders/1' });
    expect(subjectMatch('orders/*')).toEqual({ low: 'orders/', high: 'orders0' });
    expect(subjectMatch('a\ud7ff*')).toEqual({ low: 'a\ud7ff', high: 'a\ue000' });
    expect(subjectMatch('ab\u{10FFFF}*')).toEqual({ low: 'ab\u{10FFFF}', high: 'ac' });
    expect(subjectMatch('a\u{10FFFF}\u{10FFFF}*')).toEqual({ low: 'a\u{10FFFF}\u{10FFFF}', high: 'b' });
    expect(subjectMatch('\u{10FFFF}*')).toEqual({ low: '\u{10FFFF}', high: null });
  });
});

describe('broadPrefixMatches', () => {
  it('grows with the square root of page size times the numbers searched, from 1,000', () => {
    expect(broadPrefixMatches(100, 1_000_000)).toBe(10_000);
    expect(broadPrefixMatches(1000, 100_000_000)).toBe(316_228);
    expect(broadPrefixMatches(100, 50)).toBe(1000);
    expect(broadPrefixMatches(100, -5)).toBe(1000);
  });
});

describe('the embedded store reads a subject prefix', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-search-'));
    store = await openSqliteStore(dir);
    const events = Array.from({ length: 3000 }, (_, i) => ({
      specversion: '1.0' as const,
      id: `e${i}`,
      source: '/shop',
      type: 'com.acme.order.created',
      subject: i % 10 === 0 ? `rare/${i}` : `orders/${i}`,
    }));
    await store.append(events, () => ({ channel: 'default', subscriptions: [] }));
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks a broad one backwards by number, with the prefix checked on each row', () => {
    const plan = store.searchPlan({ subject: 'orders/*' }).join('; ');
    expect(plan).not.toContain('events_by_subject');
    expect(plan).not.toContain('TEMP B-TREE');
  });

  it('sorts the numbers of a narrow one read from the subject index, then reads the page', () => {
    const plan = store.searchPlan({ subject: 'rare/*' }).join('; ');
    expect(plan).toContain('INDEX events_by_subject (subject>? AND subject<?)');
    expect(plan).toContain('USING INTEGER PRIMARY KEY (rowid=?)');
  });
});
