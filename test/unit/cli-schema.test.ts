/**
 * `junction schema`: the layout functions, then the compiled CLI registering, checking, showing and
 * listing schemas on a real hub (`junction serve`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCheck, formatEventTypes } from '../../src/cli/commands/schema.js';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub, tempDataDir } from '../helpers/server.js';

const TYPE = 'com.acme.order.created';

describe('schema layouts', () => {
  it('lists types as a table, and says so when there are none', () => {
    expect(formatEventTypes([])).toBe('No event types registered.');
    const text = formatEventTypes([{ type: TYPE, latestVersion: 2, compatibility: 'BACKWARD', owner: null }]);
    expect(text.split('\n')[0]).toMatch(/^TYPE\s+LATEST\s+COMPATIBILITY\s+OWNER$/);
    expect(text.split('\n')[1]).toMatch(/^com\.acme\.order\.created\s+2\s+BACKWARD\s+-$/);
  });

  it('shows a verdict with one line per breaking change', () => {
    expect(formatCheck(TYPE, { compatible: true, changes: [] })).toBe(`compatible with ${TYPE}`);
    expect(
      formatCheck(TYPE, {
        compatible: false,
        changes: [
          { pointer: '/required', kind: 'required-added', message: '/required: "x" is now required' },
          { pointer: '', kind: 'type-narrowed', message: '/: only objects now' },
        ],
      }),
    ).toBe(
      `incompatible with ${TYPE}:\n  /required (required-added): "x" is now required\n  / (type-narrowed): only objects now`,
    );
  });
});

describe('junction schema against a real hub', () => {
  let hub: HubProcess;
  let env: Record<string, string>;
  const dir = tempDataDir();
  const file = (name: string, schema: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(schema));
    return path;
  };
  const v1 = file('v1.json', { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] });
  const v2 = file('v2.json', { type: 'object', properties: { id: { type: ['string', 'integer'] } } });
  const breaking = file('v3.json', { type: 'object', properties: { id: { type: 'integer' } } });
  const external = file('ext.json', { $ref: 'https://example.com/order.json' });

  beforeAll(async () => {
    hub = await startHub();
    env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('registers versions, and refuses a breaking one naming the pointer', async () => {
    const first = await runCli(['schema', 'add', TYPE, v1, '--owner', 'orders-team'], env);
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: `registered ${TYPE} version 1\n` });
    const second = await runCli(['schema', 'add', TYPE, v2, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ type: TYPE, version: 2 });

    const refused = await runCli(['schema', 'add', TYPE, breaking], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: Incompatible schema \(HTTP 409\)/);
    expect(refused.stderr).toContain('/properties/id/type');
  });

  it('checks a schema without registering it, exiting 1 when incompatible', async () => {
    const bad = await runCli(['schema', 'check', TYPE, breaking], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`^incompatible with ${TYPE}:\\n  /properties/id/type \\(`));
    const none = await runCli(['schema', 'check', TYPE, breaking, '--compatibility', 'NONE'], env);
    expect(none).toMatchObject({ code: 0, stdout: `compatible with ${TYPE}\n` });
    const typo = await runCli(['schema', 'check', TYPE, breaking, '--compatibility', 'SIDEWAYS'], env);
    expect(typo.code).toBe(2);
  });

  it('shows the latest or one version, and lists the types', async () => {
    const latest = await runCli(['schema', 'get', TYPE], env);
    expect(JSON.parse(latest.stdout)).toMatchObject({ type: TYPE, owner: 'orders-team', latestVersion: 2 });
    const one = await runCli(['schema', 'get', TYPE, '--version', '1'], env);
    expect(JSON.parse(one.stdout)).toMatchObject({ version: 1, schema: { required: ['id'] } });
    const list = await runCli(['schema', 'list'], env);
    expect(list.stdout).toMatch(/^com\.acme\.order\.created\s+2\s+BACKWARD\s+orders-team$/m);
  });

  it('reports bad input as the hub words it', async () => {
    const result = await runCli(['schema', 'add', 'com.acme.other', external], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(HTTP 400)');
    expect(result.stderr).toContain('/schema/$ref:');
    const missing = await runCli(['schema', 'add', TYPE, join(dir, 'nope.json')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot read the schema file');
  });
});
