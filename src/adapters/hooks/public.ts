/** A hook as the admin API shows it: never a secret, nor the hash of one. */
import type { Hook, HookSigning } from '../../storage/ports.js';

export type PublicHook = Omit<Hook, 'secretHash' | 'previousSecretHash' | 'signing' | 'macSecret'> & {
  signing: Omit<HookSigning, 'secret'> | null;
  /** Whether Airtable's macSecret is set: until it is, the hook refuses every notification. */
  macSecretSet: boolean;
  /** Where the tool sends to, without the secret (`?secret=` is added to it). */
  url: string;
};

/**
 * The hook without its secrets, with the URL to send to under `base` (the hub's public address).
 *
 * @example
 * toPublicHook(hook, 'https://hub.example.com').url; // 'https://hub.example.com/v1/hooks/hook_…'
 */
export function toPublicHook(hook: Hook, base: string): PublicHook {
  const { id, secretHash: _hash, previousSecretHash: _previous, signing, macSecret, ...rest } = hook;
  let shown: PublicHook['signing'] = null;
  if (signing !== null) {
    const { secret: _secret, ...settings } = signing;
    shown = settings;
  }
  return {
    id: hook.id,
    ...rest,
    signing: shown,
    macSecretSet: macSecret !== null,
    url: hookUrl(base, hook.id),
  };
}

/** The URL of a hook, with its secret in the query string when given. */
export function hookUrl(base: string, id: string, secret?: string): string {
  const url = `${base.replace(/\/+$/, '')}/v1/hooks/${encodeURIComponent(id)}`;
  return secret === undefined ? url : `${url}?secret=${encodeURIComponent(secret)}`;
}
