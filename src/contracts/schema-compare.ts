/**
 * The comparison behind the compatibility checker: walks a writer schema and a reader schema side by side and
 * reports every place where the reader requires something the writer does not guarantee.
 */
import {
  ANNOTATIONS,
  covers,
  finiteValues,
  isSchema,
  KNOWN,
  onlyDefRefs,
  strings,
  typeSet,
  validRegex,
} from './keywords.js';
import { compareLengths, compareNumbers, compareStrings, type KeywordContext } from './scalar-keywords.js';
import {
  acceptsValue,
  containsRef,
  isObject,
  type JsonSchema,
  jsonEqual,
  pointerToken,
  resolveLocalRef,
  type SchemaObject,
} from './schema-walk.js';

export interface BreakingChange {
  /** JSON pointer into the reader schema (or the writer's, where the reader has no such node). */
  pointer: string;
  kind: string;
  message: string;
  /** Set by checkCompatibility: which reading failed. */
  direction?: 'BACKWARD' | 'FORWARD';
  /** Set by checkCompatibility: 1-based version number of the registered schema compared against. */
  againstVersion?: number;
}

export interface CheckOptions {
  /** Adding an optional property to an open model counts as compatible in both directions. */
  optionalFriendly?: boolean;
}

export interface Labels {
  writer: string;
  reader: string;
}

/** The `true` schema as an object; one shared instance so that cycle detection recognises it. */
const ANYTHING: SchemaObject = Object.freeze({});
const MAX_DEPTH = 128;
const MAX_STEPS = 20_000;
const CANNOT_TELL = new Set([
  'recursive-ref',
  'too-complex',
  'unsupported-keyword',
  'unresolvable-ref',
  'invalid-schema',
]);

export class Comparison {
  private readonly breaks: BreakingChange[] = [];
  private readonly active: Array<[unknown, unknown]> = [];
  private readonly derived = new WeakMap<SchemaObject, SchemaObject>();
  private readonly mergeKeys = new WeakMap<SchemaObject, Map<unknown, SchemaObject>>();
  private steps = 0;
  private readonly context: KeywordContext;
  /** Equal subtrees mean equal sets only if every `$ref` inside them resolves to the same thing. */
  private readonly refsStable: boolean;

  constructor(
    private readonly writerRoot: JsonSchema,
    private readonly readerRoot: JsonSchema,
    private readonly options: CheckOptions,
    private readonly labels: Labels,
  ) {
    this.context = {
      labels,
      report: (kind, pointer, detail, advice) => this.report(kind, pointer, detail, advice),
    };
    const defs = (root: unknown) => (isObject(root) ? [root.$defs, root.definitions] : []);
    this.refsStable =
      jsonEqual(defs(writerRoot), defs(readerRoot)) && onlyDefRefs(writerRoot) && onlyDefRefs(readerRoot);
  }

  run(): BreakingChange[] {
    if (!jsonEqual(this.writerRoot, this.readerRoot)) this.compare(this.writerRoot, this.readerRoot, '', '');
    // Shared definitions are reached along several paths; report each finding once.
    const seen = new Set<string>();
    return this.breaks.filter((b) => {
      const key = `${b.kind}\u0000${b.message}`;
      return !seen.has(key) && seen.add(key) !== undefined;
    });
  }

  private report(kind: string, pointer: string, detail: string, advice: string): void {
    this.breaks.push({ pointer, kind, message: `${pointer || '/'}: ${detail}; ${advice}` });
  }

  private same(a: unknown, b: unknown): boolean {
    return jsonEqual(a, b) && (this.refsStable || !containsRef(a));
  }

  private compare(w: unknown, r: unknown, wp: string, rp: string): void {
    const { writer: W, reader: R } = this.labels;
    if (this.same(w, r) || r === true || w === false) return;
    if (isObject(r) && Object.keys(r).every((key) => ANNOTATIONS.has(key))) return;
    if (!isSchema(w) || !isSchema(r)) {
      this.report('invalid-schema', rp, 'this is not a JSON Schema (object or boolean)', 'fix the schema');
      return;
    }
    if (r === false) {
      this.report(
        'rejects-all',
        rp,
        `${R} accepts no value here but ${W} may contain one`,
        'keep accepting the values, or deprecate them first',
      );
      return;
    }
    const ws: SchemaObject = w === true ? ANYTHING : (w as SchemaObject);
    const rs = r as SchemaObject;
    // A $ref with sibling keywords yields a fresh object per visit, so a cycle through one never repeats a pair;
    // the depth limit catches those.
    if (++this.steps > MAX_STEPS) {
      if (this.steps === MAX_STEPS + 1) {
        this.report(
          'too-complex',
          rp,
          `the schemas are too large or too deeply linked to compare (over ${MAX_STEPS} steps)`,
          'simplify the change, or register with compatibility NONE',
        );
      }
      return;
    }
    if (this.active.length > MAX_DEPTH || this.active.some(([a, b]) => a === ws && b === rs)) {
      this.report(
        'recursive-ref',
        rp,
        'a recursive $ref changed and the checker does not compare recursive schemas',
        'keep the recursive definition unchanged, or register with compatibility NONE',
      );
      return;
    }
    this.active.push([ws, rs]);
    try {
      this.compareObjects(ws, rs, wp, rp);
    } finally {
      this.active.pop();
    }
  }

