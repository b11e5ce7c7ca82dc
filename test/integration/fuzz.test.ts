/**
 * Sends at least 10,000 random and mutated requests at one real hub process and checks the promise
 * every bad request is owed: never a 5xx, always a 4xx problem+json that names the status and says
 * what to change, nothing stored for a rejected event, everything stored for an accepted one, and a
 * process still up at the end. Set FUZZ_SEED to replay a run; the seed is in every failure message.
 */
import { STATUS_CODES } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventKey, FuzzGenerator, type FuzzRequest, Rng } from '../helpers/fuzz-gen.js';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

// The issue asks for at least 10,000; FUZZ_REQUESTS can only raise it.
const REQUESTS = Math.max(10_000, Number(process.env.FUZZ_REQUESTS ?? 0));
const IN_FLIGHT = 16;
const SPOT_CHECKS = 300;
// CI replays fixed seeds so that main stays green for a known reason; a local run explores a new one.
const SEED = Number(process.env.FUZZ_SEED ?? (process.env.CI ? 20261126 : Date.now() % 2 ** 32));

interface Failure {
  n: number;
  kind: string;
  request: string;
  status: number | string;
  problem: string;
  response: string;
}

let hub: HubProcess;
let sink: Sink;
let fixedSubscriptionId: string;

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
  fixedSubscriptionId = (await hub.subscribe({ sink: sink.url, delivery: { maxAttempts: 1 } })).id;
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

const key = (k: EventKey) => JSON.stringify([k.source, k.id]);

function describeRequest(req: FuzzRequest): string {
  const body = req.body ?? Buffer.alloc(0);
  const excerpt =
    body.length > 200
      ? `${body.subarray(0, 200).toString('latin1')}… (${body.length} bytes)`
      : body.toString('latin1');
  const headers = Object.entries(req.headers)
    .map(([n, v]) => `${n}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`)
    .join(' | ');
  const path = req.path.length > 200 ? `${req.path.slice(0, 200)}…(${req.path.length})` : req.path;
  return `${req.method} ${path}${req.auth ? ` [auth ${req.auth}]` : ''} {${headers}} ${JSON.stringify(excerpt)}`;
}

/** Why a 4xx body is not a proper problem, or undefined when it is. */
function problemDefect(status: number, contentType: string, text: string): string | undefined {
  if (!contentType.startsWith('application/problem+json'))
    return `content-type is '${contentType}', not application/problem+json`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'body is not an object';
  const p = body as Record<string, unknown>;
  if (typeof p.type !== 'string' || p.type === '') return 'no type';
  if (typeof p.title !== 'string' || p.title === '') return 'no title';
  if (p.status !== status) return `status field ${String(p.status)} differs from HTTP status ${status}`;
  if (typeof p.detail !== 'string' || p.detail.trim() === '') return 'no detail';
  // A detail that only repeats the reason phrase ("Unsupported Media Type") says nothing to change.
  if (p.detail.trim().toLowerCase() === STATUS_CODES[status]?.toLowerCase())
    return `detail only repeats the status text: '${p.detail}'`;
  if (p.errors !== undefined) {
    if (!Array.isArray(p.errors) || p.errors.length === 0) return 'errors is not a non-empty array';
    for (const e of p.errors as unknown[]) {
      const fe = e as { pointer?: unknown; message?: unknown } | null;
      if (typeof fe?.pointer !== 'string' || typeof fe.message !== 'string' || fe.message === '') {
        return `malformed errors entry ${JSON.stringify(e)}`;
      }
    }
  }
  return undefined;
}

