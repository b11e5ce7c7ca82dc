/**
 * A lean real HTTP sink for runs of a hundred thousand deliveries: it answers 200 and keeps, per
 * event id (`ce-id`, binary mode), only the `webhook-id` and `ce-junctionreplay` of each request it
 * answered. No bodies or header objects are kept, so its memory stays small whatever the volume.
 *
 * @example
 * const sink = await startTallySink();
 * // …replay to sink.url, wait…
 * expect(sink.tally.get('evt-1')).toEqual([{ webhookId: 'msg_…', replay: 'rpl_…' }]);
 */
import { createServer } from 'node:http';
import { listen } from './listen.js';

/**
 * One request answered 2xx: its `webhook-id`, its `ce-junctionreplay` ('' when it had none), and
 * when it arrived (epoch ms).
 */
export interface Receipt {
  webhookId: string;
  replay: string;
  at: number;
}

export interface TallySink {
  url: string;
  /** The receipts of each event id, in arrival order. */
  tally: Map<string, Receipt[]>;
  /** Requests received, repeats included. */
  requests(): number;
  /** Requests that carried no `ce-id` (they should not exist in binary mode). */
  unnamed(): number;
  close(): Promise<void>;
}

export async function startTallySink(): Promise<TallySink> {
  const tally = new Map<string, Receipt[]>();
  let requests = 0;
  let unnamed = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      const id = req.headers['ce-id'];
      if (typeof id !== 'string') {
        unnamed++;
        res.writeHead(200).end();
        return;
      }
      let receipts = tally.get(id);
      if (!receipts) {
        receipts = [];
        tally.set(id, receipts);
      }
      const webhookId = req.headers['webhook-id'];
      const replay = req.headers['ce-junctionreplay'];
      receipts.push({
        webhookId: typeof webhookId === 'string' ? webhookId : '',
        replay: typeof replay === 'string' ? replay : '',
        at: Date.now(),
      });
      res.writeHead(200).end();
    });
  });
  const listening = await listen(server);
  return {
    url: listening.url,
    tally,
    requests: () => requests,
    unnamed: () => unnamed,
    close: () =>
      new Promise<void>((resolve) => {
        void listening.close().then(resolve);
      }),
  };
}
