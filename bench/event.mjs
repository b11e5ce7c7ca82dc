/**
 * The benchmark event: a realistic ~1 KiB structured CloudEvent (an order with lines), built once
 * as text around its id, so making a fresh request costs one string concatenation.
 */

/**
 * A builder for structured-mode bodies of about `targetBytes` bytes, whose id (and, where given,
 * `data.sentAt`) change per request.
 *
 * @example
 * const make = eventTemplate({ source: '/bench/ingest', type: 'com.acme.order.created' });
 * make('run-1') // => '{"specversion":"1.0","id":"run-1",...}'
 */
export function eventTemplate({ source, type, targetBytes = 1024, withSentAt = false }) {
  const data = {
    sentAt: withSentAt ? 0 : undefined,
    orderId: 'ord_01J9ZK4W7Q3M5X8N2P6R',
    customer: { id: 'cus_8842', email: 'jane.doe@example.com', tier: 'gold', region: 'eu' },
    currency: 'EUR',
    total: 249.9,
    lines: [
      { sku: 'SKU-1001', name: 'Espresso beans 1kg', qty: 2, price: 39.95 },
      { sku: 'SKU-2042', name: 'Burr grinder', qty: 1, price: 129.0 },
      { sku: 'SKU-3007', name: 'Milk jug 600ml', qty: 1, price: 41.0 },
    ],
    shipping: {
      method: 'express',
      address: { line1: '12 Canal Street', city: 'Amsterdam', postcode: '1012AB', country: 'NL' },
    },
    note: '',
  };
  const envelope = {
    specversion: '1.0',
    id: '\u0000ID\u0000',
    source,
    type,
    subject: 'orders/ord_01J9ZK4W7Q3M5X8N2P6R',
    time: '2025-01-01T12:00:00.000Z',
    datacontenttype: 'application/json',
    data,
  };
  // Pad `note` so a typical body (id of ~20 characters, 13-digit sentAt) is about targetBytes.
  const probe = JSON.stringify(envelope)
    .replace('\u0000ID\u0000', 'x'.repeat(20))
    .replace('"sentAt":0', `"sentAt":${Date.now()}`);
  data.note = 'n'.repeat(Math.max(0, targetBytes - Buffer.byteLength(probe)));
  const text = JSON.stringify(envelope);
  const [head, rest] = text.split('\\u0000ID\\u0000');
  if (!withSentAt) return (id) => `${head}${id}${rest}`;
  const [mid, tail] = rest.split('"sentAt":0');
  return (id, sentAt) => `${head}${id}${mid}"sentAt":${sentAt}${tail}`;
}
