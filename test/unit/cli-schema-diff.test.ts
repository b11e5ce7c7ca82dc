/**
 * `junction schema diff`: the layout, then the compiled CLI comparing versions on a real hub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiffAnswer, formatDiff } from '../../src/cli/commands/schema-diff.js';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub } from '../helpers/server.js';

const TYPE = 'com.acme.order.created';

describe('diff layout', () => {
  it('shows one line per operation, then both verdicts with their breaking changes', () => {
    const answer: DiffAnswer = {
      type: TYPE,
      from: 1,
      to: 2,
      changes: [
        { op: 'add', path: '/properties/currency', value: { type: 'string' } },
        { op: 'remove', path: '/properties/note', oldValue: { type: 'string' } },
        { op: 'replace', path: '/properties/total/type', value: 'integer', oldValue: 'number' },
        { op: 'move', from: '/anyOf/1', path: '/anyOf/0' },
        { op: 'add', path: '/description', value: 'x'.repeat(300) },
      ],
      compatibility: {
        backward: {
          compatible: false,
          changes: [
            {
              pointer: '/properties/total/type',
              kind: 'type-narrowed',
              message: '/properties/total/type: no longer a number',
            },
          ],
        },
        forward: { compatible: true, changes: [] },
      },
    };
    const lines = formatDiff(answer).split('\n');
    expect(lines.slice(0, 5)).toEqual([
      `${TYPE} version 1 → 2:`,
      '  + /properties/currency  {"type":"string"}',
      '  - /properties/note  {"type":"string"}',
      '  ~ /properties/total/type  "number" → "integer"',
      '  ~ /anyOf/0  moved from /anyOf/1',
    ]);
    expect(lines[5]).toMatch(/^ {2}\+ \/description {2}"x{98}…$/);
    expect(lines.slice(6)).toEqual([
      'backward (version 2 reads data written with version 1): incompatible',
      '  /properties/total/type (type-narrowed): no longer a number',
      'forward (version 1 reads data written with version 2): compatible',
    ]);
  });

  it('says so when the versions are equal', () => {
    const same = { compatible: true, changes: [] };
    expect(
      formatDiff({
        type: TYPE,
        from: 2,
        to: 2,
        changes: [],
        compatibility: { backward: same, forward: same },
      }),
    ).toBe(
      `${TYPE} version 2 → 2:\n  no changes\n` +
        'backward (version 2 reads data written with version 2): compatible\n' +
        'forward (version 2 reads data written with version 2): compatible',
    );
  });
});

describe('junction schema diff against a real hub', () => {
  let hub: HubProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    hub = await startHub();
    env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    const versions = [
      { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      { type: 'object', properties: { id: { type: ['string', 'integer'] } } },
    ];
    for (const schema of versions) {
      const res = await hub.fetch(`/v1/schemas/${TYPE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema }),
      });
      expect(res.status, await res.text()).toBe(201);
    }
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('prints the diff and the verdicts, exiting 0 even when a direction breaks', async () => {
    const result = await runCli(['schema', 'diff', TYPE, '2', '1'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n').slice(0, 4)).toEqual([
      `${TYPE} version 2 → 1:`,
      '  ~ /properties/id/type  ["string","integer"] → "string"',
      '  + /required  ["id"]',
      'backward (version 1 reads data written with version 2): incompatible',
    ]);
    expect(result.stdout).toMatch(/^ {2}\/properties\/id\/type \(type-narrowed\): /m);
    expect(result.stdout).toMatch(/^forward \(version 2 reads data written with version 1\): compatible$/m);
  });

  it('prints the raw answer with --json', async () => {
    const result = await runCli(['schema', 'diff', TYPE, '1', '2', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      type: TYPE,
      from: 1,
      to: 2,
      changes: [expect.objectContaining({ op: 'replace', path: '/properties/id/type' }), expect.anything()],
      compatibility: { backward: { compatible: true } },
    });
  });

  it('refuses a bad version number before asking, and reports an unknown one as the hub words it', async () => {
    const zero = await runCli(['schema', 'diff', TYPE, '0', '1'], env);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('Expected an integer >= 1.');
    const missing = await runCli(['schema', 'diff', TYPE, '1', '9'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(HTTP 404)');
    expect(missing.stderr).toContain('/to: event type');
  });
});
