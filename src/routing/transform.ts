/**
 * Transforms: a subscription's JSONata expression reshapes each event's data for its destination
 * (a Slack message from an order, a flat record for a spreadsheet). It runs within the JSONata
 * budget; an expression that fails or overruns dead-letters the delivery with the reason.
 */
import { compiledExpression, evaluateWithin } from '../contracts/jsonata-budget.js';
import type { CloudEvent } from '../core/event.js';

export type TransformResult = { ok: true; event: CloudEvent } | { ok: false; reason: string };

export class Transforms {
  /** `maxBytes`: the largest result taken, as JSON; the hub's `maxEventBytes`. */
  constructor(private readonly maxBytes: number) {}

  /**
   * The event with its data replaced by the expression's result (JSON, `application/json`). The
   * input is the event's data; `$event` is the whole event. `dataschema` is dropped: the new data
   * follows no registered version.
   */
  async apply(expression: string, event: CloudEvent): Promise<TransformResult> {
    let data: unknown;
    try {
      const result = await evaluateWithin(compiledExpression(expression, '/delivery/transform'), event.data, {
        event,
      });
      // A JSON round trip leaves plain data, or fails here on a function in the result.
      const json = result === undefined ? undefined : JSON.stringify(result);
      if (json !== undefined && Buffer.byteLength(json) > this.maxBytes) {
        return {
          ok: false,
          reason: `the transform produced ${Buffer.byteLength(json)} bytes of data, over the limit of ${this.maxBytes} (maxEventBytes)`,
        };
      }
      data = json === undefined ? undefined : (JSON.parse(json) as unknown);
    } catch (error) {
      return { ok: false, reason: `the transform failed: ${(error as Error).message ?? String(error)}` };
    }
    if (data === undefined)
      return { ok: false, reason: 'the transform produced no data (its result was empty)' };
    const { data_base64: _binary, dataschema: _schema, ...rest } = event;
    return { ok: true, event: { ...rest, datacontenttype: 'application/json', data } };
  }
}
