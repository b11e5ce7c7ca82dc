/** Events: search (GET /v1/events), lookup by source and id, and an event's lineage to every attempt. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, query } from '../api';
import { ErrorNote, FieldErrors, Json, Link, Status, Time } from '../components';
import { navigate } from '../router';

interface EventSummary {
  seq: number;
  source: string;
  id: string;
  type: string;
  subject: string | null;
  time: string | null;
  receivedAt: string;
  correlationid: string | null;
  traceid: string | null;
}

interface Attempt {
  n: number;
  at: string;
  status: number | null;
  outcome: string;
  latencyMs: number;
  error: string | null;
  response: string | null;
}

interface LineageDelivery {
  id: string;
  subscriptionId: string;
  channel: string;
  webhookId: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  replayId: string | null;
  attemptLog: Attempt[];
}

interface Lineage {
  event: Record<string, unknown>;
  seq: number;
  receivedAt: string;
  deliveries: LineageDelivery[];
}

const SEARCH_FIELDS = [
  ['type', 'Type'],
  ['source', 'Source'],
  ['subject', 'Subject (orders/* for a prefix)'],
  ['correlationid', 'Correlation id'],
  ['traceid', 'Trace id'],
  ['from', 'Received from'],
  ['to', 'Received to'],
] as const;
const PAGE_SIZE = 50;

export function lineagePath(source: string, id: string): string {
  return `/events/lineage${query({ source, id })}`;
}

function LookupForm() {
  const [source, setSource] = useState('');
  const [id, setId] = useState('');
  return (
    <form
      class="inline"
      aria-label="Look up an event"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(lineagePath(source, id));
      }}
    >
      <label>
        Event source
        <input value={source} required onInput={(e) => setSource(e.currentTarget.value)} />
      </label>
      <label>
        Event id
        <input value={id} required onInput={(e) => setId(e.currentTarget.value)} />
      </label>
      <button type="submit">Look up</button>
    </form>
  );
}

export function EventsPage({ params }: { params: URLSearchParams }) {
  const [form, setForm] = useState<Record<string, string>>(() =>
    Object.fromEntries(SEARCH_FIELDS.map(([name]) => [name, params.get(name) ?? ''])),
  );
  const [items, setItems] = useState<EventSummary[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = params.toString();
  const fieldErrors = error instanceof ApiError ? (error.problem.errors ?? []) : [];

  async function load(after: string | null) {
    try {
      const filters = Object.fromEntries(SEARCH_FIELDS.map(([name]) => [name, params.get(name)]));
      // datetime-local inputs have no zone: the browser's is meant, and the API takes ISO 8601.
      for (const name of ['from', 'to']) {
        if (!filters[name]) continue;
        const at = new Date(filters[name]);
        // A deep link may carry any text: a time the browser cannot read is the field's error.
        if (Number.isNaN(at.getTime())) {
          const message = `${name} must be a date and time, such as 2026-11-26T08:00`;
          throw new ApiError({
            status: 400,
            title: 'Invalid search',
            detail: message,
            errors: [{ pointer: `/${name}`, message }],
          });
        }
        filters[name] = at.toISOString();
      }
      const page = await api<{ items: EventSummary[]; next: string | null }>(
        `/v1/events${query({ ...filters, limit: PAGE_SIZE, after })}`,
      );
      setItems((old) => (after === null ? page.items : [...(old ?? []), ...page.items]));
      setNext(page.next);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }

  useEffect(() => {
    void load(null);
  }, [key]);

  return (
    <section>
      <h1>Events</h1>
      <form
        class="grid"
        aria-label="Search events"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/events${query(form)}`);
        }}
      >
        {SEARCH_FIELDS.map(([name, label]) => (
          <label key={name}>
            {label}
            <input
              type={name === 'from' || name === 'to' ? 'datetime-local' : 'text'}
              value={form[name]}
              onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })}
            />
            <FieldErrors errors={fieldErrors} pointer={`/${name}`} />
          </label>
        ))}
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={error} what="Event search (GET /v1/events)" />
      {items && (
        <table>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Type</th>
              <th scope="col">Source</th>
              <th scope="col">Id</th>
              <th scope="col">Subject</th>
              <th scope="col">Correlation id</th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={6}>No events match.</td>
              </tr>
            )}
            {items.map((event) => (
              <tr key={event.seq}>
                <td>
                  <Time at={event.receivedAt} />
                </td>
                <td>{event.type}</td>
                <td>{event.source}</td>
                <td>
                  <Link to={lineagePath(event.source, event.id)}>{event.id}</Link>
                </td>
                <td>{event.subject ?? ''}</td>
                <td>{event.correlationid ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Next page
        </button>
      )}
      <h2>Look up one event</h2>
      <LookupForm />
    </section>
  );
}

const REFRESH_MS = 2_000;
const SETTLED = new Set(['delivered', 'dead', 'discarded', 'filtered', 'blocked']);

export function LineagePage({ params }: { params: URLSearchParams }) {
  const source = params.get('source') ?? '';
  const id = params.get('id') ?? '';
  const [lineage, setLineage] = useState<Lineage | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Deliveries still on their way are refreshed until they settle, so the page shows them arrive.
    const load = async () => {
      try {
        const found = await api<Lineage>(`/v1/events/lookup${query({ source, id })}`);
        if (stopped) return;
        setLineage(found);
        setError(null);
        if (found.deliveries.length === 0 || found.deliveries.some((d) => !SETTLED.has(d.status))) {
          timer = setTimeout(load, REFRESH_MS);
        }
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, id]);

  return (
    <section>
      <h1>Lineage of {id}</h1>
      <p>
        Source {source}. <Link to="/events">Back to events</Link>
      </p>
      <ErrorNote error={error} />
      {lineage && (
        <>
          <details>
            <summary>
              Event {String(lineage.event.type)}, received <Time at={lineage.receivedAt} />
            </summary>
            <Json value={lineage.event} />
          </details>
          <h2>Deliveries</h2>
          {lineage.deliveries.length === 0 && <p>No deliveries (yet): no subscription matched it so far.</p>}
          {lineage.deliveries.map((d) => (
            <article key={d.id} class="delivery" aria-label={`Delivery ${d.id}`}>
              <h3>
                <Link to={`/subscriptions/${encodeURIComponent(d.subscriptionId)}`}>{d.subscriptionId}</Link>{' '}
                <Status value={d.status} />
              </h3>
              <p>
                Delivery {d.id}, webhook-id {d.webhookId}, channel {d.channel}, {d.attempts} attempt(s)
                {d.nextAttemptAt && (
                  <>
                    , next at <Time at={d.nextAttemptAt} />
                  </>
                )}
                {d.lastError && <>, last error: {d.lastError}</>}
              </p>
              <table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Time</th>
                    <th scope="col">HTTP status</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Error</th>
                    <th scope="col">Response excerpt</th>
                  </tr>
                </thead>
                <tbody>
                  {d.attemptLog.map((a) => (
                    <tr key={a.n}>
                      <td>{a.n}</td>
                      <td>
                        <Time at={a.at} />
                      </td>
                      <td>{a.status ?? '—'}</td>
                      <td>
                        <Status value={a.outcome} />
                      </td>
                      <td>{a.latencyMs} ms</td>
                      <td>{a.error ?? ''}</td>
                      <td>
                        <code>{a.response ?? ''}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </article>
          ))}
        </>
      )}
    </section>
  );
}
