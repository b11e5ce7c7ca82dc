/** From a hook request to its CloudEvent: field paths, ids, types, presets' shapes, mapping, and refusals. */
import { describe, expect, it } from 'vitest';
import { UnmappableBodyError } from '../../src/adapters/hooks/errors.js';
import { parseHookInput } from '../../src/adapters/hooks/input.js';
import { mapToEvent } from '../../src/adapters/hooks/mapping.js';
import { parseFieldPath, pointerOf, readField } from '../../src/adapters/hooks/paths.js';
import { parseHookBody } from '../../src/adapters/hooks/request-body.js';
import { PayloadTooLargeError } from '../../src/core/errors.js';
import type { Hook } from '../../src/storage/ports.js';

const NOW = new Date('2024-05-01T12:00:00.000Z');

function hook(input: Record<string, unknown>): Hook {
  return {
    ...parseHookInput(input),
    id: 'hook_1',
    source: '/hooks/hook_1',
    secretHash: '0'.repeat(64),
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
}

async function map(
  h: Hook,
  body: string,
  contentType: string | undefined = 'application/json',
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
  maxEventBytes = 1_048_576,
) {
  const raw = Buffer.from(body);
  const parsed = await parseHookBody(raw, contentType);
  return mapToEvent(h, { headers, query, body: raw, parsed }, NOW, maxEventBytes);
}

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UnmappableBodyError) return { status: error.status, errors: error.errors };
    throw error;
  }
  throw new Error('expected a 422');
}

describe('field paths', () => {
  it('reads dotted paths and JSON pointers, and only own properties', () => {
    const body = { order: { id: 'o1', items: [{ sku: 'A' }] }, 'a.b': 1 };
    expect(readField(body, parseFieldPath('order.items.0.sku')!)).toBe('A');
    expect(readField(body, parseFieldPath('/a.b')!)).toBe(1);
    expect(readField(body, parseFieldPath('order.constructor')!)).toBeUndefined();
    expect(readField(body, parseFieldPath('order.items.x')!)).toBeUndefined();
    expect(parseFieldPath('a..b')).toBeUndefined();
    expect(pointerOf(['a/b', 'c~d'])).toBe('/a~1b/c~0d');
  });
});