  private compareObjects(w: SchemaObject, r: SchemaObject, wp: string, rp: string): void {
    if (r.$ref !== undefined) {
      const target = this.resolve(this.readerRoot, r.$ref, rp);
      if (target) this.compare(w, target.schema, wp, target.pointer);
      const siblings = this.siblingsOf(r);
      if (Object.keys(siblings).some((key) => !ANNOTATIONS.has(key))) this.compare(w, siblings, wp, rp);
      return;
    }
    if (w.$ref !== undefined) {
      const target = this.resolve(this.writerRoot, w.$ref, wp);
      if (target) this.compare(this.writerWithSiblings(w, target.schema), r, target.pointer, rp);
      return;
    }
    const R = this.labels.reader;
    this.compareUnknown(w, r, rp);
    const values = finiteValues(w);
    if (values) {
      this.compareValues(values, r, rp);
      return;
    }
    if (Object.hasOwn(r, 'const') || r.enum !== undefined) {
      this.report(
        'enum-added',
        rp + (Object.hasOwn(r, 'const') ? '/const' : '/enum'),
        `${R} accepts only a fixed list of values but ${this.labels.writer} is not limited to one`,
        'add the list only in a new property, or list every value the writer may send',
      );
      return;
    }
    const wTypes = typeSet(w);
    const rTypes = typeSet(r);
    if (!wTypes || !rTypes) {
      this.report(
        'invalid-schema',
        `${rp}/type`,
        '"type" must be a type name or an array of them',
        'fix the schema',
      );
      return;
    }
    const lost = [...wTypes].filter((t) => !covers(rTypes, t, w));
    if (lost.length > 0) {
      this.report(
        'type-narrowed',
        `${rp}/type`,
        `type changed: ${this.labels.writer} ${w.type === undefined ? 'sets no type, so it ' : ''}may be ${lost.join(
          ' or ',
        )} but ${R} accepts only ${[...rTypes].join(', ')}`,
        'keep the old type (widening is fine), or add a new property instead',
      );
    }
    if (wTypes.has('number') || wTypes.has('integer'))
      compareNumbers(this.context, w, r, rp, !wTypes.has('number'));
    if (wTypes.has('string')) compareStrings(this.context, w, r, rp);
    if (wTypes.has('array')) this.compareArrays(w, r, wp, rp);
    if (wTypes.has('object')) this.compareObjectKeywords(w, r, wp, rp);
  }

  /** The keywords beside a `$ref`, as one object per schema so that cycles through it repeat a pair. */
  private siblingsOf(schema: SchemaObject): SchemaObject {
    let siblings = this.derived.get(schema);
    if (!siblings) {
      const { $ref: _ignored, ...rest } = schema;
      siblings = rest;
      this.derived.set(schema, siblings);
    }
    return siblings;
  }

  /**
   * What a writer with `$ref` and siblings may send, over-approximated: the union of the target's and the
   * siblings' keywords when they do not overlap and are all understood (merging then only drops interactions such
   * as `additionalProperties` against the other's `properties`, which widens the set), else the target alone.
   */
  private writerWithSiblings(schema: SchemaObject, target: unknown): unknown {
    const siblings = this.siblingsOf(schema);
    const constraining = Object.keys(siblings).filter((key) => !ANNOTATIONS.has(key));
    if (constraining.length === 0 || !isObject(target)) return target;
    const keys = Object.keys(target);
    const mergeable =
      keys.every((key) => KNOWN.has(key) || ANNOTATIONS.has(key)) &&
      constraining.every(
        (key) => KNOWN.has(key) && (!keys.includes(key) || jsonEqual(siblings[key], target[key])),
      );
    if (!mergeable) return target;
    const cacheKey = this.mergeKeys.get(schema) ?? new Map<unknown, SchemaObject>();
    this.mergeKeys.set(schema, cacheKey);
    let merged = cacheKey.get(target);
    if (!merged) {
      merged = { ...target, ...Object.fromEntries(constraining.map((key) => [key, siblings[key]])) };
      cacheKey.set(target, merged);
    }
    return merged;
  }

