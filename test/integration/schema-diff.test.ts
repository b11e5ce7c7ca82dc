/**
 * `GET /v1/schemas/{type}/diff` against a real hub process: the JSON Patch between versions (added,
 * removed and changed properties, required and enum changes, set-like arrays reordered), both
 * compatibility verdicts, either order of versions, and every kind of bad input.
 */
import { patch } from 'jsondiffpatch/formatters/jsonpatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';

const TYPE = 'com.acme.order.created';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;

const v1 = {
  type: 'object',
  properties: {
    orderId: { type: 'string' },
    total: { type: 'number' },
    status: { enum: ['placed', 'paid', 'shipped'] },
    note: { type: 'string' },
  },
  required: ['orderId', 'total'],
};
/** `currency` added (optional), `note` removed, `total` widened, `status` gains a value, required reordered. */
const v2 = {
  type: 'object',
  properties: {
    orderId: { type: 'string' },
    total: { type: ['number', 'string'] },
    status: { enum: ['placed', 'paid', 'shipped', 'cancelled'] },
    currency: { type: 'string' },
  },
  required: ['total', 'orderId'],
};
/** `currency` now required, `total` narrowed to integers, `shipped` no longer a status. */
const v3 = {
  type: 'object',
  properties: {
    orderId: { type: 'string' },
    total: { type: 'integer' },
    status: { enum: ['cancelled', 'placed', 'paid'] },
    currency: { type: 'string' },
  },
  required: ['orderId', 'total', 'currency'],
};

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
  oldValue?: unknown;
  summary: string;
}
interface Verdict {
  compatible: boolean;
  changes: { pointer: string; kind: string; message: string }[];
}
interface Diff {
  type: string;
  from: number;
  to: number;
  changes: Operation[];
  compatibility: { backward: Verdict; forward: Verdict };
}
interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { pointer: string; message: string }[];
}

let hub: HubProcess;

async function diff(from: number, to: number): Promise<Diff> {
  const res = await hub.fetch(`${PATH}/diff?from=${from}&to=${to}`);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Diff;
}

async function problem(path: string, status: number): Promise<Problem> {
  const res = await hub.fetch(path);
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as Problem;
}

/** The schema an answer's patch makes of `from`, with set-like arrays sorted as the diff compares them. */
function applied(from: unknown, ops: Operation[]): unknown {
  const doc = structuredClone(from);
  patch(doc, ops as Parameters<typeof patch>[1]);
  return sortSets(doc);
}

function sortSets(node: unknown, key = ''): unknown {
  if (Array.isArray(node)) {
    const items = node.map((item) => sortSets(item));
    return ['required', 'enum', 'type'].includes(key) ? items.sort() : items;
  }
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, sortSets(v, k)]));
  }
  return node;
}

beforeAll(async () => {
  hub = await startHub();
  // NONE, so that the breaking version 3 can be registered and compared.
  const settings = { compatibility: 'NONE' };
  for (const schema of [v1, v2, v3]) {
    const res = await hub.fetch(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema, ...settings }),
    });
    expect(res.status, await res.text()).toBe(201);
  }
});

afterAll(async () => {
  await hub?.stop();
});

