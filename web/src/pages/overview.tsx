/** Overview: live rates, error rate and latency from GET /v1/stats, and the backlog per lane. */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../api';
import { ErrorNote, Link } from '../components';

interface StatsPoint {
  at: string;
  ingested: number;
  delivered: number;
  failed: number;
  dead: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Stats {
  now: string;
  intervalSeconds: number;
  series: StatsPoint[];
  backlog: {
    subscription: string;
    channel: string;
    pending: number;
    oldestPendingAgeSeconds: number | null;
  }[];
  totals: { ingested: number; delivered: number; failed: number; dead: number };
}

const POLL_MS = 5_000;
const WINDOW_SECONDS = 600;

type Series = { label: string; values: (s: StatsPoint, interval: number) => number | null; stroke: string };

/**
 * Error rate and latency are null in steps with no attempts, so a lone busy step has no neighbour to
 * draw a line to: these charts mark every point as well.
 */
const SPARSE = new Set(['Error rate', 'Latency, received to delivered']);

const CHARTS: { title: string; unit: string; series: Series[] }[] = [
  {
    title: 'Ingest and delivery rate',
    unit: 'events/s',
    series: [
      { label: 'ingested/s', values: (s, i) => s.ingested / i, stroke: '#2563eb' },
      { label: 'delivered/s', values: (s, i) => s.delivered / i, stroke: '#16a34a' },
    ],
  },
  {
    title: 'Error rate',
    unit: '%',
    series: [
      {
        label: 'failed %',
        values: (s) => (s.delivered + s.failed === 0 ? null : (100 * s.failed) / (s.delivered + s.failed)),
        stroke: '#dc2626',
      },
    ],
  },
  {
    title: 'Latency, received to delivered',
    unit: 'ms',
    series: [
      { label: 'p50 ms', values: (s) => s.p50Ms, stroke: '#0891b2' },
      { label: 'p99 ms', values: (s) => s.p99Ms, stroke: '#9333ea' },
    ],
  },
];

function Chart({ stats, chart }: { stats: Stats; chart: (typeof CHARTS)[number] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [
    stats.series.map((s) => Date.parse(s.at) / 1000),
    ...chart.series.map((series) => stats.series.map((s) => series.values(s, stats.intervalSeconds))),
  ];

  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        width: Math.max(box.current.clientWidth, 300),
        height: 180,
        series: [
          {},
          ...chart.series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 2,
            points: { show: SPARSE.has(chart.title), size: 6, fill: s.stroke },
          })),
        ],
        axes: [{}, { label: chart.unit }],
      },
      data,
      box.current,
    );
    return () => plot.current?.destroy();
    // The chart is made once; later polls only give it new data.
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure>
      <figcaption>{chart.title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

/** An age in the largest unit that keeps it readable: "14 s", "3 min", "2.5 h". */
function age(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function OverviewPage() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await api<Stats>(`/v1/stats?window=${WINDOW_SECONDS}`);
        if (stopped) return;
        setStats(next);
        setError(null);
      } catch (e) {
        if (stopped) return;
        setError(e);
      }
      timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  return (
    <section>
      <h1>Overview</h1>
      <ErrorNote error={error} what="Live statistics (GET /v1/stats)" />
      {stats && (
        <>
          <p>
            Since this hub process started: {stats.totals.ingested} ingested, {stats.totals.delivered}{' '}
            delivered, {stats.totals.failed} failed attempts, {stats.totals.dead} dead. Charts: the last{' '}
            {WINDOW_SECONDS / 60} minutes in {stats.intervalSeconds}-second steps.
          </p>
          <div class="charts">
            {CHARTS.map((chart) => (
              <Chart key={chart.title} stats={stats} chart={chart} />
            ))}
          </div>
          <h2>Backlog</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Subscription</th>
                <th scope="col">Channel</th>
                <th scope="col">Pending</th>
                <th scope="col">Oldest pending</th>
              </tr>
            </thead>
            <tbody>
              {stats.backlog.length === 0 && (
                <tr>
                  <td colSpan={4}>Nothing pending.</td>
                </tr>
              )}
              {stats.backlog.map((b) => (
                <tr key={`${b.subscription} ${b.channel}`}>
                  <td>
                    <Link to={`/subscriptions/${encodeURIComponent(b.subscription)}`}>{b.subscription}</Link>
                  </td>
                  <td>{b.channel}</td>
                  <td>{b.pending}</td>
                  <td>{age(b.oldestPendingAgeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
