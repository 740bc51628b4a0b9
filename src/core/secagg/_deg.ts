import { secAggDegree } from './graph.ts';

for (const p of [
  { sigma: 40, eta: 30, gamma: 0.05, delta: 0.05 },
  { sigma: 40, eta: 20, gamma: 0, delta: 0.1 },
  { sigma: 40, eta: 30, gamma: 0.05, delta: 0.4 },
])
  console.log(
    JSON.stringify(p),
    [10, 20, 100, 1000, 10000, 100000, 1000000]
      .map((n) => {
        const d = secAggDegree(n, p);
        return `${n}:${d.k}/${d.t}`;
      })
      .join(' '),
  );
