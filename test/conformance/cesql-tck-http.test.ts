/**
 * The CloudEvents SQL TCK through `POST /v1/expressions/evaluate` of the real hub process: every
 * case answers 200 with the result and the error kind the files expect, a parse error included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casesOf, eventOf, required, TCK_DIR, tckDir, tckFiles } from '../helpers/cesql-tck.js';
import { type HubProcess, startHub } from '../helpers/server.js';

let hub: HubProcess;

describe.skipIf(tckDir === undefined && !required)(`CESQL TCK over HTTP (${TCK_DIR})`, () => {
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('answers every case as the TCK expects', async () => {
    expect(tckDir, `${TCK_DIR} not found`).toBeDefined();
    let cases = 0;
    for (const file of tckFiles) {
      for (const test of casesOf(file)) {
        const res = await hub.fetch('/v1/expressions/evaluate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ dialect: 'sql', expression: test.expression, event: eventOf(test) }),
        });
        expect(res.status, `${file}: ${test.name}`).toBe(200);
        const answer = (await res.json()) as { result: unknown; error: { kind: string } | null };
        expect(answer.error?.kind ?? null, `${file}: ${test.name}: error`).toBe(test.error ?? null);
        if ('result' in test)
          expect(answer.result, `${file}: ${test.name}: result`).toStrictEqual(test.result);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(200);
  });
});