  private resolve(root: unknown, ref: unknown, at: string): { schema: unknown; pointer: string } | undefined {
    const target = typeof ref === 'string' ? resolveLocalRef(root, ref) : undefined;
    if (!target) {
      this.report(
        'unresolvable-ref',
        `${at}/$ref`,
        `$ref ${JSON.stringify(ref)} does not point into this document`,
        'use a local reference such as "#/$defs/name"; Junction never fetches schemas by URL',
      );
    }
    return target;
  }

  private compareUnknown(w: SchemaObject, r: SchemaObject, rp: string): void {
    const keys = new Set([...Object.keys(w), ...Object.keys(r)]);
    for (const key of keys) {
      if (KNOWN.has(key) || ANNOTATIONS.has(key)) continue;
      // unevaluated* depend on every sibling keyword, so equal values do not mean equal constraints.
      const dependsOnSiblings = key.startsWith('unevaluated') && Object.hasOwn(r, key);
      if (!dependsOnSiblings && this.same(w[key], r[key])) continue;
      this.report(
        'unsupported-keyword',
        `${rp}/${pointerToken(key)}`,
        `"${key}" changed and the checker cannot prove the change is safe`,
        `keep "${key}" identical between versions, or register with compatibility NONE`,
      );
    }
    if (Array.isArray(w.items) || Array.isArray(r.items)) {
      if (!this.same(w.items, r.items)) {
        this.report(
          'unsupported-keyword',
          `${rp}/items`,
          'array-form "items" (draft 2019 and older) changed',
          'use "prefixItems" (draft 2020-12) or keep "items" identical',
        );
      }
    }
  }

  private compareValues(values: unknown[], r: SchemaObject, rp: string): void {
    const rejected = values.filter((value) => !acceptsValue(r, value, this.readerRoot));
    if (rejected.length === 0) return;
    const shown = rejected.map((value) => JSON.stringify(value)).join(', ');
    this.report(
      'value-rejected',
      rp,
      `${this.labels.reader} rejects ${shown}, which ${this.labels.writer} may contain`,
      'keep accepting those values (adding values is the safe change), or deprecate them first',
    );
  }

  private compareArrays(w: SchemaObject, r: SchemaObject, wp: string, rp: string): void {
    compareLengths(this.context, w, r, rp, 'minItems', 'maxItems', 'items');
    if (r.uniqueItems === true && w.uniqueItems !== true) {
      this.report(
        'unique-items-added',
        `${rp}/uniqueItems`,
        `${this.labels.reader} requires unique items but ${this.labels.writer} may repeat them`,
        'drop uniqueItems from the reader',
      );
    }
    if (Array.isArray(w.items) || Array.isArray(r.items)) return;
    const wPrefix = Array.isArray(w.prefixItems) ? w.prefixItems : [];
    const rPrefix = Array.isArray(r.prefixItems) ? r.prefixItems : [];
    const wMax = typeof w.maxItems === 'number' ? w.maxItems : Number.POSITIVE_INFINITY;
    const n = Math.max(wPrefix.length, rPrefix.length);
    for (let i = 0; i < n && i < wMax; i++) {
      const [ws, wAt] =
        i < wPrefix.length ? [wPrefix[i], `${wp}/prefixItems/${i}`] : [w.items, `${wp}/items`];
      const [rs, rAt] =
        i < rPrefix.length ? [rPrefix[i], `${rp}/prefixItems/${i}`] : [r.items, `${rp}/items`];
      this.compare(ws ?? true, rs ?? true, wAt, rAt);
    }
    if (wMax > n) this.compare(w.items ?? true, r.items ?? true, `${wp}/items`, `${rp}/items`);
  }

