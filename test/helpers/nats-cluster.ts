/**
 * A three-node JetStream cluster of the test's own: each node a `nats-server` on free loopback
 * ports (client, cluster route, monitoring) with its own config file, `server_name` and store
 * directory, so that a node can be SIGKILLed and restarted on the same ports and store, as a
 * crashed machine would come back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, NATS_SERVER_BIN } from './nats.js';

/** Waits are generous: on a loaded 2-core machine a Raft election alone can take seconds. */
const START_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

/** One node: its ports, files and, while it runs, its process. */
export interface ClusterNode {
  index: number;
  /** The `server_name`, which JetStream reports as a stream's `cluster.leader`. */
  name: string;
  port: number;
  clusterPort: number;
  httpPort: number;
  dir: string;
  url: string;
}

/** What a node's `/jsz` says about the JetStream meta group (the fields the harness reads). */
interface Jsz {
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    replicas?: { name: string; current: boolean; offline?: boolean }[];
  };
}

export class NatsCluster {
  readonly nodes: readonly ClusterNode[];
  readonly #root: string;
  readonly #children = new Map<number, ChildProcess>();

  private constructor(root: string, nodes: ClusterNode[]) {
    this.#root = root;
    this.nodes = nodes;
  }

  /**
   * Starts `size` nodes and resolves once JetStream has a meta leader that every node agrees on and
   * that sees every other node as current, so a stream with `size` replicas can be placed at once.
   *
   * @example const cluster = await NatsCluster.start(); await cluster.stop()
   * @throws Error naming the node and quoting its log when a node exits or the cluster never forms.
   */
  static async start(options: { size?: number; name?: string } = {}): Promise<NatsCluster> {
    const size = options.size ?? 3;
    const root = mkdtempSync(join(tmpdir(), 'junction-nats-cluster-'));
    const ports = await distinctFreePorts(size * 3);
    const nodes = Array.from({ length: size }, (_, index): ClusterNode => {
      const port = ports[index * 3]!;
      return {
        index,
        name: `n${index + 1}`,
        port,
        clusterPort: ports[index * 3 + 1]!,
        httpPort: ports[index * 3 + 2]!,
        dir: join(root, `n${index + 1}`),
        url: `nats://127.0.0.1:${port}`,
      };
    });
    const cluster = new NatsCluster(root, nodes);
    for (const node of nodes) cluster.#writeConfig(node, options.name ?? 'junction-test', nodes);
    try {
      for (const node of nodes) cluster.#spawn(node.index);
      for (const node of nodes) await cluster.#waitListening(node.index);
      await cluster.waitForMetaLeader();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Every node's client URL, for a connection that fails over between them. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The node whose `server_name` is `name` (as in a stream's `cluster.leader`). */
  nodeNamed(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node)
      throw new Error(`no node is named ${name}; nodes: ${this.nodes.map((n) => n.name).join(', ')}`);
    return node;
  }

