/**
 * Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{timestamp}.{body}`
 * keyed with the secret's base64 part. Signed with node:crypto over the raw body bytes: the
 * `standardwebhooks` package decodes bodies to strings (wrong for binary data) and hashes in
 * JavaScript, which costs more than the send at thousands of deliveries a second. The tests verify
 * our output with that package.
 */
import { createHmac } from 'node:crypto';

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
