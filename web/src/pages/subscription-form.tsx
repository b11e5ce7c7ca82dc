/**
 * The subscription form: filters are built from rows (exact, prefix or suffix on an attribute) and an
 * optional CESQL expression, so nobody has to write filter JSON. Filters the rows cannot show (all,
 * any, not, pattern) are kept as JSON in an advanced field. The hub checks the body; its field errors
 * are shown next to the fields they name.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, type FieldError, json } from '../api';
import { FieldErrors } from '../components';

export interface Subscription {
  id: string;
  status: string;
  types: string[];
  filters: Record<string, unknown>[];
  sink: string;
  protocol: string;
  protocolsettings?: unknown;
  delivery: Record<string, unknown> & {
    maxAttempts?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    rateLimit?: { perSecond: number; burst: number; concurrency?: number } | null;
    ordering?: string;
    preset?: string | null;
    format?: string;
  };
}

type Dialect = 'exact' | 'prefix' | 'suffix';
interface FilterRow {
  dialect: Dialect;
  attribute: string;
  value: string;
}

const DIALECTS: Dialect[] = ['exact', 'prefix', 'suffix'];
const PRESETS = ['', 'zapier', 'make', 'n8n', 'power-automate', 'slack', 'json'];

/** Splits a subscription's filters into builder rows, a CESQL expression, and the rest. */
function splitFilters(filters: Record<string, unknown>[]) {
  const rows: FilterRow[] = [];
  const sql: string[] = [];
  const other: Record<string, unknown>[] = [];
  for (const filter of filters) {
    const [dialect, value] = Object.entries(filter)[0] ?? [];
    if (DIALECTS.includes(dialect as Dialect) && typeof value === 'object' && value !== null) {
      for (const [attribute, text] of Object.entries(value)) {
        rows.push({ dialect: dialect as Dialect, attribute, value: String(text) });
      }
    } else if ((dialect === 'sql' || dialect === 'cesql') && typeof value === 'string') {
      sql.push(value);
    } else {
      other.push(filter);
    }
  }
  return { rows, sql: sql.join(' AND '), other: other.length ? JSON.stringify(other, null, 2) : '' };
}

