import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import {
  DEFAULT_STATS_WINDOW_SECONDS,
  MAX_STATS_WINDOW_SECONDS,
  STATS_INTERVAL_SECONDS,
} from '../../observability/stats.js';
import type { Hub } from '../hub.js';

/**
 * The window asked for, in whole seconds.
 *
 * @throws ValidationError naming `/window`.
 */
function windowOf(query: Record<string, unknown>): number {
  const raw = query.window;
  if (raw === undefined) return DEFAULT_STATS_WINDOW_SECONDS;
  const text = Array.isArray(raw) ? undefined : String(raw);
  const n = text !== undefined && /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= STATS_INTERVAL_SECONDS && n <= MAX_STATS_WINDOW_SECONDS)) {
    throw ValidationError.field(
      '/window',
      `window must be a whole number of seconds from ${STATS_INTERVAL_SECONDS} to ${MAX_STATS_WINDOW_SECONDS} (default ${DEFAULT_STATS_WINDOW_SECONDS}); got '${text ?? raw}'`,
    );
  }
  return n;
}

/**
 * Live figures for the dashboard's overview: counts and latency percentiles in 5-second buckets
 * over the window, totals since this process started, and the backlog per lane from the store.
 */
export const statsRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/stats', async (request) => {
    const window = windowOf(request.query as Record<string, unknown>);
    const { stats } = hub.metrics;
    // The counts come from this process and stand without the store: a store that does not
    // answer empties the backlog and says why, rather than failing the whole answer.
    const read = await hub.metrics.tryBacklog();
    return {
      now: new Date().toISOString(),
      intervalSeconds: STATS_INTERVAL_SECONDS,
      series: stats.series(window),
      ...('error' in read ? { backlog: [], backlogError: read.error } : { backlog: read.lanes }),
      totals: stats.totals(),
    };
  });
};
