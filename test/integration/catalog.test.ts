/**
 * The AsyncAPI catalog against a real hub process: types with `$defs` references, nested objects
 * and enums, subscriptions with secret-bearing sink URLs, the document parsed by @asyncapi/parser
 * without an error, and an empty registry giving a valid document too.
 */
import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigFile } from '../helpers/delivery.js';
import { type HubProcess, startHub } from '../helpers/server.js';

const CATALOG = '/v1/catalog/asyncapi.json';
const ORDER = 'com.acme.order.created';
const CUSTOMER = 'customer.updated';
const INVENTORY = 'inventory.adjusted';

/** An order with a `$defs` address used twice, a nested line list, and an enum. */
const orderV1 = {
  type: 'object',
  $defs: {
    address: {
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
      required: ['city'],
    },
  },
  properties: {
    orderId: { type: 'string' },
    status: { enum: ['placed', 'paid'] },
    billing: { $ref: '#/$defs/address' },
    shipping: { $ref: '#/$defs/address' },
    lines: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } } },
    },
  },
  required: ['orderId', 'status'],
};
/** Compatible under BACKWARD: `status` takes one more value. */
const orderV2 = {
  ...orderV1,
  properties: { ...orderV1.properties, status: { enum: ['placed', 'paid', 'shipped'] } },
};
/** A recursive schema: a customer's referrer is a customer. */
const customer = {
  type: 'object',
  properties: { id: { type: 'string' }, referredBy: { $ref: '#' } },
  required: ['id'],
};
const inventory = { type: 'object', properties: { sku: { type: 'string' }, delta: { type: 'integer' } } };

/** A Slack-style sink whose path is a secret: nothing of it may reach the catalog. */
const SECRET_PATH = '/services/T000/B000/xoxSecretToken42';

/** The document as parsed JSON, indexed freely: each test checks the shape it reads. */
// biome-ignore lint/suspicious/noExplicitAny: an AsyncAPI document read field by field in assertions.
type Json = any;

interface Diagnostic {
  severity: number;
  code: string | number;
  message: string;
  path: (string | number)[];
}

async function catalog(hub: HubProcess): Promise<Json> {
  const res = await hub.fetch(CATALOG);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Json;
}

/** Parses a document and fails on any error diagnostic (severity 0), showing them all. */
async function parse(doc: unknown) {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
  const errors = (diagnostics as Diagnostic[]).filter((d) => d.severity === 0);
  expect(errors.map((d) => `${d.code} at ${d.path.join('/')}: ${d.message}`)).toEqual([]);
  expect(document).toBeDefined();
  return document!;
}