  isRunning(i: number): boolean {
    const child = this.#children.get(i);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** SIGKILL: no shutdown, no flush, no leadership hand-over. Resolves once the process is gone. */
  async kill(i: number): Promise<void> {
    const child = this.#children.get(i);
    if (!child || !this.isRunning(i)) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Starts a killed node again on the same ports and store, and waits until it listens and the
   * meta group has a leader again. Its streams catch up afterwards: see `waitHealthy`.
   */
  async restart(i: number): Promise<void> {
    if (this.isRunning(i)) throw new Error(`${this.#node(i).name} is still running; kill it first`);
    this.#spawn(i);
    await this.#waitListening(i);
    await this.waitForMetaLeader();
  }

  /**
   * Resolves once every running node names the same meta leader, and that leader sees every
   * running node as a current peer.
   */
  async waitForMetaLeader(timeoutMs = START_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      const running = this.nodes.filter((n) => this.isRunning(n.index));
      const views = await Promise.all(running.map((n) => this.#jsz(n.index)));
      const leaders = new Set(views.map((v) => v?.meta_cluster?.leader ?? ''));
      const leader = leaders.size === 1 ? [...leaders][0] : '';
      if (leader) {
        const leaderView = views[running.findIndex((n) => n.name === leader)]?.meta_cluster;
        const current = new Set(
          (leaderView?.replicas ?? []).filter((r) => r.current && !r.offline).map((r) => r.name),
        );
        const behind = running.filter((n) => n.name !== leader && !current.has(n.name));
        if (leaderView && behind.length === 0) return leader;
        last = `leader ${leader} does not see ${behind.map((n) => n.name).join(', ')} as current`;
      } else {
        last = `leaders named: ${running.map((n, k) => `${n.name}→${views[k]?.meta_cluster?.leader || '-'}`).join(', ')}`;
      }
      this.#checkAlive();
      if (Date.now() > deadline) {
        throw new Error(`JetStream had no meta leader after ${timeoutMs} ms (${last})\n${this.#tails()}`);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Resolves once node `i` answers `/healthz` with ok: on nats-server 2.9 that means its JetStream
   * is enabled, it is current with the meta group, and every stream and consumer it holds a replica
   * of has caught up with its leader.
   */
  async waitHealthy(i: number, timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const node = this.#node(i);
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`, {
          signal: AbortSignal.timeout(2_000),
        });
        const body = await response.text();
        if (response.ok) return;
        last = `${response.status} ${body.trim()}`;
      } catch (error) {
        last = String(error);
      }
      this.#checkAlive();
      if (Date.now() > deadline) {
        throw new Error(
          `${node.name} was not healthy after ${timeoutMs} ms (${last})\n${this.#tail(node.index)}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** The last lines of node `i`'s log (stdout and stderr of every run). */
  logTail(i: number, lines = 20): string {
    const file = join(this.#node(i).dir, 'nats.log');
    if (!existsSync(file)) return '(no log)';
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /**
   * Kills every node and removes their stores, configs and logs, unless `NATS_CLUSTER_KEEP=1`
   * asks to keep them for a post-mortem (the path is printed).
   */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.index)));
    if (process.env.NATS_CLUSTER_KEEP === '1') {
      console.warn(`NATS cluster files kept in ${this.#root}`);
      return;
    }
    rmSync(this.#root, { recursive: true, force: true });
  }

  #writeConfig(node: ClusterNode, clusterName: string, all: readonly ClusterNode[]): void {
    mkdirSync(join(node.dir, 'store'), { recursive: true });
    const routes = all
      .filter((n) => n !== node)
      .map((n) => `"nats-route://127.0.0.1:${n.clusterPort}"`)
      .join(', ');
    const config = `
server_name: "${node.name}"
listen: "127.0.0.1:${node.port}"
http: "127.0.0.1:${node.httpPort}"
jetstream {
  store_dir: "${join(node.dir, 'store')}"
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: "${clusterName}"
  listen: "127.0.0.1:${node.clusterPort}"
  routes: [${routes}]
}
`;
    writeFileSync(join(node.dir, 'nats.conf'), config);
  }

  #spawn(i: number): void {
    const node = this.#node(i);
    // The log file is appended to across restarts, so an error shows what came before a kill.
    const log = openSync(join(node.dir, 'nats.log'), 'a');
    try {
      const child = spawn(NATS_SERVER_BIN, ['-c', join(node.dir, 'nats.conf')], {
        stdio: ['ignore', log, log],
      });
      child.once('error', () => {});
      this.#children.set(i, child);
    } finally {
      closeSync(log);
    }
  }

  async #waitListening(i: number): Promise<void> {
    const node = this.#node(i);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await canConnect('127.0.0.1', node.port, 500))) {
      this.#checkAlive();
      if (Date.now() > deadline) {
        throw new Error(
          `${node.name} did not listen on ${node.port} within ${START_TIMEOUT_MS} ms\n${this.#tail(i)}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async #jsz(i: number): Promise<Jsz | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.#node(i).httpPort}/jsz`, {
        signal: AbortSignal.timeout(2_000),
      });
      return response.ok ? ((await response.json()) as Jsz) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Throws, with its log, if a node the harness started has exited by itself. */
  #checkAlive(): void {
    for (const [i, child] of this.#children) {
      if (child.exitCode !== null) {
        throw new Error(`${this.#node(i).name} exited with code ${child.exitCode}\n${this.#tail(i)}`);
      }
    }
  }

  #node(i: number): ClusterNode {
    const node = this.nodes[i];
    if (!node) throw new Error(`no node ${i}: the cluster has ${this.nodes.length}`);
    return node;
  }

  #tail(i: number): string {
    return `--- ${this.#node(i).name} log (last lines) ---\n${this.logTail(i)}`;
  }

  #tails(): string {
    return this.nodes.map((n) => this.#tail(n.index)).join('\n');
  }
}

/** `count` free loopback ports, distinct from each other. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