  private compareObjectKeywords(w: SchemaObject, r: SchemaObject, wp: string, rp: string): void {
    const W = this.labels.writer;
    const R = this.labels.reader;
    const wRequired = strings(w.required);
    for (const name of strings(r.required)) {
      if (wRequired.includes(name)) continue;
      this.report(
        'required-added',
        `${rp}/required`,
        `"${name}" is required by ${R} but ${W} may omit it`,
        `make "${name}" optional, or give it a default in a new version that reads it as optional`,
      );
    }
    const wMinProps = Math.max(typeof w.minProperties === 'number' ? w.minProperties : 0, wRequired.length);
    if (typeof r.minProperties === 'number' && r.minProperties > wMinProps) {
      this.report(
        'minProperties-raised',
        `${rp}/minProperties`,
        `${R} requires at least ${r.minProperties} properties but ${W} guarantees only ${wMinProps}`,
        'keep minProperties at its old value or lower',
      );
    }
    if (
      typeof r.maxProperties === 'number' &&
      !(typeof w.maxProperties === 'number' && w.maxProperties <= r.maxProperties)
    ) {
      this.report(
        'maxProperties-lowered',
        `${rp}/maxProperties`,
        `${R} allows at most ${r.maxProperties} properties but ${W} may send more`,
        'keep maxProperties at its old value or higher',
      );
    }
    const wProps = isObject(w.properties) ? w.properties : {};
    const rProps = isObject(r.properties) ? r.properties : {};
    const wPatterns = isObject(w.patternProperties) ? Object.entries(w.patternProperties) : [];
    const rPatterns = isObject(r.patternProperties) ? Object.entries(r.patternProperties) : [];
    for (const [pattern] of [...wPatterns, ...rPatterns]) {
      if (!validRegex(pattern)) {
        this.report(
          'invalid-schema',
          `${rp}/patternProperties`,
          `invalid pattern ${JSON.stringify(pattern)}`,
          'fix it',
        );
        return;
      }
    }
    const wOpen = w.additionalProperties === undefined || w.additionalProperties === true;
    const names = new Set([...Object.keys(wProps), ...Object.keys(rProps)]);
    for (const name of names) {
      const token = pointerToken(name);
      let writerSide: [unknown, string];
      let writerUndeclared = false;
      const wPattern = wPatterns.find(([p]) => new RegExp(p, 'u').test(name));
      // The writer's value must satisfy every schema that applies to it, so comparing any one of them is sound.
      if (Object.hasOwn(wProps, name)) writerSide = [wProps[name], `${wp}/properties/${token}`];
      else if (wPattern) writerSide = [wPattern[1], `${wp}/patternProperties/${pointerToken(wPattern[0])}`];
      else {
        writerSide = [w.additionalProperties ?? true, `${wp}/additionalProperties`];
        writerUndeclared = true;
      }
      if (writerUndeclared && wOpen && this.options.optionalFriendly && Object.hasOwn(rProps, name)) continue;
      const readerSide: Array<[unknown, string]> = [];
      if (Object.hasOwn(rProps, name)) readerSide.push([rProps[name], `${rp}/properties/${token}`]);
      for (const [p, s] of rPatterns) {
        if (new RegExp(p, 'u').test(name)) readerSide.push([s, `${rp}/patternProperties/${pointerToken(p)}`]);
      }
      if (readerSide.length === 0 && r.additionalProperties !== undefined) {
        readerSide.push([r.additionalProperties, `${rp}/additionalProperties`]);
      }
      for (const [schema, at] of readerSide) {
        if (schema === false && writerSide[0] !== false) {
          this.report(
            'property-removed',
            at,
            `${R} is a closed model without "${name}", but ${W} may send "${name}"`,
            `keep "${name}" in the reader's properties (it may be deprecated), or open the model`,
          );
        } else if (writerUndeclared && wOpen && !this.same(true, schema)) {
          const before = this.breaks.length;
          this.compare(writerSide[0], schema, writerSide[1], at);
          if (this.breaks.length > before) {
            // Replace value-level findings with the one explanation that matters; keep "cannot tell" findings.
            if (this.breaks.slice(before).every((b) => !CANNOT_TELL.has(b.kind))) this.breaks.splice(before);
            this.report(
              'open-model-property-constrained',
              at,
              `${W} is an open model, so it may already send "${name}" with any value, which ${R} now constrains`,
              'this is the usual "add an optional property" change: accept it with the optional-friendly option',
            );
          }
        } else this.compare(writerSide[0], schema, writerSide[1], at);
      }
    }
    // Property names listed by neither side: the writer sends them under its patterns or additionalProperties.
    const writerOthers: Array<[unknown, string, string | undefined]> = wPatterns.map(([p, s]) => [
      s,
      `${wp}/patternProperties/${pointerToken(p)}`,
      p,
    ]);
    if (w.additionalProperties !== false) {
      writerOthers.push([w.additionalProperties ?? true, `${wp}/additionalProperties`, undefined]);
    }
    for (const [p, s] of rPatterns) {
      // Names matching a pattern the writer also declares are constrained by the writer's schema for it.
      const twin = writerOthers.filter(([, , wpat]) => wpat === p);
      for (const [ws, wAt] of twin.length > 0 ? twin : writerOthers) {
        this.compare(ws, s, wAt, `${rp}/patternProperties/${pointerToken(p)}`);
      }
    }
    const rAdditional = r.additionalProperties;
    if (rAdditional === undefined || rAdditional === true) return;
    for (const [ws, wAt, p] of writerOthers) {
      if (p !== undefined && rPatterns.some(([rpat]) => rpat === p)) continue;
      if (ws === false) continue;
      if (rAdditional === false) {
        this.report(
          'content-model-closed',
          `${rp}/additionalProperties`,
          `${R} is a closed model (additionalProperties: false) but ${W} may send properties it does not list${
            p === undefined ? '' : ` (names matching ${JSON.stringify(p)})`
          }`,
          'keep the model open, or list every property the writer may send',
        );
      } else this.compare(ws, rAdditional, wAt, `${rp}/additionalProperties`);
    }
  }
}
