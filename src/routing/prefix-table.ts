/**
 * Finds the items stored under every prefix of a string: a map from prefix length to a map from
 * prefix to items. A lookup costs one slice and one hash probe per distinct prefix length stored,
 * which stays small in practice (prefixes are path-like: `orders/`, `/acme/billing`), while a
 * character trie would cost a map probe per character of the value and a node per character stored.
 */
export class PrefixTable<T> {
  private readonly byLength = new Map<number, Map<string, T[]>>();
  /** The distinct prefix lengths stored, ascending, so a lookup stops at the value's length. */
  private lengths: number[] = [];

  add(prefix: string, item: T): void {
    let prefixes = this.byLength.get(prefix.length);
    if (!prefixes) {
      prefixes = new Map();
      this.byLength.set(prefix.length, prefixes);
      this.lengths = [...this.lengths, prefix.length].sort((a, b) => a - b);
    }
    const list = prefixes.get(prefix);
    if (list) list.push(item);
    else prefixes.set(prefix, [item]);
  }

  /**
   * Appends to `out` every item stored under a prefix of `value` (the empty prefix and `value`
   * itself included), shorter prefixes first.
   *
   * @example
   * table.add('orders/', a); table.add('orders/1', b); table.add('users/', c);
   * table.collect('orders/12', out); // out gains a, b
   */
  collect(value: string, out: T[]): void {
    for (const length of this.lengths) {
      if (length > value.length) return;
      const list = this.byLength.get(length)!.get(value.slice(0, length));
      if (list) for (const item of list) out.push(item);
    }
  }
}
