/**
 * `junction replay` and the commands around it: relative times and progress as pure functions, then
 * the compiled CLI replaying real events from a real hub (`junction serve`) to a real HTTP sink.
 */
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReplayRequest, formatReplay, type Replay } from '../../src/cli/commands/replay.js';
import { describeProgress, isReplayDone, replayProgress } from '../../src/cli/commands/replay-progress.js';
import { UsageError } from '../../src/cli/errors.js';
import { formatCounts, formatDuration } from '../../src/cli/format.js';
import { parseTime } from '../../src/cli/options.js';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const NOW = Date.parse('2026-11-26T09:00:00Z');

describe('parseTime', () => {
  it('turns a time ago into RFC 3339 UTC, counted back from now', () => {
    expect(parseTime('-1h', NOW)).toBe('2026-11-26T08:00:00.000Z');
    expect(parseTime('-30m', NOW)).toBe('2026-11-26T08:30:00.000Z');
    expect(parseTime('-2d', NOW)).toBe('2026-11-24T09:00:00.000Z');
    expect(parseTime('-1w', NOW)).toBe('2026-11-19T09:00:00.000Z');
    expect(parseTime('-1h30m', NOW)).toBe('2026-11-26T07:30:00.000Z');
    expect(parseTime(' -45s ', NOW)).toBe('2026-11-26T08:59:15.000Z');
    expect(parseTime('now', NOW)).toBe('2026-11-26T09:00:00.000Z');
  });

  it('adds up any sequence of amounts and units', () => {
    const part = fc.tuple(
      fc.nat({ max: 1_000 }),
      fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[])),
    );
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1e12, max: 4e12 }),
        (parts, now) => {
          const text = `-${parts.map(([n, unit]) => `${n}${unit}`).join('')}`;
          const ago = parts.reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit], 0);
          expect(parseTime(text, now)).toBe(new Date(now - ago).toISOString());
        },
      ),
    );
  });

  it('keeps an RFC 3339 time exactly as written, offset and fraction included', () => {
    expect(parseTime('2026-11-26T09:00:00+01:00', NOW)).toBe('2026-11-26T09:00:00+01:00');
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const text = date.toISOString();
          expect(parseTime(text, NOW)).toBe(text);
        },
      ),
    );
  });

  it('rejects anything else with a message that shows the accepted forms', () => {
    for (const bad of [
      '',
      '1h',
      '-1',
      '-h',
      '-1y',
      '+1h',
      '-1.5h',
      '- 1h',
      'yesterday',
      '2026-13-01T00:00:00Z',
      '2026-11-26',
    ]) {
      expect(() => parseTime(bad, NOW), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseTime('-1y', NOW)).toThrow(/RFC 3339 time such as .*-30m, -1h or -2d/);
    expect(() => parseTime('-99999999w', NOW)).toThrow(/reaches back further than RFC 3339 times can/);
    expect(() => parseTime(`-${'9'.repeat(400)}d`, NOW)).toThrow(
      /reaches back further than RFC 3339 times can/,
    );
  });
});

describe('buildReplayRequest', () => {
  it('sends only what was given, so the subscription and the hub supply the rest', () => {
    expect(buildReplayRequest({ subscription: 'sub_1', from: '2026-11-26T08:00:00Z' })).toEqual({
      method: 'POST',
      path: '/v1/replays',
      body: { subscription: 'sub_1', from: '2026-11-26T08:00:00Z' },
    });
    expect(
      buildReplayRequest({
        subscription: 'sub_1',
        from: '2026-11-26T08:00:00Z',
        to: '2026-11-26T10:00:00+01:00',
        types: ['a.b'],
        filters: [{ exact: { subject: 'x' } }],
        newWebhookIds: true,
      }).body,
    ).toEqual({
      subscription: 'sub_1',
      from: '2026-11-26T08:00:00Z',
      to: '2026-11-26T10:00:00+01:00',
      types: ['a.b'],
      filters: [{ exact: { subject: 'x' } }],
      newWebhookIds: true,
    });
  });

  it('refuses a range that ends before it starts, comparing offsets correctly', () => {
    expect(() =>
      buildReplayRequest({
        subscription: 's',
        from: '2026-11-26T08:00:00Z',
        to: '2026-11-26T08:30:00+01:00',
      }),
    ).toThrow(UsageError);
    expect(() =>
      buildReplayRequest({ subscription: 's', from: parseTime('-1h', NOW), to: parseTime('-1h', NOW) }),
    ).toThrow(/must be before --to/);
  });
});

const base: Replay = {
  id: 'rpl_1',
  subscriptionId: 'sub_1',
  from: '2026-11-26T08:00:00.000Z',
  to: '2026-11-26T09:00:00.000Z',
  types: [],
  filters: [],
  newWebhookIds: false,
  status: 'running',
  scanned: 0,
  matched: 0,
  total: 0,
  error: null,
  createdAt: '2026-11-26T09:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
  deliveries: {},
};

