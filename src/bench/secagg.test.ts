import { describe, expect, it } from 'vitest';
import { measureSecAgg } from './secagg.ts';

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
});
