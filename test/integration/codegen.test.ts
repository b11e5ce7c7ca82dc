/**
 * `junction codegen` against a real hub: the generated file compiles under strict TypeScript, data of
 * the right shape type-checks against it, and data of a wrong shape does not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub, tempDataDir } from '../helpers/server.js';

const ORDER = 'com.acme.order.created';
const orderV1 = {
  type: 'object',
  $defs: {
    address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
  properties: {
    orderId: { type: 'string' },
    status: { enum: ['placed', 'paid'] },
    shipping: { $ref: '#/$defs/address' },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: { type: 'string' }, qty: { type: 'integer' } },
        required: ['sku', 'qty'],
      },
    },
  },
  required: ['orderId', 'status'],
};
const orderV2 = {
  ...orderV1,
  properties: { ...orderV1.properties, status: { enum: ['placed', 'paid', 'shipped'] } },
};
const customer = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

/** Type-checks files with the strictest options the project uses; answers each error as text. */
function typeErrors(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitOverride: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    // The ES library alone: the DOM's declarations would triple the time each check takes.
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const where = d.file
      ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '';
    return `${where} ${text}`;
  });
}

describe('junction codegen against a real hub', () => {
  let hub: HubProcess;
  let env: Record<string, string>;
  const dir = tempDataDir();

  const register = async (type: string, schema: unknown) => {
    const res = await hub.fetch(`/v1/schemas/${encodeURIComponent(type)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema }),
    });
    expect(res.status).toBe(201);
  };

  beforeAll(async () => {
    hub = await startHub();
    env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    await register(ORDER, orderV1);
    await register(ORDER, orderV2);
    await register('customer.updated', customer);
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('writes types that compile under strict options and check event data', async () => {
    const out = join(dir, 'events.generated.ts');
    const result = await runCli(['codegen', '--lang', 'ts', '--all-versions', '--out', out], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`wrote 2 event types (3 schema versions) to ${out}\n`);
    const source = readFileSync(out, 'utf8');
    expect(source).toContain('DO NOT EDIT');
    expect(typeErrors([out])).toEqual([]);

    const good = join(dir, 'good.ts');
    writeFileSync(
      good,
      `import type { ComAcmeOrderCreated, ComAcmeOrderCreatedV1, JunctionEvents } from './events.generated.js';
export const v1: ComAcmeOrderCreatedV1 = {
  orderId: 'o-1',
  status: 'paid',
  shipping: { city: 'Lyon' },
  lines: [{ sku: 'A', qty: 2 }],
};
export const latest: ComAcmeOrderCreated = { orderId: 'o-2', status: 'shipped' };
export const mapped: JunctionEvents['customer.updated'] = { id: 'c-1' };
`,
    );
    expect(typeErrors([good])).toEqual([]);

    const bad = join(dir, 'bad.ts');
    writeFileSync(
      bad,
      `import type { ComAcmeOrderCreatedV1, JunctionEvents } from './events.generated.js';
export const wrongStatus: ComAcmeOrderCreatedV1 = { orderId: 'o-1', status: 'shipped' };
export const missingId: ComAcmeOrderCreatedV1 = { status: 'paid' };
export const wrongCity: ComAcmeOrderCreatedV1 = { orderId: 'o-1', status: 'paid', shipping: { city: 3 } };
export const unknownType: JunctionEvents['no.such.type'] = {};
`,
    );
    const errors = typeErrors([bad]);
    // The import resolves (no error on line 1), and each wrong line, 2 to 5, is an error.
    expect(errors.filter((e) => e.includes('bad.ts:1 '))).toEqual([]);
    for (const line of [2, 3, 4, 5]) expect(errors.some((e) => e.includes(`bad.ts:${line} `))).toBe(true);
  });

  it('writes only the latest versions and the types asked for, to stdout by default', async () => {
    const result = await runCli(['codegen', '--type', ORDER], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('export interface ComAcmeOrderCreatedV2 {');
    expect(result.stdout).not.toContain('ComAcmeOrderCreatedV1 ');
    expect(result.stdout).not.toContain('CustomerUpdated');
  });

  it('refuses an unknown type and an unknown language', async () => {
    const missing = await runCli(['codegen', '--type', 'no.such.type'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no event type 'no.such.type' in the registry");
    const lang = await runCli(['codegen', '--lang', 'go'], env);
    expect(lang.code).toBe(2);
    expect(lang.stderr).toContain('Allowed choices are ts');
  });
});
