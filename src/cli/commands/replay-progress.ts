/**
 * Following a replay while it runs: a progress bar on a terminal, a line now and then otherwise, until
 * the job has scanned its range and every delivery it made has settled, or the user presses Ctrl-C.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import { formatCounts } from '../format.js';
import { DELIVERY_STATUS_ORDER } from './delivery.js';
import type { Replay } from './replay.js';

/** Delivery statuses a delivery does not leave on its own: nothing more will happen to it. */
export const SETTLED_STATUSES = ['delivered', 'dead', 'discarded', 'filtered'];

type Phase = 'scanning events' | 'deliveries settled';

/** What a progress bar shows: the step the replay is at, and how far along it is. */
export interface ReplayProgress {
  phase: Phase;
  value: number;
  total: number;
}

/** The replayed deliveries that have settled (delivered, dead, discarded or filtered). */
export function settledCount(replay: Replay): number {
  return SETTLED_STATUSES.reduce((sum, status) => sum + (replay.deliveries?.[status] ?? 0), 0);
}

/** The step a replay is at: scanning its range while it runs, then waiting for its deliveries. */
function phaseOf(replay: Replay): Phase {
  return replay.status === 'running' ? 'scanning events' : 'deliveries settled';
}

/**
 * How far a replay is along a phase (by default the one it is at): events scanned of those in its
 * range, or its deliveries settled of those it made.
 *
 * @example
 * replayProgress({ ...replay, status: 'running', scanned: 1000, total: 5000 });
 * // { phase: 'scanning events', value: 1000, total: 5000 }
 */
export function replayProgress(replay: Replay, phase: Phase = phaseOf(replay)): ReplayProgress {
  if (phase === 'scanning events') {
    // `total` was counted when the job started; the scan can see a few more events of the range.
    return { phase, value: replay.scanned, total: Math.max(replay.total, replay.scanned) };
  }
  return { phase, value: settledCount(replay), total: replay.matched };
}

/**
 * Whether there is nothing left to wait for: a completed replay whose deliveries have all settled,
 * or one that failed or was cancelled (it makes no more deliveries, and the user is told why).
 */
export function isReplayDone(replay: Replay): boolean {
  if (replay.status === 'running') return false;
  if (replay.status !== 'completed') return true;
  return settledCount(replay) >= replay.matched;
}

/** What goes beside the numbers: events matched so far, or the deliveries by status. */
export function progressDetail(replay: Replay, phase: Phase = phaseOf(replay)): string {
  if (phase === 'scanning events') return `${replay.matched} matched`;
  const counts = formatCounts(replay.deliveries, DELIVERY_STATUS_ORDER);
  return counts === '-' ? '' : counts;
}

/**
 * One line of progress, as printed when stderr is not a terminal.
 *
 * @example
 * describeProgress(replay); // 'replay rpl_1: deliveries settled 2/3 (pending 1, delivered 2)'
 */
export function describeProgress(replay: Replay, phase: Phase = phaseOf(replay)): string {
  const { value, total } = replayProgress(replay, phase);
  const detail = progressDetail(replay, phase);
  return `replay ${replay.id}: ${phase} ${value}/${total}${detail ? ` (${detail})` : ''}`;
}

interface Reporter {
  show(replay: Replay): void;
  stop(): void;
}

/**
 * Shows each poll in its phase. When the scan has ended between two polls, the scan is first shown
 * complete, so what stays on screen is where it ended rather than the last poll that saw it running.
 */
function phased(render: (replay: Replay, phase: Phase) => void, stop: () => void): Reporter {
  let shown: Phase | undefined;
  return {
    show(replay) {
      const phase = phaseOf(replay);
      if (shown === 'scanning events' && phase !== shown) render(replay, shown);
      render(replay, phase);
      shown = phase;
    },
    stop,
  };
}

/** A cli-progress bar, a new one for each phase so the finished scan stays on screen above it. */
function barReporter(stream: NodeJS.WriteStream): Reporter {
  let bar: SingleBar | undefined;
  let barPhase: Phase | undefined;
  return phased(
    (replay, phase) => {
      const { value, total } = replayProgress(replay, phase);
      const payload = { phase, detail: progressDetail(replay, phase) };
      if (bar && barPhase === phase) {
        bar.setTotal(total);
        bar.update(value, payload);
        return;
      }
      bar?.stop();
      barPhase = phase;
      bar = new SingleBar({
        stream,
        format: '{phase} [{bar}] {value}/{total} {percentage}% {detail}',
        barsize: 30,
        // A bar with nothing to do (no event matched) is complete, not empty.
        emptyOnZero: false,
      });
      bar.start(total, value, payload);
    },
    () => bar?.stop(),
  );
}

/**
 * A line whenever the progress changes, and every 10 seconds while it does not, so a log shows the
 * job is alive without filling up while a delivery waits out a long retry delay.
 */
function lineReporter(stream: NodeJS.WritableStream): Reporter {
  let last = '';
  let lastAt = 0;
  return phased(
    (replay, phase) => {
      const line = describeProgress(replay, phase);
      if (line === last && Date.now() - lastAt < 10_000) return;
      stream.write(`${line}\n`);
      last = line;
      lastAt = Date.now();
    },
    () => {},
  );
}

export interface FollowOptions {
  /** Where progress goes; a bar when it is a terminal (default: stderr). */
  stream?: NodeJS.WriteStream;
  /** Time between polls (default: 500 ms with a bar, 1 s otherwise). */
  intervalMs?: number;
}

/**
 * Polls a replay until `isReplayDone`, showing progress. The first Ctrl-C stops following and returns
 * with `interrupted`; the replay goes on in the hub. The handler is removed after that first Ctrl-C, so
 * a second one ends the process as usual.
 *
 * @example
 * const { replay } = await followReplay(started, () => client.send<Replay>(getReplayRequest(started.id)));
 */
export async function followReplay(
  initial: Replay,
  poll: () => Promise<Replay>,
  options: FollowOptions = {},
): Promise<{ replay: Replay; interrupted: boolean }> {
  if (isReplayDone(initial)) return { replay: initial, interrupted: false };
  const stream = options.stream ?? process.stderr;
  const reporter = stream.isTTY ? barReporter(stream) : lineReporter(stream);
  const intervalMs = options.intervalMs ?? (stream.isTTY ? 500 : 1_000);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  let replay = initial;
  try {
    reporter.show(replay);
    while (!isReplayDone(replay)) {
      try {
        await sleep(intervalMs, undefined, { signal: interrupt.signal });
      } catch {
        return { replay, interrupted: true };
      }
      replay = await poll();
      reporter.show(replay);
    }
    return { replay, interrupted: false };
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
  }
}
