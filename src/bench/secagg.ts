/**
 * The per-round cost of secure aggregation (src/core/secagg/): compute and bytes of a client and of the
 * server, for a given number of members, in one process with the real cryptography (no transport).
 *
 * Two modes:
 * - `full`: every member runs the whole round (`simulateRound`); the figures are the median client and the
 *   server. Some members drop before their masked input, so the removal of pairwise masks is in the cost.
 * - `focal`: for rounds too large to run whole on a small machine (1,000 members ≈ 5 CPU-minutes of
 *   ML-DSA-65 on a 2-core machine). All n members advertise (so the server and the graph are those of n
 *   members); then only one member (index 1, the focal one) and its k neighbours go on. The focal member
 *   does exactly the work of a member of a full n-member round (k neighbours' keys, k encapsulations each
 *   way, k relayed entries, its group's consistency signatures), so its figures are a client's cost at n;
 *   the server's are not (most members are gone, and it cannot finish: it reports none).
 * The server's cost at such sizes comes from the server mode (src/bench/secagg-server.ts): the real server
 * runs the whole n-member round against a driver that sends what real clients send.
 *
 * `runSecAggBench` is the secure-aggregation part of `pqfed bench`: per size, a full round where the plan
 * allows it, otherwise the focal mode (client) and the server mode (server).
 * @module
 */
import { loadavg } from 'node:os';
import {
  DEFAULT_GRAPH_PARAMS,
  type GraphParams,
  NeighbourGraph,
  secAggDegree,
} from '../core/secagg/graph.ts';
import type { RingParams } from '../core/secagg/ring.ts';
import { type Cost, makeMembers, simulateRound } from '../core/secagg/simulation.ts';
import { measureServerCost } from './secagg-server.ts';

export interface SecAggCostOptions {
  members: number;
  vectorLength: number;
  mode: 'full' | 'focal';
  graph?: GraphParams;
  ring?: RingParams;
  /** Members that drop before their masked input (full mode; default ⌊δn/2⌋). */
  dropouts?: number;
}

export interface SecAggCost {
  members: number;
  vectorLength: number;
  mode: 'full' | 'focal';
  /** Degree k and threshold t of the round. */
  k: number;
  t: number;
  dropouts: number;
  /** One client's compute over the whole round (CPU ms): the median member (full) or the focal member. */
  clientMs: number;
  /** One client's bytes sent and received over the round. */
  clientBytesUp: number;
  clientBytesDown: number;
  /** The server's compute (CPU ms) and bytes received/sent; null in focal mode. */
  serverMs: number | null;
  serverBytesIn: number | null;
  serverBytesOut: number | null;
  /** True when the round produced its sum (full mode). */
  completed: boolean;
}

const SEED = new Uint8Array(32).fill(0x33);

/** CPU time of this process (user + system), ms: steadier than wall time on a shared machine. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs one round (see the module comment) and reports its costs. */
export function measureSecAgg(options: SecAggCostOptions): SecAggCost {
  const graph = options.graph ?? DEFAULT_GRAPH_PARAMS;
  const ring = options.ring ?? { clip: 1, maxWeight: 10_000 };
  const n = options.members;
  const degree = secAggDegree(n, graph);
  const members = makeMembers(n, options.vectorLength);
  let dropouts = 0;
  let focal: string | undefined;
  if (options.mode === 'full') {
    dropouts = options.dropouts ?? Math.floor((graph.delta * n) / 2);
    for (let i = 0; i < dropouts; i++) members[(i * 7 + 3) % n]!.dropBefore = 'input';
  } else {
    // Member ids sort in creation order, so member i has index i + 1.
    const group = new Set([1, ...new NeighbourGraph(SEED, degree).neighbours(1)]);
    members.forEach((m, i) => {
      if (!group.has(i + 1)) m.dropBefore = 'share';
    });
    focal = members[0]!.clientId;
  }
  const report = simulateRound(members, { ring, graph, seed: SEED, minMembers: 2, clock: cpuMs });
  let client: Cost;
  if (focal) client = report.clientCost.get(focal)!;
  else {
    const stayed = members.filter((m) => !m.dropBefore).map((m) => report.clientCost.get(m.clientId)!);
    client = {
      ms: median(stayed.map((c) => c.ms)),
      bytesUp: median(stayed.map((c) => c.bytesUp)),
      bytesDown: median(stayed.map((c) => c.bytesDown)),
    };
  }
  const full = options.mode === 'full';
  return {
    members: n,
    vectorLength: options.vectorLength,
    mode: options.mode,
    k: degree.k,
    t: degree.t,
    dropouts,
    clientMs: client.ms,
    clientBytesUp: client.bytesUp,
    clientBytesDown: client.bytesDown,
    serverMs: full ? report.serverCost.ms : null,
    serverBytesIn: full ? report.serverCost.bytesUp : null,
    serverBytesOut: full ? report.serverCost.bytesDown : null,
    completed: report.result !== undefined,
  };
}

