import { ValidationError } from '../core/errors.js';

const MAX_LIMIT = 1000;

/** Reads `limit` and `after` from a query string: a page of 100 by default, 1000 at most. */
export function readPaging(query: Record<string, unknown>): { limit: number; after: string | undefined } {
  let limit = 100;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw ValidationError.field(
        '/limit',
        `query parameter limit must be a whole number from 1 to ${MAX_LIMIT}`,
      );
    }
  }
  const after = typeof query.after === 'string' && query.after !== '' ? query.after : undefined;
  return { limit, after };
}
