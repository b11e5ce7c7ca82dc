/**
 * The main thread's side of the writer thread: ops asked for in one turn of the event loop go over
 * in one message, and each promise resolves once the transaction holding its op is durable.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../core/errors.js';
import type { WriteOp, WriteResult } from './write-ops.js';
import type { FromWriter, ToWriter } from './writer-worker.js';

/** The writer thread's young generation, in MB (V8's default grows to 16 MB per semi-space). */
const WRITER_YOUNG_GENERATION_MB = 4;

interface Waiting {
  resolve: (value: WriteResult) => void;
  reject: (error: Error) => void;
}

/**
 * The worker runs compiled JavaScript. Under the test runner this module is TypeScript source, and
 * the worker comes from the build that `npm test` makes first.
 */
function workerUrl(): URL {
  const beside = new URL('./writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../../dist/storage/sqlite/writer-worker.js', import.meta.url);
}

export class WriterClient {
  private readonly worker: Worker;
  private queue: { op: WriteOp; waiting: Waiting }[] = [];
  /** Events (or other ops) asked for and not yet answered: queued here, or in the writer thread. */
  private outstanding = 0;
  private scheduled = false;
  private nextBatch = 1;
  private readonly inFlight = new Map<number, Waiting[]>();
  private closed = false;
  private exited = false;
  private failure: Error | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (m: FromWriter) => this.onMessage(m));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      this.exited = true;
      if (!this.closed) this.fail(new Error(`the storage writer thread exited with code ${code}`));
    });
  }

  /** Starts the writer thread on the database at `path`; resolves once its schema is up to date. */
  static start(path: string): Promise<WriterClient> {
    const worker = new Worker(workerUrl(), {
      workerData: { path },
      // The thread only turns messages into rows, and what it allocates dies within a commit: a
      // small young generation keeps its heap small without costing it anything measurable.
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWriter) => {
        worker.off('message', onMessage);
        if ('ready' in m) resolve(new WriterClient(worker));
        else
          reject(
            new Error(`cannot open the store at ${path}: ${'initError' in m ? m.initError : 'unknown'}`),
          );
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** Queues an op for the next group commit. */
  run(op: WriteOp): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new UnavailableError('the hub is shutting down; retry shortly'));
    if (this.failure) return Promise.reject(new UnavailableError(`storage failed: ${this.failure.message}`));
    const weight = op.kind === 'append' ? op.events.length : 1;
    this.outstanding += weight;
    const settle = () => {
      this.outstanding -= weight;
    };
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({
        op,
        waiting: {
          resolve: (value) => {
            settle();
            resolve(value);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
        },
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  /** Events and other writes asked for and not yet durable (or failed). */
  get pending(): number {
    return this.outstanding;
  }

  /** False once the writer thread has failed: nothing more can be made durable. */
  get healthy(): boolean {
    return this.failure === undefined && !this.exited;
  }

  /** Commits what is queued and stops the thread once everything sent is answered. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.exited) return;
    this.send();
    const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ close: true } satisfies ToWriter);
    await done;
  }

  private send(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.nextBatch++;
    const items = this.queue;
    this.queue = [];
    this.inFlight.set(
      batch,
      items.map((i) => i.waiting),
    );
    this.worker.postMessage({ batch, ops: items.map((i) => i.op) } satisfies ToWriter);
  }

  private onMessage(m: FromWriter): void {
    if (!('batch' in m)) return;
    const waiting = this.inFlight.get(m.batch);
    if (!waiting) return;
    this.inFlight.delete(m.batch);
    if ('commitError' in m) {
      for (const w of waiting) w.reject(new UnavailableError(`storage could not commit: ${m.commitError}`));
      return;
    }
    m.results.forEach((r, i) => {
      const w = waiting[i]!;
      if (r.ok) w.resolve(r.value as WriteResult);
      else w.reject(new Error(r.error));
    });
  }

  private fail(error: Error): void {
    this.failure = error;
    const reason = new UnavailableError(`storage failed: ${error.message}`);
    for (const waiting of this.inFlight.values()) for (const w of waiting) w.reject(reason);
    this.inFlight.clear();
    for (const q of this.queue.splice(0)) q.waiting.reject(reason);
  }
}
