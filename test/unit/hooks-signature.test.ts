/**
 * Signature checks of inbound hooks, each against a request signed the way its sender signs:
 * GitHub, Shopify, Slack, Stripe, Standard Webhooks and Airtable.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/adapters/hooks/errors.js';
import { parseHookInput } from '../../src/adapters/hooks/input.js';
import { verifyAirtableMac, verifySignature } from '../../src/adapters/hooks/signature.js';
import type { HookSigning } from '../../src/storage/ports.js';

const body = Buffer.from('{"action":"opened","number":7}');
const NOW = 1_700_000_000_000;
const nowS = NOW / 1000;
const mac = (alg: string, key: string | Buffer, data: string | Buffer) => createHmac(alg, key).update(data);

/** The signing config as the admin API would store it. */
function signing(raw: Record<string, unknown>): HookSigning {
  return parseHookInput({ preset: 'signed', type: 't', signing: raw }).signing!;
}

function reason(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SignatureError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('HMAC of the body in a header', () => {
  it('verifies GitHub: X-Hub-Signature-256: sha256=<hex>', () => {
    const s = signing({ secret: 'gh', header: 'X-Hub-Signature-256', prefix: 'sha256=' });
    const good = `sha256=${mac('sha256', 'gh', body).digest('hex')}`;
    expect(reason(() => verifySignature(s, { 'x-hub-signature-256': good }, body, NOW))).toBeUndefined();
    const tampered = Buffer.from('{"action":"closed","number":7}');
    expect(reason(() => verifySignature(s, { 'x-hub-signature-256': good }, tampered, NOW))).toBe(
      'bad-signature',
    );
    expect(reason(() => verifySignature(s, {}, body, NOW))).toBe('missing-signature');
    // The digest without its prefix is not the header GitHub sends.
    const bare = mac('sha256', 'gh', body).digest('hex');
    expect(reason(() => verifySignature(s, { 'x-hub-signature-256': bare }, body, NOW))).toBe(
      'bad-signature',
    );
  });

  it('verifies Shopify: X-Shopify-Hmac-Sha256: <base64>', () => {
    const s = signing({ secret: 'shp', header: 'X-Shopify-Hmac-Sha256', encoding: 'base64' });
    const good = mac('sha256', 'shp', body).digest('base64');
    expect(reason(() => verifySignature(s, { 'x-shopify-hmac-sha256': good }, body, NOW))).toBeUndefined();
    const hex = mac('sha256', 'shp', body).digest('hex');
    expect(reason(() => verifySignature(s, { 'x-shopify-hmac-sha256': hex }, body, NOW))).toBe(
      'bad-signature',
    );
  });

  it('verifies sha1 and sha512, and refuses the right digest under the wrong algorithm', () => {
    const s1 = signing({ secret: 'k', header: 'X-Hub-Signature', prefix: 'sha1=', algorithm: 'sha1' });
    const sig1 = `sha1=${mac('sha1', 'k', body).digest('hex')}`;
    expect(reason(() => verifySignature(s1, { 'x-hub-signature': sig1 }, body, NOW))).toBeUndefined();
    const s512 = signing({ secret: 'k', header: 'X-Sig', algorithm: 'sha512' });
    const sig512 = mac('sha512', 'k', body).digest('hex');
    expect(reason(() => verifySignature(s512, { 'x-sig': sig512 }, body, NOW))).toBeUndefined();
    expect(reason(() => verifySignature(s512, { 'x-sig': sig1.slice(5) }, body, NOW))).toBe('bad-signature');
  });

  it('verifies Slack: v0=<hex> of v0:<timestamp>:<body>, within the tolerance', () => {
    const s = signing({
      secret: 'slack',
      header: 'X-Slack-Signature',
      prefix: 'v0=',
      timestampHeader: 'X-Slack-Request-Timestamp',
      payload: 'v0:{timestamp}:{body}',
      toleranceSeconds: 300,
    });
    const sign = (t: number) => `v0=${mac('sha256', 'slack', `v0:${t}:${body}`).digest('hex')}`;
    const headers = (t: number) => ({ 'x-slack-signature': sign(t), 'x-slack-request-timestamp': String(t) });
    expect(reason(() => verifySignature(s, headers(nowS - 10), body, NOW))).toBeUndefined();
    expect(reason(() => verifySignature(s, headers(nowS - 301), body, NOW))).toBe('stale-timestamp');
    expect(reason(() => verifySignature(s, headers(nowS + 301), body, NOW))).toBe('stale-timestamp');
    expect(reason(() => verifySignature(s, { 'x-slack-signature': sign(nowS) }, body, NOW))).toBe(
      'missing-timestamp',
    );
    // A fresh timestamp with a signature made for another one is a forgery.
    const forged = { 'x-slack-signature': sign(nowS - 10), 'x-slack-request-timestamp': String(nowS) };
    expect(reason(() => verifySignature(s, forged, body, NOW))).toBe('bad-signature');
  });
});

describe('Stripe-Signature: t=…,v1=…', () => {
  const s = signing({ scheme: 'stripe', secret: 'whsec_stripe', toleranceSeconds: 300 });
  const header = (t: number, ...secrets: string[]) =>
    [
      `t=${t}`,
      ...secrets.map((k) => `v1=${mac('sha256', k, `${t}.${body}`).digest('hex')}`),
      'v0=ignored',
    ].join(',');

  it('takes a signature of t.body made with the secret, any v1 matching', () => {
    expect(
      reason(() => verifySignature(s, { 'stripe-signature': header(nowS, 'whsec_stripe') }, body, NOW)),
    ).toBeUndefined();
    const rotating = header(nowS, 'whsec_old', 'whsec_stripe');
    expect(reason(() => verifySignature(s, { 'stripe-signature': rotating }, body, NOW))).toBeUndefined();
  });

  it('refuses another secret, an old timestamp, and a header without t', () => {
    expect(reason(() => verifySignature(s, { 'stripe-signature': header(nowS, 'other') }, body, NOW))).toBe(
      'bad-signature',
    );
    expect(
      reason(() => verifySignature(s, { 'stripe-signature': header(nowS - 600, 'whsec_stripe') }, body, NOW)),
    ).toBe('stale-timestamp');
    expect(reason(() => verifySignature(s, { 'stripe-signature': 'v1=abc' }, body, NOW))).toBe(
      'missing-timestamp',
    );
    expect(reason(() => verifySignature(s, {}, body, NOW))).toBe('missing-signature');
  });

  it('defaults the id to the event id field, as Stripe events carry one', () => {
    expect(
      parseHookInput({ preset: 'signed', type: 't', signing: { scheme: 'stripe', secret: 'x' } }).idField,
    ).toBe('id');
  });
});

describe('Standard Webhooks', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  const s = signing({ scheme: 'standard-webhooks', secret, toleranceSeconds: 60 });

  it('verifies what the standardwebhooks library signs, and applies the hook tolerance', () => {
    const signed = (at: number) => ({
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(at),
      'webhook-signature': new Webhook(secret).sign('msg_1', new Date(at * 1000), body),
    });
    expect(reason(() => verifySignature(s, signed(nowS), body, NOW))).toBeUndefined();
    expect(reason(() => verifySignature(s, signed(nowS - 120), body, NOW))).toBe('stale-timestamp');
    const other = { ...signed(nowS), 'webhook-id': 'msg_2' };
    expect(reason(() => verifySignature(s, other, body, NOW))).toBe('bad-signature');
  });
});

