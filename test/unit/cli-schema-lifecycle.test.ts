/**
 * `junction schema set|deprecate|converter` and `sub add --schema-version`: the compiled CLI
 * against a real hub (`junction serve`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConverters } from '../../src/cli/commands/schema-lifecycle.js';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub, tempDataDir } from '../helpers/server.js';

const TYPE = 'com.acme.customer.registered';

describe('converter layout', () => {
  it('lists converters as a table, one line per expression', () => {
    expect(formatConverters(TYPE, [])).toBe(`No converters for ${TYPE}.`);
    const text = formatConverters(TYPE, [{ from: 1, to: 2, expression: '{\n  "a": b\n}' }]);
    expect(text.split('\n')[1]).toMatch(/^1\s+2\s+\{ "a": b \}$/);
  });
});

describe('junction schema set, deprecate and converter against a real hub', () => {
  let hub: HubProcess;
  let env: Record<string, string>;
  const dir = tempDataDir();

  beforeAll(async () => {
    hub = await startHub();
    env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    const schema = join(dir, 'v.json');
    writeFileSync(schema, JSON.stringify({ type: 'object' }));
    for (let i = 0; i < 2; i++) expect((await runCli(['schema', 'add', TYPE, schema], env)).code).toBe(0);
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('sets the validation mode and other settings', async () => {
    const res = await runCli(
      ['schema', 'set', TYPE, '--validation', 'warn', '--after-sunset', 'accept'],
      env,
    );
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe(`updated ${TYPE}: validation, afterSunset\n`);
    const type = (await (await hub.fetch(`/v1/schemas/${TYPE}`)).json()) as Record<string, unknown>;
    expect(type).toMatchObject({ validation: 'warn', afterSunset: 'accept' });
  });

  it('refuses an unknown mode and a set with nothing to set', async () => {
    expect((await runCli(['schema', 'set', TYPE, '--validation', 'strict'], env)).code).toBe(2);
    const none = await runCli(['schema', 'set', TYPE], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one setting/);
  });

  it('deprecates a version with a sunset, and takes it back', async () => {
    const res = await runCli(['schema', 'deprecate', TYPE, '1', '--sunset', '2030-01-01T00:00:00Z'], env);
    expect(res.stdout).toBe(`${TYPE} version 1: deprecated, sunset 2030-01-01T00:00:00.000Z\n`);
    const undo = await runCli(['schema', 'deprecate', TYPE, '1', '--undo'], env);
    expect(undo.stdout).toBe(`${TYPE} version 1: active\n`);
    const bad = await runCli(['schema', 'deprecate', TYPE, '1', '--sunset', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RFC 3339/);
  });

  it('adds, lists and removes converters, from an option or a file', async () => {
    const file = join(dir, 'down.jsonata');
    writeFileSync(file, '$');
    expect(
      (await runCli(['schema', 'converter', 'add', TYPE, '1', '2', '--expression', '$'], env)).code,
    ).toBe(0);
    expect((await runCli(['schema', 'converter', 'add', TYPE, '2', '1', '--file', file], env)).code).toBe(0);
    const list = await runCli(['schema', 'converter', 'list', TYPE], env);
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    const bad = await runCli(['schema', 'converter', 'add', TYPE, '1', '2', '--expression', '{ "a": '], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/does not parse/);
    expect((await runCli(['schema', 'converter', 'rm', TYPE, '2', '1'], env)).stdout).toMatch(/removed/);
    expect((await runCli(['schema', 'converter', 'rm', TYPE, '2', '1'], env)).code).toBe(1);
  });

  it('pins a subscription with sub add --schema-version', async () => {
    const res = await runCli(
      ['sub', 'add', '--sink', 'http://127.0.0.1:9/x', '--type', TYPE, '--schema-version', '1', '--json'],
      env,
    );
    expect(res.code).toBe(0);
    expect((JSON.parse(res.stdout) as { delivery: { schemaVersion: number } }).delivery.schemaVersion).toBe(
      1,
    );
  });
});
