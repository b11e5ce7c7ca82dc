/** Dead letters: filter by subscription, inspect, redrive or discard one, a selection, or a subscription's. */
import { useEffect, useState } from 'preact/hooks';
import { api, json, query } from '../api';
import { ErrorNote, Link, Time } from '../components';
import { navigate } from '../router';
import { lineagePath } from './events';
import type { Subscription } from './subscription-form';

interface DeadLetter {
  id: string;
  subscriptionId: string;
  channel: string;
  attempts: number;
  lastError: string | null;
  updatedAt: string;
  event?: { source: string; id: string; type: string };
}

type Action = 'redrive' | 'discard';
const PAGE_SIZE = 50;

export function DeadLettersPage({ params }: { params: URLSearchParams }) {
  const subscription = params.get('subscription') ?? '';
  const [subs, setSubs] = useState<Subscription[]>([]);
  const [items, setItems] = useState<DeadLetter[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);

  async function load(after: string | null) {
    try {
      const page = await api<{ items: DeadLetter[]; next: string | null }>(
        `/v1/dead-letters${query({ subscription, limit: PAGE_SIZE, after })}`,
      );
      setItems((old) => (after === null ? page.items : [...(old ?? []), ...page.items]));
      setNext(page.next);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }

  useEffect(() => {
    api<Subscription[]>('/v1/subscriptions').then(setSubs, setError);
  }, []);
  useEffect(() => {
    setSelected(new Set());
    void load(null);
  }, [subscription]);

  async function act(action: Action, selector: { ids: string[] } | { subscription: string }) {
    try {
      const answer = await api<Record<string, unknown> & { skipped: string[]; more?: boolean }>(
        `/v1/dead-letters/${action}`,
        json('POST', selector),
      );
      const count = action === 'redrive' ? answer.redriven : answer.discarded;
      setMessage(
        `${action === 'redrive' ? 'Redriven' : 'Discarded'}: ${count}` +
          (answer.skipped.length ? `; skipped (no longer dead): ${answer.skipped.join(', ')}` : '') +
          (answer.more ? '; more are left, repeat to continue' : ''),
      );
      setSelected(new Set());
      await load(null);
    } catch (e) {
      setError(e);
    }
  }

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <section>
      <h1>Dead letters</h1>
      <div class="inline">
        <label>
          Subscription
          <select
            value={subscription}
            onChange={(e) => navigate(`/dead-letters${query({ subscription: e.currentTarget.value })}`)}
          >
            <option value="">all subscriptions</option>
            {subs.map((s) => (
              <option key={s.id} value={s.id}>
                {s.id} ({s.sink})
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => void act('redrive', { ids: [...selected] })}
        >
          Redrive selected
        </button>
        <button
          type="button"
          disabled={selected.size === 0}
          onClick={() => void act('discard', { ids: [...selected] })}
        >
          Discard selected
        </button>
        {subscription && (
          <button type="button" onClick={() => void act('redrive', { subscription })}>
            Redrive all of this subscription
          </button>
        )}
      </div>
      <ErrorNote error={error} />
      {message && <p role="status">{message}</p>}
      {items && (
        <table>
          <thead>
            <tr>
              <th scope="col">Select</th>
              <th scope="col">Event</th>
              <th scope="col">Subscription</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Dead since</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={7}>No dead letters.</td>
              </tr>
            )}
            {items.map((d) => (
              <tr key={d.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${d.event?.id ?? d.id}`}
                    checked={selected.has(d.id)}
                    onChange={() => toggle(d.id)}
                  />
                </td>
                <td>
                  {d.event ? (
                    <Link to={lineagePath(d.event.source, d.event.id)}>
                      {d.event.type} {d.event.id}
                    </Link>
                  ) : (
                    'event no longer stored'
                  )}
                </td>
                <td>
                  <Link to={`/subscriptions/${encodeURIComponent(d.subscriptionId)}`}>
                    {d.subscriptionId}
                  </Link>
                </td>
                <td>{d.attempts}</td>
                <td>{d.lastError ?? ''}</td>
                <td>
                  <Time at={d.updatedAt} />
                </td>
                <td>
                  <button type="button" onClick={() => void act('redrive', { ids: [d.id] })}>
                    Redrive {d.event?.id ?? d.id}
                  </button>{' '}
                  <button type="button" onClick={() => void act('discard', { ids: [d.id] })}>
                    Discard {d.event?.id ?? d.id}
                  </button>
                </td>
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
    </section>
  );
}
