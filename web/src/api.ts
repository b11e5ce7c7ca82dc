/**
 * The dashboard's only way to the hub: the /v1 API with the signed-in key. A 401 signs out; any other
 * problem+json answer becomes an ApiError that pages show, with its field errors, next to the form.
 */

const KEY_STORAGE = 'junction.apiKey';

export interface FieldError {
  pointer: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }

  get status(): number {
    return this.problem.status;
  }

  /** True when the hub does not have the endpoint at all (an older hub, or an optional feature). */
  get missing(): boolean {
    return (
      this.status === 404 && (this.problem.type ?? '').endsWith('/not-found') && /no route/.test(this.message)
    );
  }
}

type SignOutListener = (message: string) => void;
let onSignOut: SignOutListener = () => {};

export function listenForSignOut(listener: SignOutListener): void {
  onSignOut = listener;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as Problem;
    if (typeof body === 'object' && body !== null) return { ...body, status: res.status };
  } catch {
    // Not JSON: a proxy's page or an empty body; its first line says enough.
  }
  return { status: res.status, title: res.statusText, detail: text.slice(0, 200) || `HTTP ${res.status}` };
}

/** Calls the API with the stored key (or `key`); answers the parsed JSON body. */
export async function api<T>(path: string, init: RequestInit & { key?: string } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${init.key ?? storedKey() ?? ''}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) {
    const problem = await readProblem(res);
    if (res.status === 401 && init.key === undefined) {
      storeKey(null);
      onSignOut(problem.detail ?? 'the API key is not valid');
    }
    throw new ApiError(problem);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A JSON body for `api`. */
export function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/** Builds a query string from the parameters that have a value. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
