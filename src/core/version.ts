import { createRequire } from 'node:module';

/** The version in package.json, which sits two levels up from every folder under src/ and dist/. */
export const VERSION: string =
  (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? '0.0.0';