describe('the event a hook makes', () => {
  it('takes type, subject, partition key and id from fields, and the body as data', async () => {
    const h = hook({
      type: 'com.acme.order.created',
      subjectField: 'order.id',
      partitionKeyField: 'customer',
      idField: 'order.id',
    });
    const event = await map(h, '{"order":{"id":42},"customer":"c-7"}');
    expect(event).toEqual({
      specversion: '1.0',
      id: '42',
      source: '/hooks/hook_1',
      type: 'com.acme.order.created',
      time: NOW.toISOString(),
      hookid: 'hook_1',
      subject: '42',
      partitionkey: 'c-7',
      datacontenttype: 'application/json',
      data: { order: { id: 42 }, customer: 'c-7' },
    });
  });

  it('takes the type from a field or header with a prefix, the fixed type when it is absent', async () => {
    const byField = hook({ type: 'com.acme.unknown', typeField: 'kind', typePrefix: 'com.acme.' });
    expect((await map(byField, '{"kind":"lead.created"}')).type).toBe('com.acme.lead.created');
    expect((await map(byField, '{}')).type).toBe('com.acme.unknown');
    const byHeader = hook({ typeHeader: 'X-GitHub-Event', typePrefix: 'com.github.' });
    expect((await map(byHeader, '{}', 'application/json', { 'x-github-event': 'push' })).type).toBe(
      'com.github.push',
    );
    expect(await refusal(map(byHeader, '{}'))).toMatchObject({
      errors: [{ pointer: '/headers/x-github-event' }],
    });
  });

  it('takes the id from idHeader, else a known idempotency header, else a hash of the request', async () => {
    const named = hook({ type: 't', idHeader: 'X-Delivery' });
    expect((await map(named, '{}', 'application/json', { 'x-delivery': 'd-1' })).id).toBe('d-1');
    const plain = hook({ type: 't' });
    expect((await map(plain, '{}', 'application/json', { 'idempotency-key': 'k-1' })).id).toBe('k-1');
    expect((await map(plain, '{}', 'application/json', { 'x-github-delivery': 'gh-1' })).id).toBe('gh-1');
    const a = await map(plain, '{"n":1}');
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect((await map(plain, '{"n":1}')).id).toBe(a.id);
    expect((await map(plain, '{"n":2}')).id).not.toBe(a.id);
    expect((await map(plain, '{"n":1}', 'application/json', {}, { tag: 'x' })).id).not.toBe(a.id);
  });

  it('refuses with 422 and the pointer a missing id field or an object where a string belongs', async () => {
    const h = hook({ type: 't', idField: 'order.id', subjectField: 'who' });
    expect(await refusal(map(h, '{"order":{}}'))).toEqual({
      status: 422,
      errors: [{ pointer: '/order/id', message: expect.stringMatching(/idField order\.id is missing/) }],
    });
    expect(await refusal(map(h, '{"order":{"id":"1"},"who":{"a":1}}'))).toMatchObject({
      errors: [{ pointer: '/who', message: expect.stringMatching(/not an object/) }],
    });
    expect(await refusal(map(h, '{"order":{"id":true}}'))).toMatchObject({
      errors: [{ pointer: '/order/id' }],
    });
    // A subject field that is absent is left out: subject is optional.
    expect((await map(h, '{"order":{"id":"1"}}')).subject).toBeUndefined();
  });

  it('makes the data with a JSONata mapping that reads $headers, $query and $hook', async () => {
    const h = hook({
      type: 't',
      mapping: '{ "email": lead.email, "via": $headers.`user-agent`, "tag": $query.tag, "hook": $hook.id }',
    });
    const event = await map(
      h,
      '{"lead":{"email":"a@b.c"}}',
      'application/json',
      { 'user-agent': 'Zapier' },
      { tag: 'x' },
    );
    expect(event.data).toEqual({ email: 'a@b.c', via: 'Zapier', tag: 'x', hook: 'hook_1' });
    const empty = hook({ type: 't', mapping: 'nothing.here' });
    expect(await refusal(map(empty, '{}'))).toMatchObject({
      errors: [{ message: expect.stringMatching(/produced nothing/) }],
    });
    const failing = hook({ type: 't', mapping: '$number("x") + {}' });
    expect((await refusal(map(failing, '{}'))).status).toBe(422);
  });

  it('keeps a text body as text/plain data, and carries a valid traceparent over', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const event = await map(hook({ type: 't' }), 'hello', 'text/plain', { traceparent });
    expect(event).toMatchObject({ datacontenttype: 'text/plain', data: 'hello', traceparent });
    expect(
      (await map(hook({ type: 't' }), '{}', 'application/json', { traceparent: 'nope' })).traceparent,
    ).toBeUndefined();
  });

  it('refuses an event over maxEventBytes with 413 naming the limit', async () => {
    await expect(
      map(hook({ type: 't' }), JSON.stringify({ s: 'x'.repeat(2000) }), 'application/json', {}, {}, 1000),
    ).rejects.toThrow(PayloadTooLargeError);
    await expect(
      map(hook({ type: 't' }), JSON.stringify({ s: 'x'.repeat(2000) }), 'application/json', {}, {}, 1000),
    ).rejects.toThrow(/at most 1000 bytes \(maxEventBytes\)/);
  });
});

describe('presets', () => {
  it('zapier: unflattens a form the way Zapier unflattens JSON, so both payload types agree', async () => {
    const h = hook({ preset: 'zapier', type: 't' });
    const form = await map(
      h,
      'lead__email=a%40b.c&lead__name=Ann&plain=1',
      'application/x-www-form-urlencoded',
    );
    const json = await map(h, '{"lead":{"email":"a@b.c","name":"Ann"},"plain":"1"}');
    expect(form.data).toEqual(json.data);
  });

  it('ifttt: value1..value3 from JSON, a form or the query string; other JSON kept whole', async () => {
    const h = hook({ preset: 'ifttt', type: 'com.ifttt.trigger' });
    expect((await map(h, '{"value1":"a","value2":"b","value3":"c","extra":1}')).data).toEqual({
      value1: 'a',
      value2: 'b',
      value3: 'c',
    });
    expect((await map(h, 'value1=a', 'application/x-www-form-urlencoded')).data).toEqual({
      value1: 'a',
      value2: null,
      value3: null,
    });
    expect((await map(h, '', undefined, {}, { value2: 'q' })).data).toEqual({
      value1: null,
      value2: 'q',
      value3: null,
    });
    expect((await map(h, '{"any":"shape"}')).data).toEqual({ any: 'shape' });
  });

  it("airtable: the type, subject and partition key default to the ping's ids", async () => {
    const h = hook({ preset: 'airtable' });
    const event = await map(
      h,
      '{"base":{"id":"appX"},"webhook":{"id":"achY"},"timestamp":"2024-03-06T00:32:58.992Z"}',
    );
    expect(event).toMatchObject({
      type: 'com.airtable.webhook.notification',
      subject: 'achY',
      partitionkey: 'appX',
    });
  });
});
