import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSecret } from '../../src/core/ids.js';
import { signWebhook } from '../../src/delivery/signing.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

function headers(id: string, ts: number, signature: string) {
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
}

describe('signWebhook', () => {
  it('produces a signature the standardwebhooks package verifies', () => {
    const secret = newSecret();
    const body = '{"type":"com.acme.order.created","data":{"total":120}}';
    const ts = nowSeconds();
    const signature = signWebhook([secret], 'msg_1', ts, Buffer.from(body));
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers('msg_1', ts, signature))).toEqual({
      type: 'com.acme.order.created',
      data: { total: 120 },
    });
  });

  it('matches the standardwebhooks signature exactly', () => {
    const secret = newSecret();
    const body = '{"a":1}';
    const ts = 1_714_564_800;
    expect(signWebhook([secret], 'msg_x', ts, Buffer.from(body))).toBe(
      new Webhook(secret).sign('msg_x', new Date(ts * 1000), body),
    );
  });

  it('matches the Standard Webhooks reference vector', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signature = signWebhook(
      [secret],
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      Buffer.from('{"test": 2432232314}'),
    );
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs the raw bytes of a non-ASCII UTF-8 body', () => {
    const secret = newSecret();
    const body = '{"name":"Zoë Ångström","city":"München","note":"注文 🚀","rtl":"שלום"}';
    const bytes = Buffer.from(body, 'utf8');
    expect(bytes.length).toBeGreaterThan(body.length);
    const ts = nowSeconds();
    const signature = signWebhook([secret], 'msg_utf8', ts, bytes);
    const wh = new Webhook(secret);
    expect(wh.verify(body, headers('msg_utf8', ts, signature))).toEqual(JSON.parse(body));
    expect(wh.verify(bytes, headers('msg_utf8', ts, signature))).toEqual(JSON.parse(body));
    // A body decoded as latin1 is a different payload and must not verify.
    expect(() => wh.verify(bytes.toString('latin1'), headers('msg_utf8', ts, signature))).toThrow();
  });

  it('signs with every secret during a rotation; either one alone verifies', () => {
    const newer = newSecret();
    const older = newSecret();
    const body = '{"id":"evt_1"}';
    const ts = nowSeconds();
    const signature = signWebhook([newer, older], 'msg_rot', ts, Buffer.from(body));
    const parts = signature.split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(signWebhook([newer], 'msg_rot', ts, Buffer.from(body)));
    expect(parts[1]).toBe(signWebhook([older], 'msg_rot', ts, Buffer.from(body)));
    for (const secret of [newer, older]) {
      expect(new Webhook(secret).verify(body, headers('msg_rot', ts, signature))).toEqual({ id: 'evt_1' });
    }
    expect(() => new Webhook(newSecret()).verify(body, headers('msg_rot', ts, signature))).toThrow();
  });

  it('does not verify when the id, timestamp, body or secret differ', () => {
    const secret = newSecret();
    const body = '{"n":1}';
    const ts = nowSeconds();
    const signature = signWebhook([secret], 'msg_a', ts, Buffer.from(body));
    const wh = new Webhook(secret);
    expect(() => wh.verify(body, headers('msg_b', ts, signature))).toThrow();
    expect(() => wh.verify(body, headers('msg_a', ts + 1, signature))).toThrow();
    expect(() => wh.verify('{"n":2}', headers('msg_a', ts, signature))).toThrow();
    expect(() => new Webhook(newSecret()).verify(body, headers('msg_a', ts, signature))).toThrow();
  });

  it('accepts a secret without the whsec_ prefix as the same key', () => {
    const secret = newSecret();
    const body = Buffer.from('{}');
    expect(signWebhook([secret.slice('whsec_'.length)], 'msg', 1, body)).toBe(
      signWebhook([secret], 'msg', 1, body),
    );
  });

  it('signs an empty body and returns nothing for no secrets', () => {
    const secret = newSecret();
    const ts = nowSeconds();
    const signature = signWebhook([secret], 'msg_e', ts, Buffer.alloc(0));
    expect(() => new Webhook(secret).verify('', headers('msg_e', ts, signature))).not.toThrow();
    expect(signWebhook([], 'msg_e', ts, Buffer.from('{}'))).toBe('');
  });

  it('keeps nothing per secret: signing with many secrets does not grow the heap', () => {
    // A cache keyed by secret grew by one entry for every secret ever used, rotated ones included.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const body = Buffer.from('{}');
    const secrets = Array.from({ length: 100_000 }, () => `whsec_${randomBytes(24).toString('base64')}`);
    const sign = (from: number, to: number) => {
      for (let i = from; i < to; i++) signWebhook([secrets[i]!], 'msg', 1, body);
    };
    sign(0, 1_000); // warm up, so that compiled code and pools are counted in the baseline
    gc();
    const before = process.memoryUsage().heapUsed;
    sign(1_000, secrets.length);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(4 * 1024 * 1024);
    const secret = secrets[7]!;
    const ts = nowSeconds();
    const signature = signWebhook([secret], 'msg_gc', ts, body);
    expect(new Webhook(secret).verify('{}', headers('msg_gc', ts, signature))).toEqual({});
  });
});
