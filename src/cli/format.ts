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
