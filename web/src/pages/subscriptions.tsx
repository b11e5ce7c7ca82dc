/** Subscriptions: the list, one subscription with its state, a test event, edit and delete. */
import { useEffect, useState } from 'preact/hooks';
import { api, json } from '../api';
import { ErrorNote, Fields, Json, Link, Status } from '../components';
import { navigate } from '../router';
import { type Subscription, SubscriptionForm } from './subscription-form';

/** The signing secret of the subscription just created: the hub shows it in the create answer only. */
let createdSecret: { id: string; secret: string } | null = null;

export function SubscriptionsPage() {
  const [subs, setSubs] = useState<Subscription[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    api<Subscription[]>('/v1/subscriptions').then(setSubs, setError);
  }, []);

  return (
    <section>
      <h1>Subscriptions</h1>
      <ErrorNote error={error} />
      {!creating && (
        <button type="button" onClick={() => setCreating(true)}>
          New subscription
        </button>
      )}
      {creating && (
        <>
          <h2>New subscription</h2>
          <SubscriptionForm
            onSaved={(saved) => {
              const { secret } = saved as Subscription & { secret?: string };
              createdSecret = secret ? { id: saved.id, secret } : null;
              navigate(`/subscriptions/${encodeURIComponent(saved.id)}`);
            }}
          />
          <button type="button" onClick={() => setCreating(false)}>
            Cancel
          </button>
        </>
      )}
      {subs && (
        <table>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Status</th>
              <th scope="col">Types</th>
              <th scope="col">Sink</th>
            </tr>
          </thead>
          <tbody>
            {subs.length === 0 && (
              <tr>
                <td colSpan={4}>No subscriptions yet.</td>
              </tr>
            )}
            {subs.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/subscriptions/${encodeURIComponent(s.id)}`}>{s.id}</Link>
                </td>
                <td>
                  <Status value={s.status} />
                </td>
                <td>{s.types.join(', ') || 'all'}</td>
                <td>{s.sink}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface TestResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  response: string | null;
  error: string | null;
}

function TestButton({ id }: { id: string }) {
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div>
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            setResult(
              await api<TestResult>(`/v1/subscriptions/${encodeURIComponent(id)}/test`, json('POST', {})),
            );
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        Send a test event
      </button>
      <ErrorNote error={error} what="Sending a test event" />
      {result && (
        <p role="status">
          {result.ok ? 'Test delivered' : 'Test failed'}: HTTP {result.status ?? '—'} in {result.latencyMs} ms
          {result.error && <>, {result.error}</>}
          {result.response && (
            <>
              , response <code>{result.response}</code>
            </>
          )}
        </p>
      )}
    </div>
  );
}

function StatePanel({ id }: { id: string }) {
  const [state, setState] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<Record<string, unknown>>(`/v1/subscriptions/${encodeURIComponent(id)}/state`).then(
      setState,
      setError,
    );
  }, [id]);
  return (
    <>
      <h2>Breaker and rate limit</h2>
      <ErrorNote error={error} what="Breaker and rate-limit state" />
      {state && (
        <div class="state">
          <div>
            <h3>Circuit breaker</h3>
            <Fields value={state.breaker} label="Circuit breaker" />
          </div>
          <div>
            <h3>Rate limit</h3>
            <Fields value={state.rateLimit ?? null} label="Rate limit" />
          </div>
          <div>
            <h3>Deliveries by status</h3>
            <Fields value={state.counts} label="Deliveries by status" />
          </div>
        </div>
      )}
    </>
  );
}

export function SubscriptionPage({ id }: { id: string }) {
  const [sub, setSub] = useState<Subscription | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [secret] = useState(() => (createdSecret?.id === id ? createdSecret.secret : null));
  const path = `/v1/subscriptions/${encodeURIComponent(id)}`;

  useEffect(() => {
    api<Subscription>(path).then(setSub, setError);
  }, [path]);

  return (
    <section>
      <h1>Subscription {id}</h1>
      <p>
        <Link to="/subscriptions">All subscriptions</Link> ·{' '}
        <Link to={`/dead-letters?subscription=${encodeURIComponent(id)}`}>Its dead letters</Link>
      </p>
      <ErrorNote error={error} />
      {secret && (
        <p role="status">
          Created. Its signing secret, shown this once: <code>{secret}</code>
        </p>
      )}
      {sub && !editing && (
        <>
          <p>
            <Status value={sub.status} /> Sink {sub.sink}
          </p>
          <Json value={{ types: sub.types, filters: sub.filters, delivery: sub.delivery }} />
          <TestButton id={id} />
          <StatePanel id={id} />
          <p>
            <button type="button" onClick={() => setEditing(true)}>
              Edit
            </button>{' '}
            {!confirming && (
              <button type="button" onClick={() => setConfirming(true)}>
                Delete
              </button>
            )}
            {confirming && (
              <>
                Delete this subscription? Its pending deliveries become dead letters.{' '}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    api(path, { method: 'DELETE' }).then(() => navigate('/subscriptions'), setError)
                  }
                >
                  Yes, delete
                </button>{' '}
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </>
            )}
          </p>
        </>
      )}
      {sub && editing && (
        <>
          <SubscriptionForm
            existing={sub}
            onSaved={(saved) => {
              setSub(saved);
              setEditing(false);
            }}
          />
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </>
      )}
    </section>
  );
}
