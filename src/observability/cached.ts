/**
 * A read shared by every caller within `ttlMs`: the backlog gauges read the store on each scrape of
 * `/metrics` and each `/v1/stats` poll, and with several dashboards open those would add up. A
 * failed read is not kept, so the next caller tries again.
 */
export function sharedFor<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < ttlMs) return last.value;
    const value = read();
    const entry = { at: now, value };
    last = entry;
    value.catch(() => {
      if (last === entry) last = undefined;
    });
    return value;
  };
}
