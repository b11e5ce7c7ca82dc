import { describe, expect, it } from 'vitest';
import { presetSettings, recognisePreset, SLACK_TEXT_TEMPLATE } from '../../src/adapters/presets.js';
import { DEFAULT_DELIVERY_POLICY, DELIVERY_BOUNDS } from '../../src/core/config.js';
import type { FieldError } from '../../src/core/errors.js';
import { ValidationError } from '../../src/core/errors.js';
import { parseSubscriptionInput, withPolicyDefaults } from '../../src/routing/subscription-input.js';
import type { Subscription } from '../../src/storage/ports.js';

const SINK = 'https://crm.example.com/hooks/orders';

/** The field errors parseSubscriptionInput throws for `body`; fails the test when it does not throw one. */
function errorsOf(body: unknown): FieldError[] {
  try {
    parseSubscriptionInput(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).errors ?? [];
  }
  throw new Error('expected a ValidationError');
}

const pointersOf = (body: unknown) => errorsOf(body).map((e) => e.pointer);

describe('parseSubscriptionInput: defaults', () => {
  it('fills every default from DEFAULT_DELIVERY_POLICY for a minimal body', () => {
    const input = parseSubscriptionInput({ sink: SINK });
    expect(input).toEqual({
      types: [],
      filters: [],
      sink: SINK,
      protocol: 'HTTP',
      protocolsettings: {},
      delivery: DEFAULT_DELIVERY_POLICY,
    });
    expect(input.delivery).not.toBe(DEFAULT_DELIVERY_POLICY);
    expect('status' in input).toBe(false);
  });

  it('does not share or change the default policy object', () => {
    const before = { ...DEFAULT_DELIVERY_POLICY };
    const input = parseSubscriptionInput({ sink: SINK, delivery: { maxAttempts: 3 } });
    expect(input.delivery).toEqual({ ...before, maxAttempts: 3 });
    expect(DEFAULT_DELIVERY_POLICY).toEqual(before);
  });

  it('keeps given settings and fills the others', () => {
    const input = parseSubscriptionInput({
      id: 'sub_ignored',
      status: 'disabled',
      types: ['com.acme.order.created', 'com.acme.order.updated', 'com.acme.order.created'],
      filters: [{ prefix: { subject: 'orders/' } }],
      sink: 'http://localhost:9000/x',
      protocol: 'HTTP',
      protocolsettings: { headers: { 'X-Team': 'crm' }, method: 'put' },
      delivery: { format: 'webhook', timeoutMs: 5_000, initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    expect(input).toEqual({
      types: ['com.acme.order.created', 'com.acme.order.updated'],
      filters: [{ prefix: { subject: 'orders/' } }],
      sink: 'http://localhost:9000/x',
      protocol: 'HTTP',
      protocolsettings: { headers: { 'x-team': 'crm' }, method: 'PUT' },
      delivery: {
        ...DEFAULT_DELIVERY_POLICY,
        format: 'webhook',
        timeoutMs: 5_000,
        initialDelayMs: 100,
        maxDelayMs: 1_000,
      },
      status: 'disabled',
    });
  });

  it('accepts every bound exactly', () => {
    for (const [key, [min, max]] of Object.entries(DELIVERY_BOUNDS)) {
      const extra =
        key === 'initialDelayMs' ? { maxDelayMs: max } : key === 'maxDelayMs' ? { initialDelayMs: 0 } : {};
      expect(
        parseSubscriptionInput({ sink: SINK, delivery: { ...extra, [key]: min } }).delivery[
          key as 'timeoutMs'
        ],
      ).toBe(min);
      expect(
        parseSubscriptionInput({ sink: SINK, delivery: { ...extra, [key]: max } }).delivery[
          key as 'timeoutMs'
        ],
      ).toBe(max);
    }
  });

  it('accepts every format', () => {
    for (const format of ['binary', 'structured', 'webhook']) {
      expect(parseSubscriptionInput({ sink: SINK, delivery: { format } }).delivery.format).toBe(format);
    }
  });
});

describe('parseSubscriptionInput: errors', () => {
  it('rejects a body that is not an object, at the root pointer', () => {
    for (const body of [null, 'x', [], 3, undefined]) expect(pointersOf(body)).toEqual(['']);
  });

  it('requires a sink', () => {
    expect(pointersOf({})).toEqual(['/sink']);
    expect(pointersOf({ sink: '' })).toEqual(['/sink']);
    expect(pointersOf({ sink: 42 })).toEqual(['/sink']);
    expect(errorsOf({})[0]!.message).toMatch(/required/);
  });

  it('rejects a sink that is not a URL', () => {
    const errors = errorsOf({ sink: 'crm.example.com/hooks' });
    expect(errors).toEqual([{ pointer: '/sink', message: expect.stringMatching(/not a URL/) }]);
    expect(pointersOf({ sink: '/relative/path' })).toEqual(['/sink']);
  });

  it('rejects a sink that is not http or https', () => {
    for (const sink of [
      'ftp://files.example.com/x',
      'mailto:ops@example.com',
      'file:///etc/passwd',
      'ws://example.com',
    ]) {
      const errors = errorsOf({ sink });
      expect(errors).toHaveLength(1);
      expect(errors[0]!.pointer).toBe('/sink');
      expect(errors[0]!.message).toMatch(/http or https/);
    }
  });

  it('rejects credentials in the sink URL', () => {
    for (const sink of [
      'https://user:pass@example.com/x',
      'https://user@example.com/x',
      'https://:pw@example.com/',
    ]) {
      const errors = errorsOf({ sink });
      expect(errors).toEqual([{ pointer: '/sink', message: expect.stringMatching(/credentials/) }]);
    }
  });

  it('rejects protocols it does not know', () => {
    for (const protocol of ['KAFKA', 'http', 'amqp', 1, '']) {
      expect(pointersOf({ sink: SINK, protocol })).toEqual(['/protocol']);
    }
    expect(parseSubscriptionInput({ sink: SINK, protocol: 'HTTP' }).protocol).toBe('HTTP');
  });

  it('rejects types that are not an array of non-empty strings', () => {
    expect(pointersOf({ sink: SINK, types: 'com.acme.x' })).toEqual(['/types']);
    expect(pointersOf({ sink: SINK, types: {} })).toEqual(['/types']);
    expect(pointersOf({ sink: SINK, types: ['a', '', 3, null, 'b'] })).toEqual([
      '/types/1',
      '/types/2',
      '/types/3',
    ]);
  });

  it('reports filter problems at their pointers, unknown dialects included', () => {
    expect(pointersOf({ sink: SINK, filters: [{ regex: { subject: '.*' } }] })).toEqual(['/filters/0/regex']);
    expect(pointersOf({ sink: SINK, filters: [{ exact: { subject: 'x' } }, { jq: '.a == 1' }] })).toEqual([
      '/filters/1/jq',
    ]);
    expect(pointersOf({ sink: SINK, filters: [{ exact: { subject: 'x' } }, { sql: 'a = ' }] })).toEqual([
      '/filters/1/sql',
    ]);
    expect(pointersOf({ sink: SINK, filters: { exact: {} } })).toEqual(['/filters']);
    expect(pointersOf({ sink: SINK, filters: [{ all: [{ prefix: { subject: '' } }] }] })).toEqual([
      '/filters/0/all/0/prefix/subject',
    ]);
  });

  it('rejects headers the hub sets, whatever their case', () => {
    const reserved = [
      'webhook-id',
      'Webhook-Signature',
      'webhook-timestamp',
      'ce-id',
      'CE-Type',
      'content-type',
      'Content-Length',
      'host',
      'transfer-encoding',
      'connection',
      'traceparent',
      'tracestate',
    ];
    const headers = Object.fromEntries(reserved.map((h) => [h, 'x']));
    const errors = errorsOf({ sink: SINK, protocolsettings: { headers } });
    expect(errors.map((e) => e.pointer)).toEqual(reserved.map((h) => `/protocolsettings/headers/${h}`));
    for (const e of errors) expect(e.message).toMatch(/set by the hub/);
  });

  it('accepts ordinary headers that only resemble reserved ones', () => {
    const headers = { 'x-webhook-id': 'a', 'x-content-type': 'b', authorization: 'Bearer t', hostname: 'c' };
    expect(
      parseSubscriptionInput({ sink: SINK, protocolsettings: { headers } }).protocolsettings.headers,
    ).toEqual(headers);
  });

  it('rejects bad header names and values', () => {
    expect(
      pointersOf({
        sink: SINK,
        protocolsettings: { headers: { 'bad name': 'x', 'x-num': 1, 'x-crlf': 'a\r\nb: c', 'x-nul': 'a\0' } },
      }),
    ).toEqual([
      '/protocolsettings/headers/bad name',
      '/protocolsettings/headers/x-num',
      '/protocolsettings/headers/x-crlf',
      '/protocolsettings/headers/x-nul',
    ]);
    expect(pointersOf({ sink: SINK, protocolsettings: { headers: ['x'] } })).toEqual([
      '/protocolsettings/headers',
    ]);
  });

  it('rejects header values outside visible ASCII, naming the header and the rule', () => {
    const bad = {
      'x-euro': 'price in €',
      'x-latin1': 'café',
      'x-del': 'a\x7fb',
      'x-vt': 'a\vb',
      'x-cr': 'a\rb',
      'x-emoji': '🚀',
    };
    const errors = errorsOf({ sink: SINK, protocolsettings: { headers: bad } });
    expect(errors.map((e) => e.pointer)).toEqual(
      Object.keys(bad).map((h) => `/protocolsettings/headers/${h}`),
    );
    for (const e of errors) expect(e.message).toMatch(/visible ASCII/);
  });

  it('accepts header values of visible ASCII, spaces and tabs, including empty ones', () => {
    const headers = {
      authorization: 'Bearer a.b-c_d~e+f/g=',
      'x-tab': 'a\tb',
      'x-all': ' !~',
      'x-empty': '',
    };
    expect(
      parseSubscriptionInput({ sink: SINK, protocolsettings: { headers } }).protocolsettings.headers,
    ).toEqual(headers);
  });

  it('rejects hop-by-hop and framing headers, whatever their case', () => {
    const names = [
      'Connection',
      'keep-alive',
      'Proxy-Connection',
      'transfer-encoding',
      'Upgrade',
      'expect',
      'TE',
      'trailer',
      'Host',
      'content-length',
    ];
    const headers = Object.fromEntries(names.map((h) => [h, 'x']));
    const errors = errorsOf({ sink: SINK, protocolsettings: { headers } });
    expect(errors.map((e) => e.pointer)).toEqual(names.map((h) => `/protocolsettings/headers/${h}`));
    for (const e of errors) expect(e.message).toMatch(/cannot be set/);
  });

  it('checks protocolsettings shape and method', () => {
    expect(pointersOf({ sink: SINK, protocolsettings: 'x' })).toEqual(['/protocolsettings']);
    expect(pointersOf({ sink: SINK, protocolsettings: { method: 'GET' } })).toEqual([
      '/protocolsettings/method',
    ]);
    expect(pointersOf({ sink: SINK, protocolsettings: { method: 1 } })).toEqual(['/protocolsettings/method']);
    expect(pointersOf({ sink: SINK, protocolsettings: { timeout: 5 } })).toEqual([
      '/protocolsettings/timeout',
    ]);
    expect(
      parseSubscriptionInput({ sink: SINK, protocolsettings: { method: 'patch' } }).protocolsettings,
    ).toEqual({
      method: 'PATCH',
    });
  });

  it('rejects unknown delivery settings', () => {
    const errors = errorsOf({ sink: SINK, delivery: { retries: 3, maxAttemps: 5 } });
    expect(errors.map((e) => e.pointer)).toEqual(['/delivery/retries', '/delivery/maxAttemps']);
    expect(errors[0]!.message).toMatch(/unknown delivery setting 'retries'/);
    expect(pointersOf({ sink: SINK, delivery: 'fast' })).toEqual(['/delivery']);
    expect(pointersOf({ sink: SINK, delivery: [] })).toEqual(['/delivery']);
  });

  it('rejects delivery setting names that exist on Object.prototype as unknown settings', () => {
    // A JSON body can name any key; keys such as "constructor" must be reported like any unknown
    // setting, not crash the parser with a TypeError (which would surface as a 500).
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const body = JSON.parse(`{"sink":"${SINK}","delivery":{"${key}":5}}`);
      expect(pointersOf(body), key).toEqual([`/delivery/${key}`]);
    }
  });

  it('rejects delivery values out of bounds or not whole numbers', () => {
    for (const [key, [min, max]] of Object.entries(DELIVERY_BOUNDS)) {
      for (const value of [min - 1, max + 1, 1.5, '5', null, true]) {
        const extra = key === 'initialDelayMs' ? { maxDelayMs: max } : {};
        const errors = errorsOf({ sink: SINK, delivery: { ...extra, [key]: value } });
        expect(
          errors.map((e) => e.pointer),
          `${key}=${String(value)}`,
        ).toContain(`/delivery/${key}`);
        expect(errors.find((e) => e.pointer === `/delivery/${key}`)!.message).toContain(
          `from ${min} to ${max}`,
        );
      }
    }
    expect(pointersOf({ sink: SINK, delivery: { maxAttempts: 0 } })).toEqual(['/delivery/maxAttempts']);
    expect(pointersOf({ sink: SINK, delivery: { maxAttempts: 101 } })).toEqual(['/delivery/maxAttempts']);
  });

  it('rejects an unknown format and an initial delay above the maximum', () => {
    expect(pointersOf({ sink: SINK, delivery: { format: 'xml' } })).toEqual(['/delivery/format']);
    expect(pointersOf({ sink: SINK, delivery: { initialDelayMs: 10_000, maxDelayMs: 5_000 } })).toEqual([
      '/delivery/initialDelayMs',
    ]);
    // The default maxDelayMs (an hour) bounds a larger initialDelayMs too.
    expect(pointersOf({ sink: SINK, delivery: { initialDelayMs: 2 * 60 * 60 * 1000 } })).toEqual([
      '/delivery/initialDelayMs',
    ]);
  });

  it('rejects an unknown status', () => {
    expect(pointersOf({ sink: SINK, status: 'paused' })).toEqual(['/status']);
  });

  it('rejects unknown top-level fields, pointing at each', () => {
    const errors = errorsOf({ sink: SINK, secret: 'whsec_x', maxAttempts: 3 });
    expect(errors.map((e) => e.pointer)).toEqual(['/secret', '/maxAttempts']);
    expect(errors[0]!.message).toMatch(/under 'delivery'/);
  });

  it('reports every invalid field together in one ValidationError', () => {
    let thrown: unknown;
    try {
      parseSubscriptionInput({
        extra: true,
        sink: 'ftp://example.com/x',
        protocol: 'KAFKA',
        types: [''],
        filters: [{ glob: {} }],
        protocolsettings: { headers: { 'webhook-id': 'x' } },
        delivery: { unknown: 1, maxAttempts: 0 },
        status: 'x',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid-input');
    expect(error.errors!.map((e) => e.pointer)).toEqual([
      '/extra',
      '/protocol',
      '/sink',
      '/types/0',
      '/filters/0/glob',
      '/protocolsettings/headers/webhook-id',
      '/delivery/unknown',
      '/delivery/maxAttempts',
      '/status',
    ]);
    expect(error.message).toContain('9 invalid field(s)');
    for (const e of error.errors!) expect(e.message.length).toBeGreaterThan(0);
  });
});

const delivery = (d: unknown) => parseSubscriptionInput({ sink: SINK, delivery: d }).delivery;
const deliveryErrors = (d: unknown) => errorsOf({ sink: SINK, delivery: d });

describe('parseSubscriptionInput: rate limit', () => {
  it('takes a rate limit and fills burst and concurrency', () => {
    expect(delivery({ rateLimit: { perSecond: 10, burst: 20, concurrency: 5 } }).rateLimit).toEqual({
      perSecond: 10,
      burst: 20,
      concurrency: 5,
    });
    expect(delivery({ rateLimit: { perSecond: 2.5 } }).rateLimit).toEqual({
      perSecond: 2.5,
      burst: 3,
      concurrency: null,
    });
    expect(delivery({ rateLimit: { perSecond: 0.5, concurrency: null } }).rateLimit).toEqual({
      perSecond: 0.5,
      burst: 1,
      concurrency: null,
    });
    expect(
      delivery({ rateLimit: { perSecond: 10_000, burst: 10_000, concurrency: 1000 } }).rateLimit,
    ).toEqual({
      perSecond: 10_000,
      burst: 10_000,
      concurrency: 1000,
    });
    expect(delivery({ rateLimit: null }).rateLimit).toBeNull();
  });

  it('reports each bad rate limit value at its pointer', () => {
    for (const perSecond of [0, -1, 10_001, '5', null, Number.NaN, undefined]) {
      const errors = deliveryErrors({ rateLimit: { perSecond } });
      expect(errors, String(perSecond)).toEqual([
        {
          pointer: '/delivery/rateLimit/perSecond',
          message: expect.stringMatching(/above 0 and at most 10000/),
        },
      ]);
    }
    for (const burst of [0, 10_001, 1.5, '2', null]) {
      expect(deliveryErrors({ rateLimit: { perSecond: 1, burst } }), String(burst)).toEqual([
        { pointer: '/delivery/rateLimit/burst', message: 'burst must be a whole number from 1 to 10000' },
      ]);
    }
    for (const concurrency of [0, 1001, 2.5, 'x']) {
      expect(deliveryErrors({ rateLimit: { perSecond: 1, concurrency } }), String(concurrency)).toEqual([
        {
          pointer: '/delivery/rateLimit/concurrency',
          message: 'concurrency must be a whole number from 1 to 1000',
        },
      ]);
    }
  });

  it('rejects unknown rate limit keys and a rate limit that is not an object', () => {
    expect(deliveryErrors({ rateLimit: { perSecond: 1, perMinute: 60 } })).toEqual([
      {
        pointer: '/delivery/rateLimit/perMinute',
        message: "unknown rate limit setting 'perMinute'; use perSecond, burst or concurrency",
      },
    ]);
    for (const rateLimit of [10, 'fast', [], true]) {
      expect(deliveryErrors({ rateLimit }).map((e) => e.pointer)).toEqual(['/delivery/rateLimit']);
    }
  });
});

describe('parseSubscriptionInput: ordering, onDead and disableAfterMs', () => {
  it('takes ordering and onDead', () => {
    expect(delivery({ ordering: 'partition', onDead: 'block' })).toMatchObject({
      ordering: 'partition',
      onDead: 'block',
    });
    expect(delivery({ ordering: 'partition' })).toMatchObject({ ordering: 'partition', onDead: 'skip' });
    expect(delivery({ ordering: 'none', onDead: 'skip' })).toMatchObject({
      ordering: 'none',
      onDead: 'skip',
    });
  });

  it('rejects unknown values', () => {
    expect(deliveryErrors({ ordering: 'fifo' })).toEqual([
      { pointer: '/delivery/ordering', message: expect.stringMatching(/'none' or 'partition'/) },
    ]);
    expect(deliveryErrors({ onDead: 'drop' })).toEqual([
      { pointer: '/delivery/onDead', message: expect.stringMatching(/'skip' .* or 'block'/) },
    ]);
  });

  it("rejects onDead 'block' without ordering 'partition'", () => {
    for (const d of [{ onDead: 'block' }, { onDead: 'block', ordering: 'none' }]) {
      expect(deliveryErrors(d)).toEqual([
        {
          pointer: '/delivery/onDead',
          message: expect.stringMatching(/only applies with ordering 'partition'/),
        },
      ]);
    }
  });

  it('bounds disableAfterMs', () => {
    expect(delivery({ disableAfterMs: 60_000 }).disableAfterMs).toBe(60_000);
    expect(deliveryErrors({ disableAfterMs: 9_999 }).map((e) => e.pointer)).toEqual([
      '/delivery/disableAfterMs',
    ]);
  });

  it('names the new settings among the known ones', () => {
    expect(deliveryErrors({ order: 'partition' })[0]!.message).toMatch(
      /known: format, rateLimit, ordering, onDead, batch, .*disableAfterMs/,
    );
  });
});

describe('parseSubscriptionInput: batch', () => {
  it('fills omitted batch limits', () => {
    expect(delivery({ batch: {} }).batch).toEqual({ maxEvents: 100, maxWaitMs: 1000, maxBytes: 1048576 });
    expect(delivery({ batch: { maxEvents: 1, maxWaitMs: 0, maxBytes: 1024 } }).batch).toEqual({
      maxEvents: 1,
      maxWaitMs: 0,
      maxBytes: 1024,
    });
    expect(delivery({ batch: { maxEvents: 1000, maxWaitMs: 60_000, maxBytes: 10_485_760 } }).batch).toEqual({
      maxEvents: 1000,
      maxWaitMs: 60_000,
      maxBytes: 10_485_760,
    });
    expect(delivery({ batch: null }).batch).toBeNull();
  });

  it('reports each bad batch value at its pointer', () => {
    expect(deliveryErrors({ batch: { maxEvents: 0, maxWaitMs: 60_001, maxBytes: 1023, size: 5 } })).toEqual([
      { pointer: '/delivery/batch/maxEvents', message: 'maxEvents must be a whole number from 1 to 1000' },
      { pointer: '/delivery/batch/maxWaitMs', message: 'maxWaitMs must be a whole number from 0 to 60000' },
      {
        pointer: '/delivery/batch/maxBytes',
        message: 'maxBytes must be a whole number from 1024 to 10485760',
      },
      {
        pointer: '/delivery/batch/size',
        message: "unknown batch setting 'size'; use maxEvents, maxWaitMs or maxBytes",
      },
    ]);
    expect(deliveryErrors({ batch: { maxEvents: 1001 } }).map((e) => e.pointer)).toEqual([
      '/delivery/batch/maxEvents',
    ]);
    expect(deliveryErrors({ batch: { maxBytes: 10_485_761 } }).map((e) => e.pointer)).toEqual([
      '/delivery/batch/maxBytes',
    ]);
    for (const batch of [true, 100, [], 'x']) {
      expect(deliveryErrors({ batch }).map((e) => e.pointer)).toEqual(['/delivery/batch']);
    }
  });

  it("rejects batch with format 'webhook'", () => {
    expect(deliveryErrors({ format: 'webhook', batch: {} })).toEqual([
      {
        pointer: '/delivery/format',
        message: expect.stringMatching(/use binary or structured, or remove batch/),
      },
    ]);
    expect(delivery({ format: 'webhook', batch: null }).format).toBe('webhook');
    expect(delivery({ format: 'structured', batch: {} }).batch).not.toBeNull();
  });
});

describe('outbound presets', () => {
  const SLACK = 'https://hooks.slack.com/services/T000/B000/XXXX';
  const SLACK_LIMIT = { perSecond: 1, burst: 1, concurrency: 1 };

  it('recognises each tool by the host of its webhook URL, and nothing else', () => {
    expect(recognisePreset(SLACK)).toBe('slack');
    expect(recognisePreset('https://HOOKS.SLACK.COM./x')).toBe('slack');
    expect(recognisePreset('https://hooks.zapier.com/hooks/catch/123/abc/')).toBe('zapier');
    expect(recognisePreset('https://hook.eu1.make.com/abcdef')).toBe('make');
    expect(recognisePreset('https://hook.integromat.com/abcdef')).toBe('make');
    expect(recognisePreset('https://acme.app.n8n.cloud/webhook/orders')).toBe('n8n');
    expect(
      recognisePreset(
        'https://prod-12.westeurope.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke',
      ),
    ).toBe('power-automate');
    expect(recognisePreset('https://slack.com/x')).toBeUndefined();
    expect(recognisePreset('https://hooks.slack.com.evil.example/x')).toBeUndefined();
    expect(recognisePreset('https://hooks.zapier.com.evil.example/x')).toBeUndefined();
    expect(recognisePreset(SINK)).toBeUndefined();
    expect(recognisePreset('not a url')).toBeUndefined();
  });

  it('gives a copy each time', () => {
    const a = presetSettings('slack');
    a.rateLimit!.perSecond = 100;
    expect(presetSettings('slack').rateLimit!.perSecond).toBe(1);
  });

  it('fills in what the request leaves out from the recognised preset, and records it', () => {
    const slack = parseSubscriptionInput({ sink: SLACK }).delivery;
    expect(slack).toMatchObject({ preset: 'slack', format: 'binary', transform: SLACK_TEXT_TEMPLATE });
    expect(slack.rateLimit).toEqual(SLACK_LIMIT);
    expect(parseSubscriptionInput({ sink: SLACK, delivery: { maxAttempts: 3 } }).delivery.rateLimit).toEqual(
      SLACK_LIMIT,
    );
    const zap = parseSubscriptionInput({ sink: 'https://hooks.zapier.com/hooks/catch/1/a/' }).delivery;
    expect(zap).toMatchObject({ preset: 'zapier', format: 'webhook', timeoutMs: 30_000 });
    expect(parseSubscriptionInput({ sink: SINK }).delivery).toMatchObject({ preset: null, format: 'binary' });
  });

  it('takes a named preset for any URL (a self-hosted n8n), and null for none', () => {
    const n8n = parseSubscriptionInput({ sink: SINK, delivery: { preset: 'n8n' } }).delivery;
    expect(n8n).toMatchObject({ preset: 'n8n', format: 'webhook', timeoutMs: 120_000, retryOn: [404] });
    const none = parseSubscriptionInput({ sink: SLACK, delivery: { preset: null } }).delivery;
    expect(none).toMatchObject({ preset: null, format: 'binary', transform: null, rateLimit: null });
  });

  it('lets an explicit setting replace the preset, and null turn its rate limit off', () => {
    expect(
      parseSubscriptionInput({ sink: SLACK, delivery: { rateLimit: { perSecond: 0.5 } } }).delivery.rateLimit,
    ).toEqual({ perSecond: 0.5, burst: 1, concurrency: null });
    expect(
      parseSubscriptionInput({ sink: SLACK, delivery: { rateLimit: null } }).delivery.rateLimit,
    ).toBeNull();
    const own = parseSubscriptionInput({ sink: SLACK, delivery: { transform: '{"blocks": []}' } }).delivery;
    expect(own.transform).toBe('{"blocks": []}');
    expect(
      parseSubscriptionInput({ sink: SINK, delivery: { preset: 'n8n', retryOn: [] } }).delivery.retryOn,
    ).toEqual([]);
  });

  it('refuses an unknown preset and retryOn statuses it cannot honour, naming the field', () => {
    const errorsOf = (delivery: unknown) => {
      try {
        parseSubscriptionInput({ sink: SINK, delivery });
        return [];
      } catch (error) {
        return (error as ValidationError).errors!.map((e) => e.pointer);
      }
    };
    expect(errorsOf({ preset: 'ifttt' })).toEqual(['/delivery/preset']);
    expect(errorsOf({ retryOn: [410] })).toEqual(['/delivery/retryOn']);
    expect(errorsOf({ retryOn: [429] })).toEqual(['/delivery/retryOn']);
    expect(errorsOf({ retryOn: [500] })).toEqual(['/delivery/retryOn']);
    expect(errorsOf({ retryOn: '404' })).toEqual(['/delivery/retryOn']);
    expect(
      parseSubscriptionInput({ sink: SINK, delivery: { retryOn: [409, 404, 404] } }).delivery.retryOn,
    ).toEqual([404, 409]);
  });
});

describe('withPolicyDefaults', () => {
  const stored = {
    id: 'sub_1',
    status: 'active',
    statusReason: null,
    types: [],
    filters: [],
    sink: SINK,
    protocol: 'HTTP',
    protocolsettings: {},
    // A policy saved before rate limits, ordering, batching and disableAfterMs existed.
    delivery: {
      format: 'webhook',
      timeoutMs: 5000,
      maxAttempts: 3,
      maxAgeMs: 60_000,
      initialDelayMs: 100,
      maxDelayMs: 1000,
      maxRetryAfterMs: 1000,
    },
    secrets: ['whsec_x'],
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  } as unknown as Subscription;

  it('fills the missing delivery settings and failingSince', () => {
    const sub = withPolicyDefaults(stored);
    expect(sub).toEqual({
      ...stored,
      delivery: { ...DEFAULT_DELIVERY_POLICY, ...stored.delivery },
      failingSince: null,
    });
    expect(sub.delivery.timeoutMs).toBe(5000);
    expect(sub.delivery.ordering).toBe('none');
    expect(stored.failingSince).toBeUndefined();
  });

  it('keeps settings and failingSince that are there', () => {
    const full: Subscription = {
      ...stored,
      delivery: {
        ...DEFAULT_DELIVERY_POLICY,
        rateLimit: null,
        ordering: 'partition',
        disableAfterMs: 60_000,
      },
      failingSince: '2026-01-02T00:00:00Z',
    };
    expect(withPolicyDefaults(full)).toEqual(full);
  });

  it('gives an old Slack subscription the preset rate limit, but not one saved with rateLimit null', () => {
    const slack = { ...stored, sink: 'https://hooks.slack.com/services/T/B/X' } as Subscription;
    expect(withPolicyDefaults(slack).delivery.rateLimit).toEqual({ perSecond: 1, burst: 1, concurrency: 1 });
    const off = { ...slack, delivery: { ...slack.delivery, rateLimit: null } } as Subscription;
    expect(withPolicyDefaults(off).delivery.rateLimit).toBeNull();
  });
});
