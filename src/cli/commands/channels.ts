/** `junction channels`: the channels the hub was configured with, and how each delivers. */
import type { Command } from 'commander';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { cell, formatDuration, formatTable, json, print } from '../format.js';

/** A channel as `GET /v1/channels` returns it. */
export interface Channel {
  name: string;
  types?: string[];
  mode?: string;
  concurrency?: number;
  retentionMs?: number;
  batch?: { maxEvents?: number; maxWaitMs?: number; maxBytes?: number } | null;
}

/** Describes a batch policy in one cell: `100 events / 5s / 1048576 bytes`, or `-` for none. */
function formatBatch(batch: Channel['batch']): string {
  if (!batch) return '-';
  const parts: string[] = [];
  if (batch.maxEvents !== undefined) parts.push(`${batch.maxEvents} events`);
  if (batch.maxWaitMs !== undefined) parts.push(formatDuration(batch.maxWaitMs));
  if (batch.maxBytes !== undefined) parts.push(`${batch.maxBytes} bytes`);
  return parts.join(' / ');
}

/** Lays out channels as a table, one row per channel. */
export function formatChannels(channels: Channel[]): string {
  if (channels.length === 0) return 'No channels.';
  return formatTable(
    ['NAME', 'MODE', 'CONCURRENCY', 'RETENTION', 'BATCH', 'TYPES'],
    channels.map((c) => [
      c.name,
      cell(c.mode),
      cell(c.concurrency),
      c.retentionMs === undefined ? '-' : formatDuration(c.retentionMs),
      formatBatch(c.batch),
      c.types?.length ? cell(c.types.join(','), 80) : '-',
    ]),
  );
}

/** Adds `junction channels` to the program. */
export function registerChannels(program: Command): void {
  const command = program
    .command('channels')
    .description('List the channels events are sorted into, with how each delivers (GET /v1/channels).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(command).addHelpText(
    'after',
    `
Channels are set in the hub's configuration, and each event belongs to one by its type. RETENTION is
how long events stay available for replay, counted from when they were received.

Examples:
  $ junction channels
  $ junction channels --json`,
  );
  command.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Channel[]>({ method: 'GET', path: '/v1/channels' });
    print(opts.json ? json(answer) : formatChannels(Array.isArray(answer) ? answer : []));
  });
}
