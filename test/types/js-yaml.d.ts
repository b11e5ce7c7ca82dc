/**
 * The part of js-yaml's API the tests use. js-yaml ships no type declarations of its own and
 * @types/js-yaml is not installed; this covers `load` with a schema, nothing more.
 */
declare module 'js-yaml' {
  export interface Schema {
    readonly __schema: unique symbol;
  }
  export const FAILSAFE_SCHEMA: Schema;
  export const CORE_SCHEMA: Schema;
  export function load(text: string, options?: { schema?: Schema; filename?: string }): unknown;
}
