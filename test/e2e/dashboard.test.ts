/**
 * The dashboard in a real browser against the real hub process and real HTTP sinks: sign in (a wrong
 * key first), create a subscription with the form, publish, watch the delivery in the lineage view,
 * make the sink fail, find the dead letter, redrive it once the sink is back, and see it delivered.
 * Each step leaves a screenshot in test-artifacts/e2e/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';
import { type Browser, browserAvailable, launchBrowser } from './browser.js';

const TYPE = 'com.acme.order.created';
const SOURCE = '/e2e/shop';

describe.skipIf(!browserAvailable())('dashboard', () => {
  let hub: HubProcess;
  let sink: Sink;
  let browser: Browser;

  beforeAll(async () => {
    [hub, sink, browser] = await Promise.all([startHub(), startSink(), launchBrowser()]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), sink?.close(), hub?.stop()]);
  });

  /** Opens an event's lineage through the events search. */
  async function openLineage(id: string): Promise<void> {
    const { page } = browser;
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByLabel('Type').fill(TYPE);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: id, exact: true }).waitFor();
    await browser.screenshot(`events-search-${id}`);
    await page.getByRole('link', { name: id, exact: true }).click();
    await page.getByRole('heading', { name: `Lineage of ${id}` }).waitFor();
  }

  /** The status badge of the (only) delivery in the lineage view. */
  const deliveryStatus = () => browser.page.getByRole('article').getByRole('heading', { level: 3 });

  it('signs in, creates a subscription, and follows a delivery to dead letter and back', async () => {
    const { page, screenshot } = browser;
    await page.goto(`${hub.url}/`);

    // A wrong key is refused with the hub's reason, and nothing is stored.
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .getByText(/the API key is not valid/)
      .waitFor();
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await screenshot('01-sign-in-refused');

    await page.getByLabel('API key').fill(hub.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    await screenshot('02-overview');

    // The form: a field error from the hub shows next to its field, then a good subscription.
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByRole('button', { name: 'New subscription' }).click();
    await page.getByLabel('Sink URL').fill('ftp://127.0.0.1/hook');
    await page.getByLabel('Event types').fill(TYPE);
    await page.getByRole('button', { name: 'Add filter' }).click();
    await page.getByLabel('Attribute 1').fill('subject');
    await page.getByLabel('Match 1').selectOption('prefix');
    await page.getByLabel('Value 1').fill('orders/');
    await page.getByLabel('Max attempts').fill('2');
    await page.getByLabel('First retry delay (ms)').fill('100');
    await page.getByLabel('Longest retry delay (ms)').fill('200');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page
      .locator('.field-error')
      .getByText(/sink must be an http or https URL/)
      .waitFor();
    await screenshot('03-subscription-field-error');

    await page.getByLabel('Sink URL').fill(sink.url);
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('heading', { name: /^Subscription sub_/ }).waitFor();
    await page.getByText(/signing secret, shown this once/).waitFor();
    const subscriptionId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
    const created = (await (await hub.fetch(`/v1/subscriptions/${subscriptionId}`)).json()) as {
      types: string[];
      filters: unknown[];
      delivery: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
    };
    expect(created.types).toEqual([TYPE]);
    expect(created.filters).toEqual([{ prefix: { subject: 'orders/' } }]);
    expect(created.delivery).toMatchObject({ maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200 });
    await screenshot('04-subscription-created');

    // Publish by HTTP; the lineage view shows the delivery arrive with its attempt.
    await hub.publish({ source: SOURCE, id: 'order-1', type: TYPE, subject: 'orders/1', data: { total: 5 } });
    await openLineage('order-1');
    await deliveryStatus().getByText('delivered', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByRole('cell', { name: '200', exact: true }).waitFor();
    expect(sink.received).toHaveLength(1);
    await screenshot('05-lineage-delivered');

    // The sink fails: two attempts, then a dead letter.
    sink.respond((_req, res) => res.writeHead(500).end('sink down'));
    await hub.publish({ source: SOURCE, id: 'order-2', type: TYPE, subject: 'orders/2', data: { total: 7 } });
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
    const redrive = page.getByRole('button', { name: 'Redrive order-2' });
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return redrive.isVisible();
      },
      20_000,
      'the dead letter of order-2 in the list',
    );
    await page.getByRole('cell', { name: /gave up after 2 attempts/ }).waitFor();
    await screenshot('06-dead-letter');

    await page.getByRole('link', { name: `${TYPE} order-2` }).click();
    await deliveryStatus().getByText('dead', { exact: true }).waitFor();
    await page.getByRole('cell', { name: 'sink down' }).first().waitFor();
    await screenshot('07-lineage-dead');

    // The sink recovers; redrive from the list and see the delivery made.
    sink.respond((_req, res) => res.writeHead(200).end('ok again'));
    await page.goBack();
    await redrive.click();
    await page.getByRole('status').getByText('Redriven: 1').waitFor();
    await screenshot('08-redriven');
    await page.getByRole('link', { name: `${TYPE} order-2` }).waitFor({ state: 'detached' });

    await openLineage('order-2');
    await deliveryStatus().getByText('delivered', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByRole('cell', { name: 'ok again' }).waitFor();
    await screenshot('09-lineage-redelivered');

    // The overview counts what just happened: two events in, two delivered, two failed attempts, one dead.
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByText(/2 ingested, 2 delivered, 2 failed attempts, 1 dead/).waitFor({ timeout: 15_000 });
    expect(await page.locator('figure canvas').count()).toBe(3);
    await page.getByRole('cell', { name: 'Nothing pending.' }).waitFor();
    await screenshot('09b-overview');

    // order-2 reached the sink three times (two failures, then the redrive), always as one webhook-id.
    const order2 = sink.received.slice(1);
    expect(order2).toHaveLength(3);
    expect(new Set(order2.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  /** Opens `path` under /ui signed in, whatever the tests before left behind. */
  async function openSignedIn(path: string): Promise<void> {
    const { page } = browser;
    await page.goto(`${hub.url}/ui/`);
    await page.evaluate(`sessionStorage.setItem('junction.apiKey', ${JSON.stringify(hub.key)})`);
    await page.goto(`${hub.url}/ui${path}`);
  }

  it('redrives a selection and a whole subscription, discards, edits, tests and deletes', async () => {
    const { page, screenshot } = browser;
    const type = 'com.acme.invoice.sent';
    const failing = await startSink((_req, res) => res.writeHead(503).end('busy'));
    try {
      const { id } = await hub.subscribe({ sink: failing.url, types: [type], delivery: { maxAttempts: 1 } });
      for (const n of [1, 2, 3]) await hub.publish({ source: SOURCE, id: `inv-${n}`, type, data: { n } });

      // A deep link straight to one subscription's dead letters.
      await openSignedIn(`/dead-letters?subscription=${id}`);
      for (const n of [1, 2, 3]) {
        await waitFor(
          async () => {
            await page.getByRole('button', { name: 'Refresh' }).click();
            return page.getByRole('button', { name: `Redrive inv-${n}` }).isVisible();
          },
          20_000,
          `the dead letter of inv-${n}`,
        );
      }
      failing.respond((_req, res) => res.writeHead(204).end());
      await page.getByLabel('Select inv-1').check();
      await page.getByRole('button', { name: 'Discard selected' }).click();
      await page.getByRole('status').getByText('Discarded: 1').waitFor();
      await page.getByLabel('Select inv-2').check();
      await page.getByRole('button', { name: 'Redrive selected' }).click();
      await page.getByRole('status').getByText('Redriven: 1').waitFor();
      await page.getByRole('button', { name: 'Redrive all of this subscription' }).click();
      await page.getByRole('status').getByText('Redriven: 1').waitFor();
      await page.getByText('No dead letters.').waitFor();
      await screenshot('11-dead-letters-acted-on');
      await waitFor(
        async () => {
          const res = await hub.fetch(`/v1/subscriptions/${id}/deliveries?status=delivered`);
          return ((await res.json()) as { items: unknown[] }).items.length === 2;
        },
        15_000,
        'inv-2 and inv-3 delivered after their redrive',
      );
      const discarded = await hub.fetch(`/v1/subscriptions/${id}/deliveries?status=discarded`);
      const gone = (await discarded.json()) as { items: { event: { id: string } }[] };
      expect(gone.items.map((d) => d.event.id)).toEqual(['inv-1']);

      // One subscription: a test event reaches the sink, and the breaker and counts are shown.
      await page.goto(`${hub.url}/ui/subscriptions/${id}`);
      await page.getByRole('heading', { name: `Subscription ${id}` }).waitFor();
      await page.getByRole('button', { name: 'Send a test event' }).click();
      await page
        .getByRole('status')
        .getByText(/^Test delivered: HTTP 204 in [\d.]+ ms/)
        .waitFor();
      const breaker = page.getByRole('table', { name: 'Circuit breaker' });
      expect(await breaker.getByRole('row', { name: /^state/ }).textContent()).toContain('closed');
      expect(await page.getByRole('table', { name: 'Deliveries by status' }).textContent()).toContain(
        'discarded1',
      );
      await screenshot('12-subscription');

      // Edit: a CESQL error is shown at its field, then the edit is saved.
      await page.getByRole('button', { name: 'Edit' }).click();
      await page.getByLabel('Max attempts').fill('5');
      await page.getByLabel('CESQL expression').fill('subject LIKE');
      await page.getByRole('button', { name: 'Save subscription' }).click();
      await page.locator('label', { hasText: 'CESQL expression' }).locator('.field-error').waitFor();
      await screenshot('13-subscription-edit-error');
      await page.getByLabel('CESQL expression').fill("subject LIKE 'invoices/%'");
      await page.getByRole('button', { name: 'Save subscription' }).click();
      await page.getByRole('button', { name: 'Edit' }).waitFor();
      const edited = (await (await hub.fetch(`/v1/subscriptions/${id}`)).json()) as {
        filters: unknown[];
        delivery: { maxAttempts: number };
      };
      expect(edited.filters).toEqual([{ sql: "subject LIKE 'invoices/%'" }]);
      expect(edited.delivery.maxAttempts).toBe(5);

      // Delete asks first.
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
      expect((await hub.fetch(`/v1/subscriptions/${id}`)).status).toBe(404);
    } finally {
      await failing.close();
    }
  });

  it("shows a contract's versions, a schema, and the diff between two versions", async () => {
    const { page, screenshot } = browser;
    const type = 'com.acme.customer.updated';
    const v1 = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
    const v2 = { ...v1, properties: { id: { type: 'string', description: 'the CRM customer id' } } };
    for (const schema of [v1, v2]) {
      const res = await hub.fetch(`/v1/schemas/${type}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema }),
      });
      expect(res.status).toBe(201);
    }
    await openSignedIn('/contracts');
    await page.getByRole('link', { name: type }).click();
    await page.getByRole('heading', { name: 'Schema of version 2' }).waitFor();
    await page.getByRole('button', { name: 'Version 1' }).click();
    await page.getByRole('heading', { name: 'Schema of version 1' }).waitFor();
    expect(await page.locator('pre.json').first().textContent()).not.toContain('CRM customer');
    await page.getByLabel('From version').selectOption('1');
    await page.getByLabel('To version').selectOption('2');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByText(/Backward compatible: yes/).waitFor();
    expect(await page.locator('pre.json').last().textContent()).toContain('the CRM customer id');
    await screenshot('14-contract-diff');
  });

  it('goes back to sign-in with a message when the key stops working', async () => {
    const { page, screenshot } = browser;
    // A string runs in the page: the test's own tsconfig has no DOM types.
    await page.evaluate(`sessionStorage.setItem('junction.apiKey', 'revoked-key')`);
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page
      .getByRole('alert')
      .getByText(/Signed out: the API key is not valid/)
      .waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(`sessionStorage.getItem('junction.apiKey')`)).toBeNull();
    await screenshot('10-signed-out');
  });
});
