/** Plain-text formatting for command output. Kept dependency-free: a few aligned columns is all it needs. */

/**
 * Lays out rows under headers in left-aligned columns separated by two spaces.
 *
 * @example
 * formatTable(['ID', 'STATUS'], [['sub_1', 'active']]);
 * // 'ID     STATUS\nsub_1  active'
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Shows any value as one short table cell: `-` for nothing, JSON for structures, cut to `max` characters. */
export function cell(value: unknown, max = 60): string {
  let text: string;
  if (value === undefined || value === null || value === '') text = '-';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else text = JSON.stringify(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Pretty-prints a value as JSON, as the `--json` flags do. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Writes one block of output followed by a newline. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Shows counts by name in a fixed order, leaving out zeros: `delivered 3, dead 1`, or `-` for none.
 *
 * @example
 * formatCounts({ dead: 1, delivered: 3 }, ['delivered', 'dead']); // 'delivered 3, dead 1'
 */
export function formatCounts(
  counts: Record<string, number | undefined> | undefined,
  order: string[],
): string {
  const names = [...order, ...Object.keys(counts ?? {}).filter((name) => !order.includes(name))];
  const parts = names.filter((name) => (counts?.[name] ?? 0) > 0).map((name) => `${name} ${counts?.[name]}`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

/**
 * Shows a duration in milliseconds in its largest whole units: `7d`, `1h30m`, `250ms`.
 *
 * @example
 * formatDuration(5_400_000); // '1h30m'
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return rest > 0 ? `${text}${rest}ms` : text;
}