async function register(hub: HubProcess, type: string, body: Record<string, unknown>): Promise<void> {
  const res = await hub.fetch(`/v1/schemas/${encodeURIComponent(type)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
}

describe('the AsyncAPI catalog', () => {
  let hub: HubProcess;
  let crm: string;
  let slack: string;

  beforeAll(async () => {
    const config = writeConfigFile({ channels: { orders: { types: ['com.acme.order.*'] } } });
    hub = await startHub({ args: ['--config', config] });
    await register(hub, ORDER, {
      schema: orderV1,
      owner: 'orders-team',
      description: 'An order was placed.',
      example: {
        specversion: '1.0',
        id: 'ord-1',
        source: '/shop',
        type: ORDER,
        data: { orderId: '1', status: 'placed' },
      },
    });
    await register(hub, ORDER, { schema: orderV2 });
    await register(hub, CUSTOMER, { schema: customer, channel: 'customers', example: { id: 'c1' } });
    await register(hub, INVENTORY, { schema: inventory });
    crm = (await hub.subscribe({ sink: 'https://crm.example.com/hooks/orders?token=abc', types: [ORDER] }))
      .id;
    slack = (await hub.subscribe({ sink: `https://hooks.slack.com${SECRET_PATH}`, types: [] })).id;
    // A type that is not in the registry: the catalog has no message for it.
    await hub.subscribe({ sink: 'https://audit.example.com/in', types: ['unregistered.type'] });
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('needs the API key', async () => {
    const res = await fetch(hub.url + CATALOG);
    expect(res.status).toBe(401);
  });

  it('parses with @asyncapi/parser without an error', async () => {
    const doc = await catalog(hub);
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    const parsed = await parse(doc);
    expect(
      parsed
        .allMessages()
        .all()
        .map((m) => m.name())
        .sort(),
    ).toEqual([ORDER, CUSTOMER, INVENTORY].sort());
    // The `$defs` reference resolved to the address schema inside the order's payload.
    const order = parsed
      .allMessages()
      .all()
      .find((m) => m.name() === ORDER)!;
    expect(order.payload()?.schemaFormat()).toBe('application/schema+json;version=draft-2020-12');
    const billing = order.payload()?.properties()?.billing;
    expect(billing?.properties()?.city?.type()).toBe('string');
    expect(order.payload()?.properties()?.status?.enum()).toEqual(['placed', 'paid', 'shipped']);
  });

  it('has each type in its channel: its own setting, else the routing config', async () => {
    const doc = await catalog(hub);
    expect(Object.keys(doc.channels).sort()).toEqual(['customers', 'default', 'orders']);
    expect(Object.keys(doc.channels.orders.messages)).toEqual([ORDER]);
    expect(Object.keys(doc.channels.customers.messages)).toEqual([CUSTOMER]);
    expect(Object.keys(doc.channels.default.messages)).toEqual([INVENTORY]);
  });

  it('describes each message: latest payload, owner, headers and example', async () => {
    const doc = await catalog(hub);
    const order = doc.components.messages[ORDER];
    expect(order).toMatchObject({
      name: ORDER,
      description: 'An order was placed.',
      'x-owner': 'orders-team',
      'x-junction-schema-version': 2,
      payload: { $ref: `#/components/schemas/${ORDER}.v2` },
      examples: [
        {
          payload: { orderId: '1', status: 'placed' },
          headers: { 'ce-id': 'ord-1', 'ce-source': '/shop', 'ce-type': ORDER },
        },
      ],
    });
    expect(order.headers.properties['ce-type']).toEqual({ type: 'string', const: ORDER });
    expect(order.headers.required).toEqual(['ce-specversion', 'ce-id', 'ce-source', 'ce-type']);
    // The schema's own references now point where it sits in the document.
    const schema = doc.components.schemas[`${ORDER}.v2`];
    expect(schema.schemaFormat).toBe('application/schema+json;version=draft-2020-12');
    expect(schema.schema.properties.billing).toEqual({
      $ref: `#/components/schemas/${ORDER}.v2/schema/$defs/address`,
    });
    expect(doc.components.schemas[`${CUSTOMER}.v1`].schema.properties.referredBy).toEqual({
      $ref: `#/components/schemas/${CUSTOMER}.v1/schema`,
    });
    expect(doc.components.messages[CUSTOMER].examples).toEqual([{ name: 'example', payload: { id: 'c1' } }]);
  });

  it('has a receive operation per type and a send operation per subscription and type', async () => {
    const doc = await catalog(hub);
    const ops = Object.values(doc.operations) as Json[];
    const receive = ops.filter((o) => o.action === 'receive');
    expect(receive).toHaveLength(3);
    const sends = ops.filter((o) => o.action === 'send');
    const bySub = (id: string) =>
      sends
        .filter((o) => o['x-junction-subscription'] === id)
        .map((o) => o.messages[0].$ref)
        .sort();
    expect(bySub(crm)).toEqual([`#/channels/orders/messages/${ORDER}`]);
    // No types: every registered type.
    expect(bySub(slack)).toEqual(
      [
        `#/channels/customers/messages/${CUSTOMER}`,
        `#/channels/default/messages/${INVENTORY}`,
        `#/channels/orders/messages/${ORDER}`,
      ].sort(),
    );
    expect(sends).toHaveLength(4);
    const toCrm = sends.find((o) => o['x-junction-subscription'] === crm)!;
    expect(toCrm).toMatchObject({
      channel: { $ref: '#/channels/orders' },
      'x-junction-sink-origin': 'https://crm.example.com',
      'x-junction-format': 'binary',
    });
  });

  it('shows no sink path, query or token', async () => {
    const text = await (await hub.fetch(CATALOG)).text();
    expect(text).not.toContain('xoxSecretToken42');
    expect(text).not.toContain('/services/');
    expect(text).not.toContain('/hooks/orders');
    expect(text).not.toContain('token=abc');
    expect(text).toContain('https://hooks.slack.com');
    // Subscription secrets never appear either.
    expect(text).not.toContain('whsec_');
  });

  it("gives a subscription pinned to an earlier version that version's message", async () => {
    const pinned = (
      await hub.subscribe({
        sink: 'https://erp.example.com/in',
        types: [ORDER],
        delivery: { schemaVersion: 1 },
      })
    ).id;
    try {
      const doc = await catalog(hub);
      const op = (Object.values(doc.operations) as Json[]).find(
        (o) => o['x-junction-subscription'] === pinned,
      );
      expect(op).toMatchObject({
        messages: [{ $ref: `#/channels/orders/messages/${ORDER}.v1` }],
        'x-junction-pinned-version': 1,
      });
      expect(doc.components.messages[`${ORDER}.v1`]).toMatchObject({
        'x-junction-schema-version': 1,
        payload: { $ref: `#/components/schemas/${ORDER}.v1` },
      });
      expect(doc.components.schemas[`${ORDER}.v1`].schema.properties.status).toEqual({
        enum: ['placed', 'paid'],
      });
      expect(Object.keys(doc.channels.orders.messages).sort()).toEqual([ORDER, `${ORDER}.v1`]);
      await parse(doc);
    } finally {
      await hub.fetch(`/v1/subscriptions/${pinned}`, { method: 'DELETE' });
    }
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await (await hub.fetch('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain(CATALOG);
  });
});

describe('the catalog of an empty registry', () => {
  let hub: HubProcess;

  beforeAll(async () => {
    hub = await startHub();
    // A subscription with nothing registered to take: no operation, and still a valid document.
    await hub.subscribe({ sink: 'https://crm.example.com/hooks/x', types: [] });
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('is a valid document with no channels, messages or operations', async () => {
    const doc = await catalog(hub);
    expect(doc).toMatchObject({ asyncapi: '3.0.0', channels: {}, operations: {} });
    expect(doc.components).toEqual({ schemas: {}, messages: {} });
    await parse(doc);
  });
});
