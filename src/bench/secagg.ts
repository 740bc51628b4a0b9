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
 * @module
 */
import {
  DEFAULT_GRAPH_PARAMS,
  type GraphParams,
  NeighbourGraph,
  secAggDegree,
} from '../core/secagg/graph.ts';
import type { RingParams } from '../core/secagg/ring.ts';
import { type Cost, makeMembers, simulateRound } from '../core/secagg/simulation.ts';

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
function cpuMs(): number {
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
