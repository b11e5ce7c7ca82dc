/**
 * The PostgreSQL migrations against the machine's real server (database `test`). Every test works
 * in a schema of its own and drops it afterwards. Locally, without PostgreSQL, the suite skips and
 * says so; under CI=true an unreachable server is a failure.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type Migration,
  MigrationFailedError,
  migrate,
  pendingMigrations,
  StoreUnavailableError,
} from '../../src/storage/postgres/index.js';
import { loadMigrations } from '../../src/storage/postgres/migrations.js';
import { runCli } from '../helpers/cli.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';

const required = process.env.CI === 'true';
const reachable = await postgresReachable();
if (!reachable && !required) {
  console.warn(
    `PostgreSQL migration tests skipped: nothing answers at ${POSTGRES_URL}; under CI=true this fails`,
  );
}

describe.skipIf(!reachable && !required)(`PostgreSQL migrations (${POSTGRES_URL})`, () => {
  const sql = testClient();
  const created: string[] = [];
  const schema = (label: string): string => {
    const name = uniqueSchema(label);
    created.push(name);
    return name;
  };

  afterEach(async () => {
    await dropSchemas(sql, created.splice(0));
  });
  afterAll(async () => {
    await sql.end({ timeout: 5 });
  });

  const shipped = loadMigrations();
  const versionsIn = async (s: string) =>
    (await sql<{ version: number }[]>`SELECT version FROM ${sql(s)}.schema_migrations ORDER BY version`).map(
      (r) => r.version,
    );

  it('applies every migration once, then nothing; pendingMigrations before and after', async () => {
    const s = schema('all');
    expect((await pendingMigrations(POSTGRES_URL, { schema: s })).map((m) => m.label)).toEqual(
      shipped.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
    );
    const seen: string[] = [];
    const first = await migrate(POSTGRES_URL, { schema: s, onApplied: (m) => seen.push(m.label) });
    expect(first.map((m) => m.version)).toEqual(shipped.map((m) => m.version));
    expect(seen[0]).toBe('0001_initial');
    expect(await migrate(POSTGRES_URL, { schema: s })).toEqual([]);
    expect(await pendingMigrations(POSTGRES_URL, { schema: s })).toEqual([]);
    expect(await versionsIn(s)).toEqual(shipped.map((m) => m.version));
  });

  it('applies each migration exactly once under concurrent callers (advisory lock)', async () => {
    const s = schema('race');
    // Extra migrations that fail if applied twice (CREATE TABLE without IF NOT EXISTS) and sleep,
    // so the callers overlap for certain.
    const extra = (version: number): Migration => ({
      version,
      name: `slow_${version}`,
      sql: `CREATE TABLE slow_${version} (x int); SELECT pg_sleep(0.2);`,
    });
    const migrations = [...shipped, extra(shipped.length + 1), extra(shipped.length + 2)];
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => migrate(POSTGRES_URL, { schema: s, migrations })),
    );
    const applied = results.flat().map((m) => m.version);
    expect(applied.sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
    expect(await versionsIn(s)).toEqual(migrations.map((m) => m.version));
  });

  it('rolls back a failing migration alone, keeping earlier ones, with a clear error', async () => {
    const s = schema('broken');
    const n = shipped.length;
    const migrations: Migration[] = [
      ...shipped,
      { version: n + 1, name: 'fine', sql: 'CREATE TABLE fine (x int);' },
      { version: n + 2, name: 'broken', sql: 'CREATE TABLE half (x int);\nSELEC 1;' },
    ];
    const error = await migrate(POSTGRES_URL, { schema: s, migrations }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as MigrationFailedError).code).toBe('migration-failed');
    expect((error as Error).message).toMatch(/broken failed and was rolled back: syntax error/);
    expect(await versionsIn(s)).toEqual(migrations.slice(0, n + 1).map((m) => m.version));
    const [half] = await sql<{ t: string | null }[]>`SELECT to_regclass(${`${s}.half`})::text AS t`;
    expect(half?.t).toBeNull();
    expect((await pendingMigrations(POSTGRES_URL, { schema: s, migrations })).map((m) => m.name)).toEqual([
      'broken',
    ]);
  });

  it('reports an unreachable server as StoreUnavailableError saying what to check', async () => {
    const error = await migrate('postgres://postgres@127.0.0.1:1/test', { schema: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe('store-unavailable');
    expect((error as Error).message).toMatch(/check that the server is running/);
  });

  it('junction migrate: --dry-run lists, then applies, then is up to date', async () => {
    const s = schema('cli');
    const dry = await runCli(['migrate', '--store', POSTGRES_URL, '--schema', s, '--dry-run'], {});
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const labels = shipped.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
    expect(labels.slice(0, 5)).toEqual([
      '0001_initial',
      '0002_leases_and_changes',
      '0003_replay_claims',
      '0004_rate_limits',
      '0005_hooks',
    ]);
    expect(dry.stdout).toContain(
      `${shipped.length} pending migration(s)\n${labels.map((l) => `  ${l}\n`).join('')}`,
    );
    expect(await pendingMigrations(POSTGRES_URL, { schema: s })).toHaveLength(shipped.length);

    // JUNCTION_STORE stands in for --store.
    const run = await runCli(['migrate', '--schema', s], { JUNCTION_STORE: POSTGRES_URL });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^applied 0001_initial\n/);
    const again = await runCli(['migrate', '--store', POSTGRES_URL, '--schema', s], {});
    expect(again.stdout).toMatch(/up to date/);

    const down = await runCli(['migrate', '--store', 'postgres://postgres@127.0.0.1:1/test'], {});
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/check that the server is running/);
    const bad = await runCli(['migrate', '--store', POSTGRES_URL, '--schema', 'Bad-Name'], {});
    expect(bad.code).toBe(2);
    const none = await runCli(['migrate'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/JUNCTION_STORE/);
  });

  it('holds a row of each table, shaped like the embedded store', async () => {
    const s = schema('rows');
    await migrate(POSTGRES_URL, { schema: s });
    // The driver quotes each dot-separated part: "schema"."table".
    // A string bound to a json column is JSON.stringify'd by the driver (stored as a JSON string),
    // so JSON text is sent as text and cast: `${text}::text::json`. The store port must do the same.
    const t = (name: string) => sql(`${s}.${name}`);
    const now = Date.now();
    const event = JSON.stringify({
      specversion: '1.0',
      id: 'e1',
      source: '/shop',
      type: 'com.acme.order.created',
    });
    const [ev] = await sql<{ seq: string }[]>`
      INSERT INTO ${t('events')} (source, id, type, channel, body, received_at, contract)
      VALUES ('/shop', 'e1', 'com.acme.order.created', 'orders', ${event}::text::json, ${now},
        ${sql.json({ version: 1 })})
      RETURNING seq`;
    // bigint comes back as a string from the driver: the store port will decide how to map it.
    const seq = ev?.seq ?? '';
    expect(Number(seq)).toBeGreaterThan(0);
    await sql`INSERT INTO ${t('subscriptions')} (id, body) VALUES ('sub_1', ${sql.json({ sink: 'http://x' })})`;
    await sql`
      INSERT INTO ${t('deliveries')} (id, subscription_id, event_seq, channel, order_key, webhook_id, status,
        budget_since, next_attempt_at, dead_blocks, replay_id, batch_id, conversion, created_at, updated_at)
      VALUES ('dl_1', 'sub_1', ${seq}, 'orders', 'k', 'msg_1', 'dead', ${now}, ${now}, true, 'rp_1', 'b_1',
        ${sql.json({ from: 1, to: 2 })}, ${now}, ${now})`;
    await sql`
      INSERT INTO ${t('attempts')} (delivery_id, n, at, status, outcome, latency_ms, error, response)
      VALUES ('dl_1', 1, ${now}, 500, 'failed', 12.5, 'HTTP 500', 'oops')`;
    await sql`INSERT INTO ${t('replays')} (id, body) VALUES ('rp_1', ${sql.json({ state: 'running' })})`;
    await sql`INSERT INTO ${t('event_types')} (type, body) VALUES ('com.acme.order.created', ${sql.json({ mode: 'enforce' })})`;
    await sql`
      INSERT INTO ${t('schema_versions')} (type, version, schema, created_at, created_by, deprecated_at, sunset_at)
      VALUES ('com.acme.order.created', 1, ${'{"type":"object", "$id":"x"}'}::text::json, ${now}, 'admin', ${now}, NULL)`;
    await sql`
      INSERT INTO ${t('contract_changes')} (type, at, actor, change)
      VALUES ('com.acme.order.created', ${now}, 'admin', ${sql.json({ action: 'add' })})`;
    await sql`
      INSERT INTO ${t('schema_converters')} (type, from_version, to_version, expression, created_at, created_by)
      VALUES ('com.acme.order.created', 1, 2, '$', ${now}, 'admin')`;

    const [e] = await sql`SELECT body::text AS body, received_at, contract FROM ${t('events')}`;
    expect(e?.body).toBe(event);
    expect(Number(e?.received_at)).toBe(now);
    expect(e?.contract).toEqual({ version: 1 });
    const [d] = await sql`SELECT status, dead_blocks, conversion FROM ${t('deliveries')}`;
    expect(d).toEqual({ status: 'dead', dead_blocks: true, conversion: { from: 1, to: 2 } });
    const [a] = await sql`SELECT latency_ms, response FROM ${t('attempts')}`;
    expect(a).toEqual({ latency_ms: 12.5, response: 'oops' });
    // json, not jsonb: the user's schema text comes back exactly as written.
    const [v] = await sql`SELECT schema::text AS schema FROM ${t('schema_versions')}`;
    expect(v?.schema).toBe('{"type":"object", "$id":"x"}');
    for (const table of [
      'subscriptions',
      'replays',
      'event_types',
      'contract_changes',
      'schema_converters',
    ]) {
      const [row] = await sql`SELECT count(*)::int AS n FROM ${t(table)}`;
      expect(row?.n, table).toBe(1);
    }
    // The unique (source, id) and the unique replay index hold as in SQLite.
    await expect(
      sql`INSERT INTO ${t('events')} (source, id, type, body, received_at) VALUES ('/shop', 'e1', 'x', '{}', 0)`,
    ).rejects.toThrow(/duplicate key/);
    const indexes = await sql<{ indexname: string }[]>`
      SELECT indexname FROM pg_indexes WHERE schemaname = ${s} ORDER BY indexname`;
    expect(indexes.map((i) => i.indexname)).toEqual(
      expect.arrayContaining([
        'deliveries_due',
        'deliveries_unsettled_keys',
        'deliveries_of_replay',
        'deliveries_dead',
        'events_by_type',
        'events_by_channel_time',
        'contract_changes_by_type',
      ]),
    );
  });
});