describe('fuzzing the HTTP API', () => {
  it(`answers ${REQUESTS} random and mutated requests without a 5xx, a crash or a half-stored event`, async () => {
    const started = Date.now();
    const gen = new FuzzGenerator(new Rng(SEED), SEED.toString(36), sink.url, fixedSubscriptionId);
    const failures: Failure[] = [];
    const accepted = new Map<string, EventKey>();
    const rejected = new Map<string, EventKey>();
    const statuses = new Map<number, number>();
    let sent = 0;

    const fail = (n: number, req: FuzzRequest, status: number | string, problem: string, response: string) =>
      failures.push({
        n,
        kind: req.kind,
        request: describeRequest(req),
        status,
        problem,
        response: response.slice(0, 300),
      });

    async function send(n: number, req: FuzzRequest): Promise<void> {
      const headers = new Headers(req.headers);
      if (req.auth === 'none') headers.set('authorization', '');
      if (req.auth === 'wrong') headers.set('authorization', 'Bearer not-the-key');
      let res: Response;
      let text: string;
      try {
        res = await hub.fetch(req.path, {
          method: req.method,
          headers,
          ...(req.body ? { body: req.body } : {}),
        });
        text = await res.text();
      } catch (error) {
        fail(
          n,
          req,
          'network error',
          `fetch failed: ${(error as Error).message} (${String((error as Error).cause)})`,
          '',
        );
        if (req.method === 'POST' && req.path === '/v1/events')
          for (const k of req.candidates) rejected.set(key(k), k);
        return;
      }
      const status = res.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const isIngest = req.method === 'POST' && req.path === '/v1/events';
      if (status >= 500) fail(n, req, status, '5xx', text);
      else if (status >= 400) {
        const defect = problemDefect(status, res.headers.get('content-type') ?? '', text);
        if (defect) fail(n, req, status, `bad problem: ${defect}`, text);
        if (status === 401 && !res.headers.get('www-authenticate'))
          fail(n, req, status, '401 without www-authenticate', text);
      } else if (![200, 201, 202].includes(status)) fail(n, req, status, 'unexpected status', text);
      else if (req.auth) fail(n, req, status, 'a request without a valid key succeeded', text);

      if (isIngest) {
        if (status === 202) {
          try {
            const body = JSON.parse(text) as { events: Array<EventKey & { status: string }> };
            for (const e of body.events) {
              if (e.status !== 'accepted' && e.status !== 'duplicate')
                fail(n, req, status, `event status ${e.status}`, text);
              accepted.set(key(e), { source: e.source, id: e.id });
            }
          } catch {
            fail(n, req, status, '202 body is not {"events": [...]}', text);
          }
        } else if (status !== 202) {
          if (status < 300) fail(n, req, status, 'POST /v1/events answered a 2xx other than 202', text);
          for (const k of req.candidates) rejected.set(key(k), k);
        }
      }
      // Subscriptions the fuzz creates would make every later event fan out further; remove them.
      if (status === 201 && req.path === '/v1/subscriptions') {
        const id = (JSON.parse(text) as { id?: string }).id;
        if (id)
          await (
            await hub.fetch(`/v1/subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE' })
          ).arrayBuffer();
      }
    }

    // Requests are generated in order from the seed, whatever order the answers come back in.
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const n = next++;
        await send(n, gen.next());
        sent++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const fuzzMs = Date.now() - started;

    // Every accepted event is stored; no rejected one is, unless another request accepted it.
    const pickSample = <T>(items: T[]): T[] => {
      const out: T[] = [];
      const copy = [...items];
      while (out.length < SPOT_CHECKS && copy.length > 0)
        out.push(copy.splice(gen.rng.int(copy.length), 1)[0]!);
      return out;
    };
    const lookupFailures: string[] = [];
    const lookup = (k: EventKey) =>
      hub.fetch(`/v1/events/lookup?${new URLSearchParams({ source: k.source, id: k.id })}`);
    // Node limits the request line and headers to 16 KiB, so an event with a huge id cannot be looked up.
    const lookable = (k: EventKey) =>
      new URLSearchParams({ source: k.source, id: k.id }).toString().length < 8000;
    const acceptedKeys = [...accepted.values()];
    for (const k of pickSample(acceptedKeys.filter(lookable))) {
      const res = await lookup(k);
      const body = (await res.json()) as { event?: EventKey };
      if (res.status !== 200 || body.event?.id !== k.id || body.event?.source !== k.source) {
        lookupFailures.push(`accepted ${key(k)} but lookup answered ${res.status}`);
      }
    }
    const neverAccepted = [...rejected.values()].filter((k) => !accepted.has(key(k)));
    for (const k of pickSample(neverAccepted.filter(lookable))) {
      const res = await lookup(k);
      await res.arrayBuffer();
      if (res.status !== 404) lookupFailures.push(`rejected ${key(k)} but lookup answered ${res.status}`);
    }

    const health = await fetch(`${hub.url}/healthz`);
    const alive = hub.proc.exitCode === null && hub.proc.signalCode === null;

    const summary =
      `seed ${SEED} (rerun with FUZZ_SEED=${SEED}); ${sent} requests in ${fuzzMs} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
      `${accepted.size} events accepted, ${neverAccepted.length} rejected and never accepted`;
    console.log(`fuzz: ${summary}`);

    // One line per distinct (kind, status, problem), with the first request that showed it.
    const distinct = new Map<string, { first: Failure; count: number }>();
    for (const f of failures) {
      const k = `${f.kind} ${f.status} ${f.problem}`;
      const seen = distinct.get(k);
      if (seen) seen.count++;
      else distinct.set(k, { first: f, count: 1 });
    }
    const report = [...distinct.entries()].map(
      ([k, { first, count }]) => `${count}× ${k}\n    #${first.n} ${first.request}\n    -> ${first.response}`,
    );
    // The hub logs each 500 with its stack; the distinct causes say more than the identical bodies.
    const causes = new Map<string, number>();
    for (const line of hub.output().split('\n')) {
      const m = /"message":"([^"]*)","stack":"[^\\]*((?:\\n\s*at [^\\]*){1,3})/.exec(line);
      if (!m || !line.includes('unhandled error')) continue;
      const cause = `${m[1]} ${m[2]!.replace(/\\n\s*at /g, ' < ').replace(/file:\/\/\S*\/dist\//g, 'dist/')}`;
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
    if (causes.size > 0)
      report.push(`hub log, unhandled errors: ${JSON.stringify(Object.fromEntries(causes), null, 1)}`);

    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect.soft(failures.length, `${summary}\n${report.join('\n')}`).toBe(0);
    expect.soft(lookupFailures, summary).toEqual([]);
    expect.soft(health.status, `GET /healthz after the run; ${summary}`).toBe(200);
    expect.soft(alive, `the hub process exited:\n${hub.output().slice(-2000)}`).toBe(true);
  }, 90_000);
});