describe('the diff between two versions', () => {
  it('lists added, removed and changed properties as JSON Patch operations with summaries', async () => {
    const answer = await diff(1, 2);
    expect(answer).toMatchObject({ type: TYPE, from: 1, to: 2 });
    expect(answer.changes).toEqual([
      {
        op: 'replace',
        path: '/properties/total/type',
        value: ['number', 'string'],
        oldValue: 'number',
        summary: '`type` changed from "number" to ["number","string"] at /properties/total',
      },
      {
        op: 'remove',
        path: '/properties/note',
        oldValue: { type: 'string' },
        summary: 'property `note` removed from /properties',
      },
      {
        op: 'add',
        path: '/properties/currency',
        value: { type: 'string' },
        summary: 'property `currency` added to /properties',
      },
      // Changes to set-like arrays come last.
      {
        op: 'add',
        path: '/properties/status/enum/3',
        value: 'cancelled',
        summary: 'value "cancelled" added to the enum at /properties/status',
      },
    ]);
    // The reordered `required` list is no change; the patch makes version 2 of version 1.
    expect(answer.changes.some((c) => c.path.startsWith('/required'))).toBe(false);
    expect(applied(v1, answer.changes)).toEqual(sortSets(v2));
  });

  it('names required and enum changes, and narrowed types', async () => {
    const answer = await diff(2, 3);
    const summaries = answer.changes.map((c) => c.summary);
    expect(summaries).toContain('`currency` is now required');
    expect(summaries).toContain('value "shipped" removed from the enum at /properties/status');
    expect(summaries).toContain('`type` changed from ["number","string"] to "integer" at /properties/total');
    expect(answer.changes).toContainEqual(
      expect.objectContaining({ op: 'add', path: '/required/2', value: 'currency' }),
    );
    expect(applied(v2, answer.changes)).toEqual(sortSets(v3));
  });

  it('gives both compatibility verdicts, with breaking changes naming the versions', async () => {
    const widening = await diff(1, 2);
    // Read strictly, version 1's open model may already send `currency` with any value.
    expect(widening.compatibility.backward.changes).toEqual([
      expect.objectContaining({ pointer: '/properties/currency', kind: 'open-model-property-constrained' }),
    ]);
    // Version 1 cannot read a string total or a new status.
    expect(widening.compatibility.forward.compatible).toBe(false);
    const forward = widening.compatibility.forward.changes;
    expect(forward.map((c) => c.pointer)).toContain('/properties/total/type');
    expect(forward.map((c) => c.message).join(' ')).toContain('version 2');

    const narrowing = await diff(2, 3);
    expect(narrowing.compatibility.backward.compatible).toBe(false);
    const pointers = narrowing.compatibility.backward.changes.map((c) => c.pointer);
    expect(pointers).toContain('/properties/total/type');
    expect(pointers.some((p) => p.startsWith('/required'))).toBe(true);
    for (const change of narrowing.compatibility.backward.changes) {
      expect(change.kind).toEqual(expect.any(String));
      expect(change.message.length).toBeGreaterThan(10);
    }
  });

  it("reads the verdicts under the type's optional-friendly setting", async () => {
    const set = (optionalFriendly: boolean) =>
      hub.fetch(PATH, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ optionalFriendly }),
      });
    expect((await set(true)).status).toBe(200);
    try {
      // Version 2 reads everything version 1 wrote once an added optional property counts as compatible.
      expect((await diff(1, 2)).compatibility.backward).toEqual({ compatible: true, changes: [] });
    } finally {
      expect((await set(false)).status).toBe(200);
    }
  });

  it('compares a later version with an earlier one, the verdicts swapping', async () => {
    const down = await diff(2, 1);
    const up = await diff(1, 2);
    expect(down).toMatchObject({ from: 2, to: 1 });
    expect(down.compatibility.backward).toEqual(up.compatibility.forward);
    expect(down.compatibility.forward).toEqual(up.compatibility.backward);
    expect(down.changes.map((c) => c.summary)).toContain('property `note` added to /properties');
    expect(applied(v2, down.changes)).toEqual(sortSets(v1));
    expect(applied(v3, (await diff(3, 1)).changes)).toEqual(sortSets(v1));
  });

  it('answers an empty patch for a version compared with itself', async () => {
    expect(await diff(2, 2)).toEqual({
      type: TYPE,
      from: 2,
      to: 2,
      changes: [],
      compatibility: {
        backward: { compatible: true, changes: [] },
        forward: { compatible: true, changes: [] },
      },
    });
  });

  it('answers the same operations in the same order every time', async () => {
    const first = await diff(1, 3);
    const second = await diff(1, 3);
    expect(second).toEqual(first);
    expect(first.changes.length).toBeGreaterThan(3);
  });
});

describe('the OpenAPI document', () => {
  it('describes the diff route with both query parameters', async () => {
    const doc = (await (await hub.fetch('/openapi.json')).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string; required: boolean }[] } }>;
    };
    const parameters = doc.paths['/v1/schemas/{type}/diff']?.get?.parameters ?? [];
    expect(parameters.map((p) => [p.name, p.in, p.required])).toEqual([
      ['from', 'query', true],
      ['to', 'query', true],
    ]);
  });
});

describe('bad input', () => {
  it('names each missing or malformed query parameter (400)', async () => {
    const missing = await problem(`${PATH}/diff`, 400);
    expect(missing.type).toMatch(/invalid-input$/);
    expect(missing.errors?.map((e) => e.pointer)).toEqual(['/from', '/to']);
    expect(missing.errors?.[0]?.message).toContain('query parameter from is required');

    for (const bad of ['0', '-1', '1.5', 'two', '', '1e2', '01']) {
      const body = await problem(`${PATH}/diff?from=${encodeURIComponent(bad)}&to=2`, 400);
      expect(body.errors, bad).toEqual([
        { pointer: '/from', message: expect.stringContaining('whole number') },
      ]);
    }
    const onlyTo = await problem(`${PATH}/diff?from=1&to=x`, 400);
    expect(onlyTo.errors?.map((e) => e.pointer)).toEqual(['/to']);
    const twice = await problem(`${PATH}/diff?from=1&from=2&to=3`, 400);
    expect(twice.errors?.map((e) => e.pointer)).toEqual(['/from']);
  });

  it('answers 404 naming the version that does not exist, and for an unknown type', async () => {
    const to = await problem(`${PATH}/diff?from=1&to=9`, 404);
    expect(to.type).toMatch(/not-found$/);
    expect(to.errors).toEqual([{ pointer: '/to', message: expect.stringContaining('has no version 9') }]);
    expect(to.detail).toContain('1 to 3');
    const from = await problem(`${PATH}/diff?from=7&to=1`, 404);
    expect(from.errors?.map((e) => e.pointer)).toEqual(['/from']);

    const unknown = await problem('/v1/schemas/com.acme.never.seen/diff?from=1&to=2', 404);
    expect(unknown.detail).toContain('POST /v1/schemas/{type}');
  });

  it('requires the API key', async () => {
    const res = await hub.fetch(`${PATH}/diff?from=1&to=2`, { headers: { authorization: 'Bearer wrong' } });
    expect(res.status).toBe(401);
  });
});
