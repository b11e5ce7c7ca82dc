/**
 * Changes made by other processes, from the notifications migration 0002's triggers send on the
 * channel named after the schema. One dedicated session LISTENs. When it is lost it is opened
 * again, with a growing pause, for as long as anyone watches; notifications sent while it was
 * down are lost, so after a reconnection every subscription and contract is reported changed.
 */
import type postgres from 'postgres';
import type { StoreChange } from '../ports.js';
import { openClient } from './connection.js';

/** Pauses between attempts to listen again, in ms: short at first, then every few seconds. */
const RETRY_MS = [100, 500, 1_000, 2_000, 5_000];

interface Payload {
  owner: string | null;
  kind: 'subscription' | 'contract';
  id?: string;
  type?: string;
}

export class ChangeFeed {
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private client: postgres.Sql | undefined;
  private stopped = false;
  private retries = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Whether a session has listened before: a later one may have missed notifications. */
  private listenedOnce = false;

  constructor(
    private readonly url: string,
    private readonly schema: string,
    private readonly owner: string,
    /** The store's pool, for reading what to report after a reconnection. */
    private readonly sql: postgres.Sql,
  ) {}

  /** Adds a listener, starting to listen with the first; returns the function that removes it. */
  add(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.timer) this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end({ timeout: 1 });
  }

  private listen(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const client = openClient(this.url, {
      max: 1,
      application: 'junction watch',
      connectTimeout: 5,
      keepOpen: true,
      onnotify: (channel, payload) => {
        if (channel === this.schema) this.onNotify(payload);
      },
      onclose: () => this.lost(client),
    });
    this.client = client;
    client.unsafe(`LISTEN "${this.schema}"`).then(
      () => {
        this.retries = 0;
        if (this.listenedOnce) void this.catchUp();
        this.listenedOnce = true;
      },
      () => this.lost(client),
    );
  }

  /** The session closed or never opened: drop the client and try again after a pause. */
  private lost(client: postgres.Sql): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end({ timeout: 0 }).catch(() => {});
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.retries++, RETRY_MS.length - 1)]!;
    this.timer = setTimeout(() => this.listen(), delay);
    this.timer.unref();
  }

  private onNotify(text: string): void {
    let payload: Payload;
    try {
      payload = JSON.parse(text) as Payload;
    } catch {
      return;
    }
    // The hub applies its own changes as it makes them.
    if (payload.owner === this.owner) return;
    if (payload.kind === 'subscription' && payload.id !== undefined) {
      this.emit({ kind: 'subscription', id: payload.id });
    } else if (payload.kind === 'contract' && payload.type !== undefined) {
      this.emit({ kind: 'contract', type: payload.type });
    }
  }

  /** Reports everything changed: what changed while nobody listened is not known. */
  private async catchUp(): Promise<void> {
    try {
      const subs = await this.sql<{ id: string }[]>`SELECT id FROM subscriptions`;
      const types = await this.sql<{ type: string }[]>`
        SELECT type FROM event_types UNION SELECT type FROM schema_versions`;
      for (const s of subs) this.emit({ kind: 'subscription', id: s.id });
      for (const t of types) this.emit({ kind: 'contract', type: t.type });
    } catch {
      // The pool cannot read either: PostgreSQL went away again, and the next session catches up.
    }
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // One listener's failure is its own; the others still hear of the change.
      }
    }
  }
}
