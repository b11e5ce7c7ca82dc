/** Small pieces every page uses: links, error notes, field errors, time and JSON display. */
import type { ComponentChildren } from 'preact';
import { ApiError, type FieldError } from './api';
import { BASE, onLinkClick } from './router';

export function Link({
  to,
  current,
  children,
}: {
  to: string;
  current?: boolean;
  children: ComponentChildren;
}) {
  return (
    <a href={BASE + to} aria-current={current ? 'page' : undefined} onClick={(e) => onLinkClick(e, to)}>
      {children}
    </a>
  );
}

/** Shows what went wrong: "not available" for an endpoint this hub lacks, else the problem's detail. */
export function ErrorNote({ error, what }: { error: unknown; what?: string }) {
  if (error === null || error === undefined) return null;
  if (error instanceof ApiError && error.missing) {
    return <p class="note">{what ?? 'This'} is not available on this server.</p>;
  }
  return (
    <p class="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

/** The messages of the field errors at `pointer` or below it. */
export function errorsAt(errors: FieldError[], pointer: string): string[] {
  return errors
    .filter((e) => e.pointer === pointer || e.pointer.startsWith(`${pointer}/`))
    .map((e) => e.message);
}

export function FieldErrors({ errors, pointer, id }: { errors: FieldError[]; pointer: string; id?: string }) {
  const messages = errorsAt(errors, pointer);
  if (messages.length === 0) return null;
  return (
    <span class="field-error" id={id}>
      {messages.join('; ')}
    </span>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span>—</span>;
  return <time dateTime={at}>{new Date(at).toLocaleString()}</time>;
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value}</span>;
}

/** A flat object as a two-column table; nested values are shown as JSON. */
export function Fields({ value, label }: { value: unknown; label: string }) {
  if (typeof value !== 'object' || value === null) return <p>{value === null ? 'none' : String(value)}</p>;
  return (
    <table class="fields" aria-label={label}>
      <tbody>
        {Object.entries(value).map(([name, v]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '—')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
