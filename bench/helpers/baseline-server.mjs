/**
 * The ingest baseline: a bare node:http server that reads the whole body and answers 202 with a
 * small JSON, shaped like Junction's answer so the same response check passes. It does no parsing,
 * validation or storage, so it bounds what any Node.js HTTP ingest endpoint can do on this machine.
 */
import { createServer } from 'node:http';

const reply = Buffer.from(JSON.stringify({ events: [{ source: '/bench', id: 'x', status: 'accepted' }] }));

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    res.writeHead(bytes > 0 ? 202 : 400, {
      'content-type': 'application/json',
      'content-length': reply.length,
    });
    res.end(reply);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
