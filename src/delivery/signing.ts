/**
 * Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{timestamp}.{body}`
 * keyed with the secret's base64 part. Signed with node:crypto over the raw body bytes: the
 * `standardwebhooks` package decodes bodies to strings (wrong for binary data) and hashes in
 * JavaScript, which costs more than the send at thousands of deliveries a second. The tests verify
 * our output with that package.
 */
import { createHmac } from 'node:crypto';
import type { EncodedMessage } from '../core/http-binding.js';
import { VERSION } from '../core/version.js';
import type { Subscription } from '../storage/ports.js';
import type { SinkRequest } from './sinks/router.js';

const USER_AGENT = `Junction/${VERSION}`;

/** Decoded on every call: base64 of a short key costs little next to the HMAC, and nothing is kept. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/**
 * The `webhook-signature` header value: one signature per secret, space-separated, so a consumer
 * keeps verifying while a secret is rotated.
 */
export function signWebhook(
  secrets: readonly string[],
  webhookId: string,
  timestampSeconds: number,
  body: Buffer,
): string {
  return secrets
    .map((secret) => {
      const hmac = createHmac('sha256', keyOf(secret));
      hmac.update(`${webhookId}.${timestampSeconds}.`);
      hmac.update(body);
      return `v1,${hmac.digest('base64')}`;
    })
    .join(' ');
}

/**
 * The request a delivery sends to a subscription's sink: its own headers, then the message's, then
 * the user agent and the signed Standard Webhooks headers, so a subscription cannot override them.
 * The dispatcher and the test send both build requests here, so a test event is signed exactly as
 * a delivery is.
 *
 * @example
 * sink.send(signedRequest(sub, encodeEvent(event, sub.delivery.format, receivedAt), webhookId, new Date()))
 */
export function signedRequest(
  sub: Subscription,
  message: EncodedMessage,
  webhookId: string,
  at: Date,
): SinkRequest {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    url: sub.sink,
    method: sub.protocolsettings.method ?? 'POST',
    headers: {
      ...sub.protocolsettings.headers,
      ...message.headers,
      'user-agent': USER_AGENT,
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(sub.secrets, webhookId, timestamp, message.body),
    },
    body: message.body,
    timeoutMs: sub.delivery.timeoutMs,
    protocol: sub.protocol,
    protocolsettings: sub.protocolsettings,
  };
}
