import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_BATCH_POLICY,
  DEFAULT_CHANNEL,
  DEFAULTS,
  type HubConfig,
  parseConfig,
} from '../../src/core/config.js';

const dir = mkdtempSync(join(tmpdir(), 'junction-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Writes `content` (JSON-encoded unless a string) to a fresh file and returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** parseConfig with only the given environment, so the machine's variables cannot leak in. */
const parse = (options: Parameters<typeof parseConfig>[0] = {}, env: NodeJS.ProcessEnv = {}): HubConfig =>
  parseConfig(options, env);
const withFile = (content: unknown, env: NodeJS.ProcessEnv = {}) =>
  parse({}, { ...env, JUNCTION_CONFIG: configFile(content) });

/** The problems of the ConfigError that parsing throws; fails when it does not throw one. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: sources and precedence', () => {
  it('gives DEFAULTS with the default channel when nothing is set', () => {
    const config = parse();
    expect(config).toEqual({ ...DEFAULTS, channels: [DEFAULT_CHANNEL] });
    expect(config.breaker).not.toBe(DEFAULTS.breaker);
  });

  it('takes options over environment variables over the config file over defaults', () => {
    const path = configFile({ port: 7000, host: '0.0.0.0', dataDir: '/srv/j', maxPendingWrites: 10 });
    const env = { JUNCTION_CONFIG: path, JUNCTION_PORT: '7001', JUNCTION_HOST: '::1' };
    expect(parse({}, env)).toMatchObject({
      port: 7001,
      host: '::1',
      dataDir: '/srv/j',
      maxPendingWrites: 10,
    });
    expect(parse({ port: 7002 }, env)).toMatchObject({ port: 7002, host: '::1', dataDir: '/srv/j' });
    expect(parse({ config: path }, {})).toMatchObject({ port: 7000, host: '0.0.0.0' });
  });

  it('prefers options.config to JUNCTION_CONFIG', () => {
    const a = configFile({ port: 1111 });
    const b = configFile({ port: 2222 });
    expect(parse({ config: b }, { JUNCTION_CONFIG: a }).port).toBe(2222);
  });

  it('treats an empty JUNCTION_CONFIG as unset', () => {
    expect(parse({}, { JUNCTION_CONFIG: '' }).port).toBe(DEFAULTS.port);
  });

  it('reads every HubConfig setting from the file', () => {
    const settings = {
      port: 0,
      host: 'localhost',
      dataDir: './data',
      adminKey: 'k',
      maxEventBytes: 2048,
      maxBatchBytes: 4096,
      maxBatchEvents: 5,
      deliveryConcurrency: 8,
      connectionsPerOrigin: 4,
      pollIntervalMs: 100,
      shutdownGraceMs: 1000,
      logLevel: 'warn',
      maxPendingWrites: 50,
      unknownTypes: 'refuse',
      publicUrl: 'https://hub.example.com',
      store: 'postgres://junction@db:5432/junction',
      storeSchema: 'hub_a',
      bus: 'nats://n1:4222,nats://n2:4222',
      busPrefix: 'hub_a',
      busReplicas: 3,
      leaseMs: 30_000,
    };
    expect(withFile(settings)).toEqual({
      ...settings,
      channels: [{ ...DEFAULT_CHANNEL, concurrency: 8 }],
      breaker: DEFAULTS.breaker,
      bridges: [],
    });
  });

  it('reads unknownTypes and publicUrl, and refuses what they cannot be', () => {
    expect(parse({}, { JUNCTION_UNKNOWN_TYPES: 'refuse' }).unknownTypes).toBe('refuse');
    expect(parse({}, {}).unknownTypes).toBe('accept');
    expect(parse({}, { JUNCTION_PUBLIC_URL: 'https://hub.example.com/' }).publicUrl).toBe(
      'https://hub.example.com',
    );
    expect(problemsOf(() => parse({}, { JUNCTION_UNKNOWN_TYPES: 'maybe' }))).toEqual([
      `unknownTypes must be 'accept' or 'refuse', got "maybe" (from JUNCTION_UNKNOWN_TYPES)`,
    ]);
    expect(problemsOf(() => parse({}, { JUNCTION_PUBLIC_URL: 'ftp://x' }))).toEqual([
      'publicUrl must be an http(s) URL such as https://hub.example.com, got "ftp://x" (from JUNCTION_PUBLIC_URL)',
    ]);
  });

  it('reads the distributed settings, and refuses what they cannot be', () => {
    const env = {
      JUNCTION_STORE: 'postgresql://db/junction',
      JUNCTION_STORE_SCHEMA: 'staging',
      JUNCTION_BUS: 'nats://a:4222, nats://b:4222',
      JUNCTION_BUS_PREFIX: 'staging',
      JUNCTION_BUS_REPLICAS: '3',
      JUNCTION_LEASE_MS: '5000',
    };
    expect(parse({}, env)).toMatchObject({
      store: 'postgresql://db/junction',
      storeSchema: 'staging',
      bus: 'nats://a:4222, nats://b:4222',
      busPrefix: 'staging',
      busReplicas: 3,
      leaseMs: 5000,
    });
    expect(parse({}, {})).toMatchObject({ store: undefined, bus: undefined, storeSchema: 'junction' });
    expect(problemsOf(() => parse({}, { JUNCTION_STORE: 'mysql://u:secret@db/x' }))).toEqual([
      'store must be a PostgreSQL URL such as postgres://user@db:5432/junction, got "mysql://u:***@db/x" (from JUNCTION_STORE)',
    ]);
    expect(problemsOf(() => parse({}, { JUNCTION_BUS: 'nats://a:4222' }))).toEqual([
      'bus (from JUNCTION_BUS) needs a shared store: give store (--store postgres://…) as well, since events on the bus are recorded there',
    ]);
    expect(
      problemsOf(() => parse({}, { JUNCTION_STORE: 'postgres://db/x', JUNCTION_BUS: 'http://a:4222' })),
    ).toEqual([
      'bus must be NATS URLs such as nats://127.0.0.1:4222 (comma-separated for a cluster), got "http://a:4222" (from JUNCTION_BUS)',
    ]);
    expect(problemsOf(() => parse({}, { JUNCTION_STORE_SCHEMA: 'Bad-Name' }))).toEqual([
      'storeSchema must be lower-case letters, digits and _ (starting with a letter or _, not pg_), got "Bad-Name" (from JUNCTION_STORE_SCHEMA)',
    ]);
  });

  it('reads JUNCTION_MAX_PENDING_WRITES', () => {
    expect(parse({}, { JUNCTION_MAX_PENDING_WRITES: '500' }).maxPendingWrites).toBe(500);
    expect(problemsOf(() => parse({}, { JUNCTION_MAX_PENDING_WRITES: '0' }))).toEqual([
      'maxPendingWrites must be a positive integer, got "0" (from JUNCTION_MAX_PENDING_WRITES)',
    ]);
  });

  it('treats an empty JUNCTION_ADMIN_KEY as no key', () => {
    expect(parse({}, { JUNCTION_ADMIN_KEY: '' }).adminKey).toBeUndefined();
    expect(parse({}, { JUNCTION_ADMIN_KEY: 'k' }).adminKey).toBe('k');
  });
});

describe('parseConfig: errors', () => {
  it('names an unreadable file', () => {
    const missing = join(dir, 'missing.json');
    expect(() => parse({ config: missing })).toThrow(ConfigError);
    expect(() => parse({ config: missing })).toThrow(`cannot read the config file ${missing}`);
    expect(() => parse({}, { JUNCTION_CONFIG: dir })).toThrow(`cannot read the config file ${dir}`);
  });

  it('names a file that is not JSON, or not a JSON object', () => {
    const bad = configFile('{"port": 80,');
    expect(() => parse({ config: bad })).toThrow(`the config file ${bad} is not valid JSON`);
    for (const content of ['[]', '3', 'null', '"x"']) {
      const path = configFile(content);
      expect(() => parse({ config: path })).toThrow(`the config file ${path} must hold a JSON object`);
    }
  });

  it('rejects unknown keys, naming the file', () => {
    const path = configFile({ prot: 80, channel: {} });
    expect(problemsOf(() => parse({ config: path }))).toEqual([
      expect.stringMatching(new RegExp(`^unknown setting 'prot' \\(in ${path}\\); the settings are port, `)),
      expect.stringMatching(/^unknown setting 'channel'/),
    ]);
  });

  it('requires numbers in the file to be JSON numbers, and says where the bad value came from', () => {
    const path = configFile({ port: '8080', maxEventBytes: 1.5 });
    expect(problemsOf(() => parse({ config: path }))).toEqual([
      `port must be an integer from 0 to 65535, got "8080" (in ${path})`,
      `maxEventBytes must be a positive integer, got 1.5 (in ${path})`,
    ]);
    expect(problemsOf(() => parse({}, { JUNCTION_PORT: '70000' }))).toEqual([
      'port must be an integer from 0 to 65535, got "70000" (from JUNCTION_PORT)',
    ]);
    expect(problemsOf(() => parse({}, { JUNCTION_DELIVERY_CONCURRENCY: 'many' }))).toEqual([
      'deliveryConcurrency must be a positive integer, got "many" (from JUNCTION_DELIVERY_CONCURRENCY)',
    ]);
  });

  it('checks strings, the log level and maxEventBytes against maxBatchBytes', () => {
    expect(problemsOf(() => withFile({ host: '', logLevel: 'verbose', adminKey: 5 }))).toEqual([
      expect.stringMatching(/^adminKey must be a string, got 5/),
      expect.stringMatching(/^host must be a non-empty string, got ""/),
      expect.stringMatching(
        /^logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"/,
      ),
    ]);
    expect(problemsOf(() => parse({ maxEventBytes: 10, maxBatchBytes: 5 }))).toEqual([
      'maxEventBytes (10) cannot exceed maxBatchBytes (5); raise maxBatchBytes or lower maxEventBytes',
    ]);
  });

  it('reports every problem in one ConfigError', () => {
    let thrown: unknown;
    try {
      withFile({ port: -1, breaker: { openMs: 0 }, channels: { orders: { types: [], concurrency: -1 } } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(4);
    expect(error.message).toMatch(/^the configuration has 4 problems:\n {2}- port must be/);
    expect(error.message).toContain('  - channels.orders.concurrency must be a positive integer, got -1');
  });
});

describe('parseConfig: channels', () => {
  it('fills channel defaults and keeps default first', () => {
    const config = withFile({
      channels: {
        orders: { types: ['com.acme.order.*', 'com.acme.refund.issued'] },
        telemetry: { types: ['telemetry.*'], mode: 'batch', concurrency: 8, retentionMs: 60_000 },
      },
    });
    expect(config.channels).toEqual([
      DEFAULT_CHANNEL,
      {
        name: 'orders',
        types: ['com.acme.order.*', 'com.acme.refund.issued'],
        mode: 'stream',
        concurrency: 64,
        retentionMs: DEFAULT_CHANNEL.retentionMs,
        batch: null,
        allowedRegions: null,
      },
      {
        name: 'telemetry',
        types: ['telemetry.*'],
        mode: 'batch',
        concurrency: 8,
        retentionMs: 60_000,
        batch: DEFAULT_BATCH_POLICY,
        allowedRegions: null,
      },
    ]);
  });

  it('reads allowedRegions, and refuses lists of the wrong shape', () => {
    expect(
      withFile({ channels: { eu: { types: ['a.*'], allowedRegions: ['eu', 'eu'] } } }).channels[1]
        ?.allowedRegions,
    ).toEqual(['eu']);
    expect(() => withFile({ channels: { eu: { types: ['a.*'], allowedRegions: [] } } })).toThrow(
      /channels\.eu\.allowedRegions must be a non-empty array of region names/,
    );
  });

  it('gives the default channel deliveryConcurrency, and caps the default of others by it', () => {
    const config = withFile({ deliveryConcurrency: 16, channels: { orders: { types: ['a'] } } });
    expect(config.channels.map((c) => [c.name, c.concurrency])).toEqual([
      ['default', 16],
      ['orders', 16],
    ]);
  });

  it('lets the file set the default channel, but not its types', () => {
    const config = withFile({
      channels: {
        default: { concurrency: 100, retentionMs: 3_600_000, mode: 'batch', batch: { maxEvents: 10 } },
      },
    });
    expect(config.channels).toEqual([
      {
        ...DEFAULT_CHANNEL,
        concurrency: 100,
        retentionMs: 3_600_000,
        mode: 'batch',
        batch: { ...DEFAULT_BATCH_POLICY, maxEvents: 10 },
      },
    ]);
    expect(problemsOf(() => withFile({ channels: { default: { types: ['a'] } } }))).toEqual([
      expect.stringMatching(
        /^channels\.default\.types cannot be set .*takes every type no other channel names/,
      ),
    ]);
  });

  it('accepts channels from options in the file form, over the file', () => {
    const path = configFile({ channels: { a: { types: ['a'] } } });
    const config = parse({ config: path, channels: { b: { types: ['b'] } } });
    expect(config.channels.map((c) => c.name)).toEqual(['default', 'b']);
  });

  it('checks names, types and every field, naming each path', () => {
    const path = configFile({
      channels: {
        Orders: { types: ['a'] },
        'x y': { types: ['b'] },
        orders: {
          types: ['', 'a*b', '*', 7],
          mode: 'fast',
          concurrency: -1,
          retentionMs: 1000,
          extra: true,
        },
        empty: { types: [] },
        missing: {},
        notObject: 3,
      },
    });
    const problems = problemsOf(() => parse({ config: path }));
    const inFile = ` (in ${path})`;
    expect(problems).toEqual([
      expect.stringMatching(/^channels\.Orders: a channel name must be 1 to 63 lower-case letters/),
      expect.stringMatching(/^channels\.x y: a channel name must be/),
      `channels.orders.extra is not a setting${inFile}; use types, mode, concurrency, retentionMs, batch, allowedRegions`,
      `channels.orders.types[0] must be a non-empty string, got ""${inFile}`,
      `channels.orders.types[1]: 'a*b' may have '*' only at its end, as a prefix such as 'com.acme.order.*'${inFile}`,
      expect.stringMatching(/^channels\.orders\.types\[2\]: '\*' alone would take every type/),
      `channels.orders.types[3] must be a non-empty string, got 7${inFile}`,
      `channels.orders.mode must be 'stream' or 'batch', got "fast"${inFile}`,
      `channels.orders.concurrency must be a positive integer, got -1${inFile}`,
      `channels.orders.retentionMs must be an integer of at least 60000, got 1000${inFile}`,
      expect.stringMatching(/^channels\.empty\.types must be a non-empty array of event types/),
      expect.stringMatching(/^channels\.missing\.types must be a non-empty array .*got nothing/),
      expect.stringMatching(/^channels\.notObject: a channel name must be/),
    ]);
  });

  it('rejects a channel that is not an object, and channels that are not an object', () => {
    expect(problemsOf(() => withFile({ channels: { orders: ['a'] } }))).toEqual([
      expect.stringMatching(/^channels\.orders must be an object such as/),
    ]);
    expect(problemsOf(() => withFile({ channels: [{ name: 'orders' }] }))).toEqual([
      expect.stringMatching(/^channels must be an object keyed by channel name/),
    ]);
  });

  it('accepts names at the edges of the pattern', () => {
    const long = `a${'b'.repeat(62)}`;
    const names = ['0', 'a.b_c-d', long];
    const channels = Object.fromEntries(names.map((n, i) => [n, { types: [`t${i}`] }]));
    expect(withFile({ channels }).channels.map((c) => c.name)).toEqual(['default', ...names]);
    expect(problemsOf(() => withFile({ channels: { [`${long}c`]: { types: ['x'] } } }))).toHaveLength(1);
    expect(problemsOf(() => withFile({ channels: { '-a': { types: ['x'] } } }))).toHaveLength(1);
  });

  it('rejects concurrency above deliveryConcurrency', () => {
    expect(
      problemsOf(() =>
        withFile({ deliveryConcurrency: 10, channels: { orders: { types: ['a'], concurrency: 11 } } }),
      ),
    ).toEqual([
      expect.stringMatching(/^channels\.orders\.concurrency \(11\) cannot exceed deliveryConcurrency \(10\)/),
    ]);
  });

  it('rejects the same exact type or the same prefix in two channels, and drops repeats within one', () => {
    const problems = problemsOf(() =>
      withFile({
        channels: {
          orders: { types: ['com.acme.order.*', 'com.acme.refund'] },
          billing: { types: ['com.acme.refund', 'com.acme.order.*', 'com.acme.order.paid'] },
        },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^channels\.billing\.types\[0\]: 'com\.acme\.refund' is already in channel 'orders'/,
      ),
      expect.stringMatching(
        /^channels\.billing\.types\[1\]: 'com\.acme\.order\.\*' is already in channel 'orders'/,
      ),
    ]);
    expect(withFile({ channels: { a: { types: ['x', 'x'] } } }).channels[1]!.types).toEqual(['x']);
  });

  it('checks batch settings of a batch channel, and refuses them on a stream channel', () => {
    const config = withFile({
      maxBatchBytes: 2 * 1024 * 1024,
      channels: {
        t: { types: ['t.*'], mode: 'batch', batch: { maxEvents: 1000, maxWaitMs: 0, maxBytes: 2097152 } },
      },
    });
    expect(config.channels[1]!.batch).toEqual({ maxEvents: 1000, maxWaitMs: 0, maxBytes: 2097152 });

    const path = configFile({
      channels: {
        t: {
          types: ['t'],
          mode: 'batch',
          batch: { maxEvents: 0, maxWaitMs: 60_001, maxBytes: 1023, size: 1 },
        },
        u: { types: ['u'], mode: 'batch', batch: { maxBytes: DEFAULTS.maxBatchBytes + 1 } },
        s: { types: ['s'], batch: { maxEvents: 10 } },
      },
    });
    const inFile = ` (in ${path})`;
    expect(problemsOf(() => parse({ config: path }))).toEqual([
      `channels.t.batch.size is not a setting${inFile}; use maxEvents, maxWaitMs, maxBytes`,
      `channels.t.batch.maxEvents must be an integer from 1 to 1000, got 0${inFile}`,
      `channels.t.batch.maxWaitMs must be an integer from 0 to 60000, got 60001${inFile}`,
      `channels.t.batch.maxBytes must be an integer from 1024 to 10485760, got 1023${inFile}`,
      `channels.u.batch.maxBytes must be an integer from 1024 to 10485760, got 10485761${inFile}`,
      `channels.s.batch applies only to a batch channel${inFile}; set channels.s.mode to 'batch', or remove batch`,
    ]);
  });

  it('caps the default batch maxBytes by maxBatchBytes', () => {
    const config = withFile({
      maxEventBytes: 2048,
      maxBatchBytes: 4096,
      channels: { t: { types: ['t'], mode: 'batch' } },
    });
    expect(config.channels[1]!.batch).toEqual({ ...DEFAULT_BATCH_POLICY, maxBytes: 4096 });
  });
});

describe('parseConfig: breaker', () => {
  it('fills a partial breaker from DEFAULTS.breaker', () => {
    expect(withFile({ breaker: { failureRatio: 1, minRequests: 5 } }).breaker).toEqual({
      ...DEFAULTS.breaker,
      failureRatio: 1,
      minRequests: 5,
    });
  });

  it('checks each breaker setting', () => {
    const path = configFile({
      breaker: {
        failureRatio: 0,
        windowMs: 1.5,
        halfOpenProbes: 0,
        openMs: 10_000,
        maxOpenMs: 5_000,
        typo: 1,
      },
    });
    const inFile = ` (in ${path})`;
    expect(problemsOf(() => parse({ config: path }))).toEqual([
      expect.stringMatching(
        /^breaker\.typo is not a setting .*; use windowMs, minRequests, failureRatio, openMs/,
      ),
      `breaker.windowMs must be a positive integer, got 1.5${inFile}`,
      expect.stringMatching(/^breaker\.failureRatio must be a number above 0 and at most 1 .*got 0/),
      `breaker.halfOpenProbes must be a positive integer, got 0${inFile}`,
      `breaker.maxOpenMs (5000) must be at least breaker.openMs (10000)${inFile}; raise maxOpenMs or lower openMs`,
    ]);
    expect(problemsOf(() => withFile({ breaker: { failureRatio: 1.01 } }))).toHaveLength(1);
    expect(problemsOf(() => withFile({ breaker: 'on' }))).toEqual([
      expect.stringMatching(/^breaker must be an object/),
    ]);
  });
});
