/** Contracts: event types, their versions, one version's schema, and the diff between two versions. */
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { ErrorNote, Json, Link, Status, Time } from '../components';

interface TypeSummary {
  type: string;
  owner: string | null;
  compatibility: string;
  latestVersion: number | null;
  updatedAt: string;
}

interface Version {
  version: number;
  schema: unknown;
  createdAt: string;
  createdBy: string;
  state: string;
  sunsetAt: string | null;
}

interface Diff {
  changes: { op: string; path: string; value?: unknown; summary?: string }[];
  compatibility: { backward: { compatible: boolean }; forward: { compatible: boolean } };
}

function TypeList() {
  const [types, setTypes] = useState<TypeSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<TypeSummary[]>('/v1/schemas').then(setTypes, setError);
  }, []);
  return (
    <>
      <ErrorNote error={error} what="The schema registry" />
      {types && (
        <table>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Owner</th>
              <th scope="col">Compatibility</th>
              <th scope="col">Latest version</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {types.length === 0 && (
              <tr>
                <td colSpan={5}>No contracts registered.</td>
              </tr>
            )}
            {types.map((t) => (
              <tr key={t.type}>
                <td>
                  <Link to={`/contracts/${encodeURIComponent(t.type)}`}>{t.type}</Link>
                </td>
                <td>{t.owner ?? ''}</td>
                <td>{t.compatibility}</td>
                <td>{t.latestVersion ?? '—'}</td>
                <td>
                  <Time at={t.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function VersionSelect({
  label,
  versions,
  value,
  onChange,
}: {
  label: string;
  versions: Version[];
  value: number;
  onChange: (v: number) => void;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            {v.version}
          </option>
        ))}
      </select>
    </label>
  );
}

function TypeDetail({ type }: { type: string }) {
  const base = `/v1/schemas/${encodeURIComponent(type)}`;
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [shown, setShown] = useState(0);
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(0);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<Version[]>(`${base}/versions`).then((list) => {
      setVersions(list);
      const last = list.at(-1)?.version ?? 0;
      setShown(last);
      setFrom(Math.max(1, last - 1));
      setTo(last);
    }, setError);
  }, [base]);

  const current = versions?.find((v) => v.version === shown);
  return (
    <>
      <p>
        <Link to="/contracts">All contracts</Link>
      </p>
      <ErrorNote error={error} />
      {versions && (
        <>
          <h2>Versions</h2>
          <ul class="versions">
            {versions.map((v) => (
              <li key={v.version}>
                <button type="button" aria-pressed={v.version === shown} onClick={() => setShown(v.version)}>
                  Version {v.version}
                </button>{' '}
                <Status value={v.state} /> by {v.createdBy}, <Time at={v.createdAt} />
              </li>
            ))}
          </ul>
          {current && (
            <>
              <h3>Schema of version {current.version}</h3>
              <Json value={current.schema} />
            </>
          )}
          {versions.length > 1 && (
            <>
              <h2>Diff</h2>
              <form
                class="inline"
                aria-label="Compare versions"
                onSubmit={(e) => {
                  e.preventDefault();
                  api<Diff>(`${base}/diff${query({ from, to })}`).then(setDiff, setError);
                }}
              >
                <VersionSelect label="From version" versions={versions} value={from} onChange={setFrom} />
                <VersionSelect label="To version" versions={versions} value={to} onChange={setTo} />
                <button type="submit">Compare</button>
              </form>
              {diff && (
                <>
                  <p>
                    Backward compatible: {diff.compatibility.backward.compatible ? 'yes' : 'no'}; forward
                    compatible: {diff.compatibility.forward.compatible ? 'yes' : 'no'}.
                  </p>
                  {diff.changes.length === 0 && <p>No changes.</p>}
                  <ul>
                    {diff.changes.map((c) => (
                      <li key={`${c.op} ${c.path}`}>{c.summary ?? `${c.op} ${c.path}`}</li>
                    ))}
                  </ul>
                  {diff.changes.length > 0 && (
                    <details>
                      <summary>The changes as JSON Patch</summary>
                      <Json value={diff.changes} />
                    </details>
                  )}
                </>
              )}
            </>
          )}
        </>
      )}
    </>
  );
}

export function ContractsPage({ type }: { type: string | undefined }) {
  return (
    <section>
      <h1>{type ? `Contract ${type}` : 'Contracts'}</h1>
      {type ? <TypeDetail type={type} /> : <TypeList />}
    </section>
  );
}
