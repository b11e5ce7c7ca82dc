/**
 * Requests to inbound hooks: the secret, the preset's body limit, the signature, the body, the
 * mapping, then `hub.ingest`, so contracts, routing and durability apply exactly as for
 * `/v1/events`. The answer goes out once the event is durable. Each hook is read from the store
 * on every request: hooks are low volume, and a read is what keeps several processes in step.
 */
import { NotFoundError, PayloadTooLargeError, UnauthorizedError } from '../../core/errors.js';
import type { Hub } from '../../server/hub.js';
import type { Hook } from '../../storage/ports.js';
import { HookDisabledError, SignatureError } from './errors.js';
import { mapToEvent } from './mapping.js';
import type { HookMetrics } from './metrics.js';
import { PRESETS } from './presets.js';
import { hookUrl } from './public.js';
import { parseHookBody } from './request-body.js';
import { secretMatches } from './secrets.js';
import { headerValue, type RequestHeaders, verifyAirtableMac, verifySignature } from './signature.js';

/** The header that may carry the secret instead of the query string. */
export const SECRET_HEADER = 'x-junction-hook-secret';
/** Seconds Power Automate is asked to wait between polls of a request still being delivered. */
export const POLL_AFTER_SECONDS = 5;

/** A request as the route hands it over. */
export interface IncomingHookRequest {
  headers: RequestHeaders;
  /** The query string's parameters, `secret` among them when sent that way. */
  query: Record<string, unknown>;
  body: Buffer;
  /** The hub's address as the sender reaches it, for the `Location` of Power Automate's pattern. */
  base: string;
}

/** What the route sends back. */
export interface HookReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Settled deliveries have nothing more to happen to them; these still do. */
const UNSETTLED = new Set(['pending', 'retrying']);

function givenSecret(request: IncomingHookRequest): string | undefined {
  const header = headerValue(request.headers, SECRET_HEADER);
  if (header) return header;
  const query = request.query.secret;
  return typeof query === 'string' && query !== '' ? query : undefined;
}

/** The query string's plain parameters without the secret: what the mapping may read. */
function plainQuery(query: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (name !== 'secret' && typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The request id in a status URL: the event's id, in base64url so any id fits in a path segment. */
const requestIdOf = (eventId: string) => Buffer.from(eventId).toString('base64url');

export class HookReceiver {
  constructor(
    private readonly hub: Hub,
    private readonly metrics: HookMetrics,
  ) {}

  /**
   * Takes one request to a hook and answers as its preset expects.
   *
   * @throws NotFoundError (404), UnauthorizedError (401, wrong or missing secret), HookDisabledError
   *   (410), PayloadTooLargeError (413), SignatureError (401), UnsupportedMediaTypeError (415),
   *   MalformedRequestError (400), UnmappableBodyError (422), and whatever ingest refuses.
   */
  async receive(id: string, request: IncomingHookRequest): Promise<HookReply> {
    let preset = 'unknown';
    try {
      const hook = await this.find(id);
      preset = hook.preset;
      this.checkSecret(hook, request);
      if (hook.status === 'disabled') {
        throw new HookDisabledError(
          `hook ${id} is disabled; stop sending to it, or enable it with PATCH /v1/hooks/${id}`,
        );
      }
      if (request.body.length > hook.maxBodyBytes) {
        throw new PayloadTooLargeError(
          `the body is ${request.body.length} bytes; this hook (preset ${hook.preset}) takes at most ${hook.maxBodyBytes} bytes (maxBodyBytes)`,
        );
      }
      this.verify(hook, request);
      const parsed = await parseHookBody(request.body, headerValue(request.headers, 'content-type'));
      const event = await mapToEvent(
        hook,
        { headers: request.headers, query: plainQuery(request.query), body: request.body, parsed },
        new Date(),
        this.hub.config.maxEventBytes,
      );
      const { results } = await this.hub.ingest([event], false);
      const result = results[0]!;
      this.metrics.events.inc({ preset, status: result.status });
      const body = { id: result.id, source: result.source, type: event.type, status: result.status };
      const answer = PRESETS[hook.preset].answer;
      if (answer === 'ok') return { status: 200, headers: {}, body };
      if (answer === 'accepted') return { status: 202, headers: {}, body };
      return { status: 202, headers: this.pollHeaders(hook, result.id, request), body };
    } catch (error) {
      this.metrics.rejected(preset, error);
      throw error;
    }
  }

  /**
   * The status of a request to a Power Automate hook: 202 with `Retry-After` while any delivery of
   * its event is pending or retrying, 200 with every delivery once all are settled.
   */
  async status(id: string, requestId: string, request: IncomingHookRequest): Promise<HookReply> {
    const hook = await this.find(id);
    this.checkSecret(hook, request);
    const eventId = Buffer.from(requestId, 'base64url').toString();
    const found = eventId === '' ? undefined : await this.hub.store.lookupEvent(hook.source, eventId);
    if (!found) throw new NotFoundError(`hook ${id} made no event for request ${requestId}`);
    const deliveries = found.deliveries.map((d) => ({
      subscriptionId: d.subscriptionId,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
    }));
    const pending = deliveries.some((d) => UNSETTLED.has(d.status));
    const body = {
      id: eventId,
      source: hook.source,
      type: found.event.event.type,
      status: pending ? 'delivering' : 'completed',
      deliveries,
    };
    if (!pending) return { status: 200, headers: {}, body };
    return { status: 202, headers: this.pollHeaders(hook, eventId, request), body };
  }

  private async find(id: string): Promise<Hook> {
    const hook = await this.hub.store.getHook(id);
    if (!hook) throw new NotFoundError(`no hook with id '${id}'; check the URL the tool sends to`);
    return hook;
  }

  /** Refuses a request without the hook's secret (or the previous one, during a rotation's grace period). */
  private checkSecret(hook: Hook, request: IncomingHookRequest): void {
    const secret = givenSecret(request);
    if (secret === undefined) {
      throw new UnauthorizedError(
        `send the hook's secret as ?secret= in the URL or in the ${SECRET_HEADER} header; it is in the URL the hook was created with`,
      );
    }
    const previous =
      hook.previousSecretHash !== null &&
      hook.previousSecretExpiresAt !== null &&
      Date.parse(hook.previousSecretExpiresAt) > Date.now() &&
      secretMatches(secret, hook.previousSecretHash);
    if (!secretMatches(secret, hook.secretHash) && !previous) {
      throw new UnauthorizedError(
        "the hook's secret is wrong; copy the URL again, or rotate the secret to get a new one",
      );
    }
  }

  private verify(hook: Hook, request: IncomingHookRequest): void {
    if (hook.preset === 'airtable') {
      if (hook.macSecret === null) {
        throw new SignatureError(
          'missing-signature',
          `hook ${hook.id} has no macSecret yet: set it to Airtable's macSecretBase64 with PATCH /v1/hooks/${hook.id}`,
        );
      }
      verifyAirtableMac(hook.macSecret, request.headers, request.body);
    } else if (hook.signing !== null) {
      verifySignature(hook.signing, request.headers, request.body, Date.now());
    }
  }

  private pollHeaders(hook: Hook, eventId: string, request: IncomingHookRequest): Record<string, string> {
    // Power Automate polls the Location as given, with no header of its own: the secret goes in it.
    const secret = givenSecret(request) ?? '';
    const location = `${hookUrl(request.base, hook.id)}/requests/${requestIdOf(eventId)}?secret=${encodeURIComponent(secret)}`;
    return { location, 'retry-after': String(POLL_AFTER_SECONDS) };
  }
}