function numberOrUndefined(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

export function SubscriptionForm({
  existing,
  onSaved,
}: {
  existing?: Subscription;
  onSaved: (saved: Subscription) => void;
}) {
  const initial = splitFilters(existing?.filters ?? []);
  const delivery = existing?.delivery ?? {};
  const [sink, setSink] = useState(existing?.sink ?? '');
  const [types, setTypes] = useState((existing?.types ?? []).join(', '));
  const [rows, setRows] = useState<FilterRow[]>(initial.rows);
  const [sql, setSql] = useState(initial.sql);
  const [other, setOther] = useState(initial.other);
  const [maxAttempts, setMaxAttempts] = useState(String(delivery.maxAttempts ?? ''));
  const [initialDelayMs, setInitialDelayMs] = useState(String(delivery.initialDelayMs ?? ''));
  const [maxDelayMs, setMaxDelayMs] = useState(String(delivery.maxDelayMs ?? ''));
  const [perSecond, setPerSecond] = useState(String(delivery.rateLimit?.perSecond ?? ''));
  const [burst, setBurst] = useState(String(delivery.rateLimit?.burst ?? ''));
  const [ordering, setOrdering] = useState(delivery.ordering ?? 'none');
  const [preset, setPreset] = useState(delivery.preset ?? '');
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function body(): Record<string, unknown> {
    const filters: unknown[] = rows
      .filter((r) => r.attribute.trim() !== '')
      .map((r) => ({ [r.dialect]: { [r.attribute.trim()]: r.value } }));
    if (sql.trim()) filters.push({ sql: sql.trim() });
    if (other.trim()) {
      try {
        filters.push(...(JSON.parse(other) as unknown[]));
      } catch {
        throw new ApiError({
          status: 400,
          detail: 'the advanced filters are not valid JSON',
          errors: [{ pointer: '/filters', message: 'the advanced filters must be a JSON array of filters' }],
        });
      }
    }
    // Settings the form does not show are kept as they were when editing.
    const {
      maxAttempts: _a,
      initialDelayMs: _i,
      maxDelayMs: _m,
      rateLimit: _r,
      ordering: _o,
      preset: _p,
      ...kept
    } = delivery;
    const concurrency = delivery.rateLimit?.concurrency;
    const rateLimit =
      perSecond.trim() === ''
        ? null
        : {
            perSecond: Number(perSecond),
            burst: Number(burst || perSecond),
            ...(typeof concurrency === 'number' ? { concurrency } : {}),
          };
    return {
      sink: sink.trim(),
      types: types
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      filters,
      ...(existing?.protocolsettings ? { protocolsettings: existing.protocolsettings } : {}),
      delivery: {
        ...(preset ? {} : kept),
        maxAttempts: numberOrUndefined(maxAttempts),
        initialDelayMs: numberOrUndefined(initialDelayMs),
        maxDelayMs: numberOrUndefined(maxDelayMs),
        ...(rateLimit ? { rateLimit } : {}),
        ordering,
        ...(preset ? { preset } : {}),
      },
    };
  }

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setErrors([]);
    setProblem(null);
    try {
      const saved = existing
        ? await api<Subscription>(
            `/v1/subscriptions/${encodeURIComponent(existing.id)}`,
            json('PUT', { ...body(), status: existing.status }),
          )
        : await api<Subscription>('/v1/subscriptions', json('POST', body()));
      onSaved(saved);
    } catch (e) {
      if (e instanceof ApiError) {
        setErrors(e.problem.errors ?? []);
        setProblem(e.message);
      } else setProblem(String(e));
    } finally {
      setBusy(false);
    }
  }

  // The body lists the rows with an attribute first, then the CESQL filter, then the advanced ones:
  // the hub's /filters/N pointers are mapped back to the field each came from.
  const rowPointer = (index: number) =>
    `/filters/${rows.slice(0, index).filter((r) => r.attribute.trim() !== '').length}`;
  const sqlIndex = rows.filter((r) => r.attribute.trim() !== '').length;
  const advancedErrors = errors.filter((e) => {
    const n = /^\/filters(?:\/(\d+))?/.exec(e.pointer);
    return n !== null && (n[1] === undefined || Number(n[1]) >= sqlIndex + (sql.trim() ? 1 : 0));
  });

  const setRow = (index: number, change: Partial<FilterRow>) =>
    setRows(rows.map((r, i) => (i === index ? { ...r, ...change } : r)));

  return (
    <form
      class="subscription-form"
      onSubmit={submit}
      aria-label={existing ? 'Edit subscription' : 'New subscription'}
    >
      <label>
        Sink URL
        <input type="url" value={sink} required onInput={(e) => setSink(e.currentTarget.value)} />
        <FieldErrors errors={errors} pointer="/sink" />
      </label>
      <label>
        Event types (comma-separated, empty for all)
        <input value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
        <FieldErrors errors={errors} pointer="/types" />
      </label>
      <fieldset>
        <legend>Filters on attributes (all must match)</legend>
        {rows.map((row, index) => (
          <div class="filter-row" key={index}>
            <label>
              Attribute {index + 1}
              <input
                value={row.attribute}
                onInput={(e) => setRow(index, { attribute: e.currentTarget.value })}
              />
            </label>
            <label>
              Match {index + 1}
              <select
                value={row.dialect}
                onChange={(e) => setRow(index, { dialect: e.currentTarget.value as Dialect })}
              >
                {DIALECTS.map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Value {index + 1}
              <input value={row.value} onInput={(e) => setRow(index, { value: e.currentTarget.value })} />
            </label>
            <button type="button" onClick={() => setRows(rows.filter((_, i) => i !== index))}>
              Remove filter {index + 1}
            </button>
            {row.attribute.trim() !== '' && <FieldErrors errors={errors} pointer={rowPointer(index)} />}
          </div>
        ))}
        <button
          type="button"
          onClick={() => setRows([...rows, { dialect: 'exact', attribute: '', value: '' }])}
        >
          Add filter
        </button>
        <label>
          CESQL expression (optional)
          <input
            value={sql}
            placeholder="subject LIKE 'orders/%' AND total > 100"
            onInput={(e) => setSql(e.currentTarget.value)}
          />
          {sql.trim() !== '' && <FieldErrors errors={errors} pointer={`/filters/${sqlIndex}`} />}
        </label>
        <label>
          Advanced filters (JSON array, optional)
          <textarea rows={3} value={other} onInput={(e) => setOther(e.currentTarget.value)} />
        </label>
        <FieldErrors errors={advancedErrors} pointer="/filters" />
      </fieldset>
      <fieldset>
        <legend>Delivery</legend>
        <label>
          Max attempts
          <input
            type="number"
            min={1}
            value={maxAttempts}
            onInput={(e) => setMaxAttempts(e.currentTarget.value)}
          />
          <FieldErrors errors={errors} pointer="/delivery/maxAttempts" />
        </label>
        <label>
          First retry delay (ms)
          <input
            type="number"
            min={0}
            value={initialDelayMs}
            onInput={(e) => setInitialDelayMs(e.currentTarget.value)}
          />
          <FieldErrors errors={errors} pointer="/delivery/initialDelayMs" />
        </label>
        <label>
          Longest retry delay (ms)
          <input
            type="number"
            min={0}
            value={maxDelayMs}
            onInput={(e) => setMaxDelayMs(e.currentTarget.value)}
          />
          <FieldErrors errors={errors} pointer="/delivery/maxDelayMs" />
        </label>
        <label>
          Rate limit (requests per second, empty for none)
          <input
            type="number"
            step="any"
            value={perSecond}
            onInput={(e) => setPerSecond(e.currentTarget.value)}
          />
        </label>
        <label>
          Burst
          <input type="number" value={burst} onInput={(e) => setBurst(e.currentTarget.value)} />
          <FieldErrors errors={errors} pointer="/delivery/rateLimit" />
        </label>
        <label>
          Ordering
          <select value={ordering} onChange={(e) => setOrdering(e.currentTarget.value)}>
            <option value="none">none</option>
            <option value="partition">partition (by partitionkey)</option>
          </select>
          <FieldErrors errors={errors} pointer="/delivery/ordering" />
        </label>
        <label>
          Preset
          <select value={preset} onChange={(e) => setPreset(e.currentTarget.value)}>
            {PRESETS.map((p) => (
              <option key={p} value={p}>
                {p || 'none'}
              </option>
            ))}
          </select>
          <FieldErrors errors={errors} pointer="/delivery/preset" />
        </label>
      </fieldset>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {existing ? 'Save subscription' : 'Create subscription'}
      </button>
    </form>
  );
}