describe('Airtable X-Airtable-Content-MAC', () => {
  const secret = Buffer.from('airtable-mac-secret-bytes');
  const secretBase64 = secret.toString('base64');
  const ping = Buffer.from(
    '{"base":{"id":"appX"},"webhook":{"id":"achY"},"timestamp":"2024-03-06T00:32:58.992Z"}',
  );

  it('verifies hmac-sha256=<hex> keyed with the decoded macSecretBase64 (base64 taken too)', () => {
    const hex = `hmac-sha256=${mac('sha256', secret, ping).digest('hex')}`;
    const b64 = `hmac-sha256=${mac('sha256', secret, ping).digest('base64')}`;
    expect(
      reason(() => verifyAirtableMac(secretBase64, { 'x-airtable-content-mac': hex }, ping)),
    ).toBeUndefined();
    expect(
      reason(() => verifyAirtableMac(secretBase64, { 'x-airtable-content-mac': b64 }, ping)),
    ).toBeUndefined();
  });

  it('refuses a MAC keyed with the base64 text itself, a missing header, and another body', () => {
    const wrongKey = `hmac-sha256=${mac('sha256', secretBase64, ping).digest('hex')}`;
    expect(reason(() => verifyAirtableMac(secretBase64, { 'x-airtable-content-mac': wrongKey }, ping))).toBe(
      'bad-signature',
    );
    expect(reason(() => verifyAirtableMac(secretBase64, {}, ping))).toBe('missing-signature');
    const hex = `hmac-sha256=${mac('sha256', secret, ping).digest('hex')}`;
    expect(reason(() => verifyAirtableMac(secretBase64, { 'x-airtable-content-mac': hex }, body))).toBe(
      'bad-signature',
    );
  });
});
