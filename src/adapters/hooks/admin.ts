/**
 * Hook definitions, as the admin API manages them: create (answering the URL secret once), read,
 * replace, patch, delete and rotate the secret. Hooks are kept in the store only, never in memory,
 * so every process serving a shared store sees a change with the next request.
 */
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { EventStore, Hook, HookSigning } from '../../storage/ports.js';
import { type HookInput, parseHookInput } from './input.js';
import { hashSecret, newHookSecret } from './secrets.js';

/** The longest grace period a rotation can leave the previous secret working: a week. */
export const MAX_ROTATION_GRACE_SECONDS = 7 * 86_400;

/** A stored signing config as input again: only what its scheme lets a client set. */
function signingInput(s: HookSigning): Record<string, unknown> {
  if (s.scheme !== 'hmac') {
    return { scheme: s.scheme, secret: s.secret, header: s.header, toleranceSeconds: s.toleranceSeconds };
  }
  const { scheme: _scheme, ...rest } = s;
  return { scheme: 'hmac', ...rest };
}

/** A stored hook as the input that would make it, for PATCH to merge a change into. */
function inputOf(hook: Hook): Record<string, unknown> {
  const {
    id: _id,
    secretHash: _s,
    previousSecretHash: _p,
    previousSecretExpiresAt: _e,
    createdAt: _c,
    updatedAt: _u,
    ...rest
  } = hook;
  return { ...rest, signing: hook.signing === null ? null : signingInput(hook.signing) };
}

function checkId(body: unknown, id: string): void {
  const given = (body as { id?: unknown } | null)?.id;
  if (given !== undefined && given !== id) {
    throw ValidationError.field(
      '/id',
      `id ${JSON.stringify(given)} does not match the path; omit it or use '${id}'`,
    );
  }
}

export class HookAdmin {
  constructor(private readonly store: EventStore) {}

  /** Creates a hook; the URL secret is returned here and never again. */
  async create(input: HookInput): Promise<{ hook: Hook; secret: string }> {
    const now = new Date().toISOString();
    const id = newId('hook');
    const secret = newHookSecret();
    const hook: Hook = {
      ...input,
      id,
      source: input.source ?? `/hooks/${id}`,
      secretHash: hashSecret(secret),
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.saveHook(hook);
    return { hook, secret };
  }

  /** @throws NotFoundError when there is no such hook. */
  async get(id: string): Promise<Hook> {
    const hook = await this.store.getHook(id);
    if (!hook) throw new NotFoundError(`no hook with id '${id}'; list them with GET /v1/hooks`);
    return hook;
  }

  list(): Promise<Hook[]> {
    return this.store.listHooks();
  }

  /** Replaces every setting (PUT): what the body leaves out takes its default. */
  async replace(id: string, body: unknown): Promise<Hook> {
    const current = await this.get(id);
    checkId(body, id);
    return this.save(current, parseHookInput(body));
  }

  /**
   * Changes the settings the body names (PATCH), `null` clearing one. `signing` is merged field by
   * field while its scheme stays, so a change of header need not repeat the secret.
   */
  async patch(id: string, body: unknown): Promise<Hook> {
    const current = await this.get(id);
    checkId(body, id);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw ValidationError.field('', 'the body must be a JSON object with the fields to change');
    }
    const merged: Record<string, unknown> = { ...inputOf(current), ...body };
    const change = (body as { signing?: unknown }).signing;
    const before = current.signing;
    if (before !== null && change !== null && typeof change === 'object' && !Array.isArray(change)) {
      const scheme = (change as { scheme?: unknown }).scheme;
      if (scheme === undefined || scheme === before.scheme)
        merged.signing = { ...signingInput(before), ...change };
    }
    return this.save(current, parseHookInput(merged));
  }

  /** Deletes a hook and returns it; its URL answers 404 from then on. */
  async delete(id: string): Promise<Hook> {
    const current = await this.get(id);
    await this.store.deleteHook(id);
    return current;
  }

  /**
   * Gives the hook a new URL secret. With a grace period the previous one keeps working until it
   * ends, so the URL can be updated in the tool without losing a request in between.
   */
  async rotate(id: string, body: unknown): Promise<{ hook: Hook; secret: string }> {
    const current = await this.get(id);
    const grace = (body as { graceSeconds?: unknown } | null | undefined)?.graceSeconds ?? 0;
    if (
      typeof grace !== 'number' ||
      !Number.isInteger(grace) ||
      grace < 0 ||
      grace > MAX_ROTATION_GRACE_SECONDS
    ) {
      throw ValidationError.field(
        '/graceSeconds',
        `graceSeconds must be a whole number from 0 to ${MAX_ROTATION_GRACE_SECONDS}: how long the previous secret keeps working`,
      );
    }
    const secret = newHookSecret();
    const now = Date.now();
    const hook: Hook = {
      ...current,
      secretHash: hashSecret(secret),
      previousSecretHash: grace > 0 ? current.secretHash : null,
      previousSecretExpiresAt: grace > 0 ? new Date(now + grace * 1000).toISOString() : null,
      updatedAt: new Date(now).toISOString(),
    };
    await this.store.saveHook(hook);
    return { hook, secret };
  }

  private async save(current: Hook, input: HookInput): Promise<Hook> {
    const hook: Hook = {
      ...current,
      ...input,
      source: input.source ?? `/hooks/${current.id}`,
      updatedAt: new Date().toISOString(),
    };
    await this.store.saveHook(hook);
    return hook;
  }
}
