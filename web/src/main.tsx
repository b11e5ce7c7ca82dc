import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, listenForSignOut, storedKey, storeKey } from './api';
import { Link } from './components';
import { ContractsPage } from './pages/contracts';
import { DeadLettersPage } from './pages/dead-letters';
import { EventsPage, LineagePage } from './pages/events';
import { OverviewPage } from './pages/overview';
import { SubscriptionPage, SubscriptionsPage } from './pages/subscriptions';
import { navigate, useLocation } from './router';
import './style.css';

function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Any cheap authenticated read tells whether the key is good.
      await api('/v1/subscriptions', { key });
      storeKey(key);
      onSignedIn();
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? `Sign-in failed: ${e.message}`
          : e instanceof Error
            ? e.message
            : String(e),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="sign-in">
      <h1>Junction</h1>
      <form onSubmit={submit}>
        <label>
          API key
          <input
            type="password"
            autoComplete="current-password"
            value={key}
            required
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="note">The key is kept in this tab only (session storage) and sent as a bearer token.</p>
    </main>
  );
}

const NAV = [
  ['/', 'Overview'],
  ['/events', 'Events'],
  ['/subscriptions', 'Subscriptions'],
  ['/dead-letters', 'Dead letters'],
  ['/contracts', 'Contracts'],
] as const;

function Page() {
  const { path, params } = useLocation();
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [section, id] = parts;
  switch (section) {
    case undefined:
      return <OverviewPage />;
    case 'events':
      return id === 'lineage' ? <LineagePage params={params} /> : <EventsPage params={params} />;
    case 'subscriptions':
      return id ? <SubscriptionPage id={id} /> : <SubscriptionsPage />;
    case 'dead-letters':
      return <DeadLettersPage params={params} />;
    case 'contracts':
      return <ContractsPage type={id} />;
    default:
      return <p>There is no page at {path}.</p>;
  }
}

function App() {
  const [signedIn, setSignedIn] = useState(storedKey() !== null);
  const [message, setMessage] = useState<string | null>(null);
  const { path } = useLocation();

  useEffect(() => {
    listenForSignOut((reason) => {
      setMessage(`Signed out: ${reason}`);
      setSignedIn(false);
    });
  }, []);

  if (!signedIn) {
    return (
      <SignIn
        message={message}
        onSignedIn={() => {
          setMessage(null);
          setSignedIn(true);
        }}
      />
    );
  }
  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <header>
        <strong>Junction</strong>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} current={section === to}>
              {label}
            </Link>
          ))}
        </nav>
        <button
          type="button"
          onClick={() => {
            storeKey(null);
            setSignedIn(false);
            navigate('/');
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Page />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