/** What the secure-aggregation part of `pqfed bench` runs. */
export interface SecAggPlan {
  /** Round sizes (members), ascending. */
  sizes: number[];
  /** Sizes up to this run whole rounds of real clients; larger ones run the focal and server modes. */
  fullUpTo: number;
  /** d: the update's length (the default model's parameters in the full run). */
  vectorLength: number;
  graph?: GraphParams;
}

/** One size of the secure-aggregation part (`pqfed bench --json`, field `secagg.rows`). */
export interface SecAggRow {
  members: number;
  /** Degree k (neighbours of each member) and Shamir threshold t. */
  k: number;
  t: number;
  /** Members that dropped before their masked input (their pairwise masks are removed by the server). */
  dropouts: number;
  /** How the client's figures were measured: a whole round (median member) or the focal member. */
  clientFrom: 'full' | 'focal';
  /** How the server's figures were measured: a whole round of real clients, or the server mode. */
  serverFrom: 'full' | 'server-mode';
  /** One client's CPU ms over the round, and its bytes sent / received. */
  clientMs: number;
  clientBytesUp: number;
  clientBytesDown: number;
  /** The server's CPU ms over the round, and its bytes received / sent. */
  serverMs: number;
  serverBytesIn: number;
  serverBytesOut: number;
  /** The round that gave the server's figures produced the sum (checked against the plain sum in server mode). */
  completed: boolean;
  /** Wall seconds this size took (all modes). */
  seconds: number;
}

export interface SecAggReport {
  vectorLength: number;
  graph: GraphParams;
  /** The 1-, 5- and 15-minute load averages when the part started (the machine may be shared). */
  loadAverage: number[];
  rows: SecAggRow[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The secure-aggregation part of `pqfed bench`: one round per size and mode; progress lines on `progress`. */
export function runSecAggBench(plan: SecAggPlan, progress: (line: string) => void = () => {}): SecAggReport {
  const graph = plan.graph ?? DEFAULT_GRAPH_PARAMS;
  const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
  const rows: SecAggRow[] = [];
  const d = plan.vectorLength;
  for (const n of plan.sizes) {
    const t0 = performance.now();
    const full = n <= plan.fullUpTo;
    const { k } = secAggDegree(n, graph);
    progress(
      full
        ? `secure aggregation: ${n} members (k = ${k}), a whole round, d = ${d}…`
        : `secure aggregation: ${n} members (k = ${k}): the focal member's round (all ${n} advertise, ${k + 1} finish), d = ${d}…`,
    );
    const client = measureSecAgg({ members: n, vectorLength: d, mode: full ? 'full' : 'focal', graph });
    let dropouts = client.dropouts;
    let server = {
      ms: client.serverMs,
      bytesIn: client.serverBytesIn,
      bytesOut: client.serverBytesOut,
      completed: client.completed,
    };
    if (!full) {
      progress(`secure aggregation: ${n} members: the server's whole round (server mode), d = ${d}…`);
      const s = measureServerCost({
        members: n,
        vectorLength: d,
        graph,
        clock: cpuMs,
        seed: SEED,
        progress: (line) => progress(`secure aggregation: ${line}`),
      });
      server = { ms: s.ms, bytesIn: s.bytesIn, bytesOut: s.bytesOut, completed: s.completed };
      dropouts = s.dropouts;
    }
    const row: SecAggRow = {
      members: n,
      k: client.k,
      t: client.t,
      dropouts,
      clientFrom: full ? 'full' : 'focal',
      serverFrom: full ? 'full' : 'server-mode',
      clientMs: round1(client.clientMs),
      clientBytesUp: client.clientBytesUp,
      clientBytesDown: client.clientBytesDown,
      serverMs: round1(server.ms ?? Number.NaN),
      serverBytesIn: server.bytesIn ?? 0,
      serverBytesOut: server.bytesOut ?? 0,
      completed: server.completed,
      seconds: round1((performance.now() - t0) / 1000),
    };
    rows.push(row);
    progress(
      `secure aggregation: ${n} members: client ${row.clientMs.toFixed(0)} ms CPU, server ${row.serverMs.toFixed(0)} ms CPU` +
        `${row.completed ? '' : ' (the round did not produce the sum)'} (${row.seconds} s)`,
    );
  }
  return { vectorLength: d, graph: { ...graph }, loadAverage, rows };
}
