/**
 * A real HTTP sink on a loopback port that records every request and answers as the test says.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** Decides the answer to one request; the default is 200. */
export type Responder = (req: Received, res: ServerResponse, index: number) => void;

export interface Sink {
  url: string;
  received: Received[];
  respond(fn: Responder): void;
  close(): Promise<void>;
}

export async function startSink(responder?: Responder): Promise<Sink> {
  const received: Received[] = [];
  let respond: Responder = responder ?? ((_req, res) => res.writeHead(200).end('ok'));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      received.push(r);
      respond(r, res, received.length - 1);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    respond(fn) {
      respond = fn;
    },
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