describe('replay progress', () => {
  it('counts events scanned while running, then deliveries settled', () => {
    const running = { ...base, scanned: 1_000, total: 5_000, matched: 400 };
    expect(replayProgress(running)).toEqual({ phase: 'scanning events', value: 1_000, total: 5_000 });
    expect(describeProgress(running)).toBe('replay rpl_1: scanning events 1000/5000 (400 matched)');
    const delivering = {
      ...running,
      status: 'completed' as const,
      scanned: 5_000,
      matched: 3,
      deliveries: { pending: 1, delivered: 1, dead: 1 },
    };
    expect(replayProgress(delivering)).toEqual({ phase: 'deliveries settled', value: 2, total: 3 });
    expect(describeProgress(delivering)).toBe(
      'replay rpl_1: deliveries settled 2/3 (pending 1, delivered 1, dead 1)',
    );
  });

  it('can show the scan of a replay that has moved on, as it ended', () => {
    const completed = { ...base, status: 'completed' as const, scanned: 4, total: 4, matched: 3 };
    expect(describeProgress(completed, 'scanning events')).toBe(
      'replay rpl_1: scanning events 4/4 (3 matched)',
    );
  });

  it('never shows more scanned than the total', () => {
    expect(replayProgress({ ...base, scanned: 12, total: 10 })).toMatchObject({ value: 12, total: 12 });
  });

  it('is done once a completed replay has settled every delivery, or at once when it ended otherwise', () => {
    const completed = { ...base, status: 'completed' as const, matched: 2 };
    expect(isReplayDone({ ...base, matched: 2, deliveries: { delivered: 2 } })).toBe(false);
    expect(isReplayDone({ ...completed, deliveries: { delivered: 1, retrying: 1 } })).toBe(false);
    expect(isReplayDone({ ...completed, deliveries: { delivered: 1, discarded: 1 } })).toBe(true);
    expect(isReplayDone({ ...completed, matched: 0 })).toBe(true);
    expect(isReplayDone({ ...base, status: 'failed', deliveries: { pending: 5 }, matched: 5 })).toBe(true);
    expect(isReplayDone({ ...base, status: 'cancelled' })).toBe(true);
  });

  it('shows a replay as name/value lines', () => {
    const text = formatReplay({
      ...base,
      status: 'failed',
      types: ['a.b', 'c.d'],
      scanned: 7,
      total: 9,
      matched: 2,
      error: 'the subscription was deleted',
      deliveries: { delivered: 2 },
    });
    expect(text.split('\n')[0]).toMatch(/^replay\s+rpl_1$/);
    expect(text).toMatch(/^status\s+failed$/m);
    expect(text).toMatch(/^types\s+a\.b, c\.d$/m);
    expect(text).toMatch(/^webhook-ids\s+original$/m);
    expect(text).toMatch(/^scanned\s+7 of 9 events$/m);
    expect(text).toMatch(/^deliveries\s+delivered 2$/m);
    expect(text).toMatch(/^error\s+the subscription was deleted$/m);
  });

  it('formats counts in a fixed order without zeros, and durations in whole units', () => {
    expect(formatCounts({ dead: 1, delivered: 3, pending: 0, other: 2 }, ['delivered', 'dead'])).toBe(
      'delivered 3, dead 1, other 2',
    );
    expect(formatCounts({}, ['delivered'])).toBe('-');
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1_500)).toBe('1s500ms');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('junction replay against a real hub and sink', () => {
  let hub: HubProcess;
  let sink: Sink;
  let env: Record<string, string>;
  let subscriptionId: string;

  beforeAll(async () => {
    [hub, sink] = await Promise.all([startHub(), startSink()]);
    env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    ({ id: subscriptionId } = await hub.subscribe({
      sink: sink.url,
      protocol: 'HTTP',
      types: ['com.acme.order.created'],
    }));
    for (const n of [1, 2, 3]) {
      await hub.publish({ id: `order-${n}`, source: '/shop', type: 'com.acme.order.created', data: { n } });
    }
    // Not of the subscription's types: a replay that names no types leaves it out as well.
    await hub.publish({ id: 'note-1', source: '/crm', type: 'com.acme.note.added', data: {} });
    await waitFor(() => sink.received.length === 3, 10_000, 'the first deliveries');
  });

  afterAll(async () => {
    await Promise.all([hub?.stop(), sink?.close()]);
  });

  it('replays the last hour to the sink, following progress to the end', async () => {
    const result = await runCli(['replay', 'start', '--subscription', subscriptionId, '--from', '-1h'], env);
    expect(result.code, result.stderr).toBe(0);
    const id = /^replay\s+(rpl_\S+)$/m.exec(result.stdout)?.[1];
    expect(id).toBeDefined();
    expect(result.stdout).toMatch(/^status\s+completed$/m);
    expect(result.stdout).toMatch(/^scanned\s+4 of 4 events$/m);
    expect(result.stdout).toMatch(/^matched\s+3$/m);
    expect(result.stdout).toMatch(/^deliveries\s+delivered 3$/m);
    // stderr is a pipe here, so progress comes as lines rather than a bar.
    // The scan is shown complete before the deliveries, even when it ended between two polls.
    expect(result.stderr).toContain(
      `replay ${id}: scanning events 4/4 (3 matched)\nreplay ${id}: deliveries settled`,
    );
    expect(result.stderr).toContain(`replay ${id}: deliveries settled 3/3 (delivered 3)`);

    expect(sink.received).toHaveLength(6);
    const [originals, replayed] = [sink.received.slice(0, 3), sink.received.slice(3)];
    for (const request of replayed) expect(request.headers['ce-junctionreplay']).toBe(id);
    for (const request of originals) expect(request.headers['ce-junctionreplay']).toBeUndefined();
    const ids = (list: typeof originals) => list.map((r) => r.headers['ce-id']).sort();
    expect(ids(replayed)).toEqual(['order-1', 'order-2', 'order-3']);
    // Without --new-webhook-ids, the consumer sees the same idempotency key again.
    const webhookIds = (list: typeof originals) => list.map((r) => r.headers['webhook-id']).sort();
    expect(webhookIds(replayed)).toEqual(webhookIds(originals));

    const list = await runCli(['replay', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`${id}\\s+completed\\s+${subscriptionId}\\s+\\S+\\s+\\S+\\s+4/4\\s+3`),
    );

    const get = await runCli(['replay', 'get', id!, '--json'], env);
    expect(JSON.parse(get.stdout)).toMatchObject({
      id,
      status: 'completed',
      matched: 3,
      deliveries: { delivered: 3 },
    });

    const cancel = await runCli(['replay', 'cancel', id!], env);
    expect(cancel).toMatchObject({
      code: 0,
      stdout: `replay ${id} had already ended (completed); nothing to cancel\n`,
    });
  });

  it('takes types, starts without waiting, gives new webhook-ids, and follows later with get --wait', async () => {
    const before = sink.received.length;
    const typed = await runCli(
      ['replay', 'start', '--subscription', subscriptionId, '--from=-1h', '--type', 'com.acme.order.created'],
      env,
    );
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.stdout).toMatch(/^types\s+com\.acme\.order\.created$/m);
    const noWait = await runCli(
      [
        'replay',
        'start',
        '--subscription',
        subscriptionId,
        '--from',
        '-1h',
        '--new-webhook-ids',
        '--no-wait',
        '--json',
      ],
      env,
    );
    expect(noWait.code, noWait.stderr).toBe(0);
    const replay = JSON.parse(noWait.stdout) as Replay;
    expect(replay).toMatchObject({ subscriptionId, newWebhookIds: true });
    const followed = await runCli(['replay', 'get', replay.id, '--wait'], env);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/^deliveries\s+delivered 3$/m);
    await waitFor(() => sink.received.length === before + 6, 10_000, 'both replays');
    const fresh = sink.received.filter((r) => r.headers['ce-junctionreplay'] === replay.id);
    expect(fresh).toHaveLength(3);
    for (const request of fresh) expect(request.headers['webhook-id']).toMatch(/^msg_(?!replay_)/);
    const original = new Set(sink.received.slice(0, 3).map((r) => r.headers['webhook-id']));
    for (const request of fresh) expect(original.has(request.headers['webhook-id'] as string)).toBe(false);
  });

  it('shows subscription stats, channels and endpoints, and discards nothing when nothing is dead', async () => {
    const stats = await runCli(['sub', 'stats', subscriptionId], env);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^deliveries\s+delivered 12$/m);
    expect(stats.stdout).toMatch(/^breaker\s+closed/m);
    expect(stats.stdout).toMatch(/^failing since\s+-$/m);

    const channels = await runCli(['channels'], env);
    expect(channels.code, channels.stderr).toBe(0);
    expect(channels.stdout).toMatch(/^default\s+stream\s+\d+\s+7d\s+-\s+\*$/m);

    const endpoints = await runCli(['endpoints', '--json'], env);
    expect(endpoints.code, endpoints.stderr).toBe(0);
    expect(JSON.parse(endpoints.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ endpoint: sink.url, state: 'closed' })]),
    );

    const discard = await runCli(['dlq', 'discard', '--subscription', subscriptionId], env);
    expect(discard).toMatchObject({ code: 0, stdout: 'discarded 0\n' });
  });

  it('reports an unknown subscription as the hub words it, exit code 1', async () => {
    const result = await runCli(['replay', 'start', '--subscription', 'sub_nope', '--from', '-1h'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*\(HTTP 404\)/);
    expect(result.stderr).toContain("no subscription with id 'sub_nope'");
  });
});
