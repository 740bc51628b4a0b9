import { describe, expect, it } from 'vitest';
import { cpuMs, measureSecAgg, runSecAggBench } from './secagg.ts';
import { measureServerCost } from './secagg-server.ts';

describe('SecAgg+ cost bench', { timeout: 180_000 }, () => {
  it('reports a completed full round and a focal round with the focal member’s costs only', () => {
    const graph = { sigma: 40, eta: 20, gamma: 0, delta: 0.1 };
    const full = measureSecAgg({ members: 8, vectorLength: 32, mode: 'full', graph });
    expect(full.completed).toBe(true);
    expect(full.serverMs).toBeGreaterThan(0);
    expect(full.clientBytesUp).toBeGreaterThan(0);
    const focal = measureSecAgg({ members: 24, vectorLength: 32, mode: 'focal', graph });
    expect(focal.k).toBeLessThan(23);
    expect(focal.serverMs).toBeNull();
    // The focal member received its k neighbours' relayed entries: its download grows with k.
    expect(focal.clientBytesDown).toBeGreaterThan(focal.k * 4000);
  });

  it('server mode: the real server gets exactly the bytes of a round of real clients, and the right sum', () => {
    // k < n − 1 and two members dropping before their masked input: the server removes their pairwise masks.
    const graph = { sigma: 40, eta: 20, gamma: 0, delta: 0.2 };
    const seed = new Uint8Array(32).fill(0x33); // the full mode's round seed: the same graph
    const full = measureSecAgg({ members: 14, vectorLength: 40, mode: 'full', graph });
    const server = measureServerCost({ members: 14, vectorLength: 40, graph, clock: cpuMs, seed });
    expect(full.completed).toBe(true);
    expect(server.k).toBe(full.k);
    expect(server.k).toBeLessThan(13);
    expect(server.dropouts).toBe(full.dropouts);
    expect(server.dropouts).toBeGreaterThan(0);
    expect(server.completed).toBe(true);
    expect(server.bytesIn).toBe(full.serverBytesIn);
    expect(server.bytesOut).toBe(full.serverBytesOut);
    expect(server.ms).toBeGreaterThan(0);
  });

  it('runSecAggBench: whole rounds up to fullUpTo, then the focal client and the server mode', () => {
    const lines: string[] = [];
    const graph = { sigma: 40, eta: 20, gamma: 0, delta: 0.2 };
    const r = runSecAggBench({ sizes: [6, 20], fullUpTo: 6, vectorLength: 24, graph }, (l) => lines.push(l));
    expect(r.vectorLength).toBe(24);
    expect(r.graph).toEqual(graph);
    expect(r.loadAverage).toHaveLength(3);
    expect(r.rows.map((row) => [row.members, row.clientFrom, row.serverFrom])).toEqual([
      [6, 'full', 'full'],
      [20, 'focal', 'server-mode'],
    ]);
    for (const row of r.rows) {
      expect(row.completed, JSON.stringify(row)).toBe(true);
      for (const x of [row.clientMs, row.serverMs, row.clientBytesUp, row.clientBytesDown])
        expect(x).toBeGreaterThan(0);
      // The server receives every member's messages: more than any one client sends.
      expect(row.serverBytesIn).toBeGreaterThan(row.members * 0.5 * row.clientBytesUp);
      expect(row.t).toBeLessThanOrEqual(row.k + 1);
    }
    expect(r.rows[1]!.k).toBeLessThan(19);
    expect(r.rows[1]!.dropouts).toBe(2);
    expect(lines.some((l) => /20 members.*server mode/.test(l))).toBe(true);
  });
});
