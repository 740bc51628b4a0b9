import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { privacyLine, resolveSimulation, type SimulateReport } from './simulate.ts';
import { pqfed, syntheticRows } from './simulate-test-support.ts';

let dir: string;
let data: string;
let file: string;

beforeAll(() => {
  ({ dir, data } = syntheticRows('pqfed-sim-test-'));
  // Median over IID shards: what a file asked for that `pqfed simulate` used to ignore (it ran FedAvg on
  // Dirichlet shards). One of three clients per round, so the seeded selection matters.
  file = join(dir, 'exp.json');
  writeFileSync(
    file,
    JSON.stringify({
      $schema: '../docs/experiment.schema.json',
      dataset: 'toniot',
      data: 'rows.csv',
      strategy: 'median',
      partition: { kind: 'iid' },
      clients: 3,
      rounds: 2,
      clientsPerRound: { fraction: 0.3 },
      batchSize: 32,
      seed: 5,
    }),
  );
});

describe('pqfed simulate --config', () => {
  it('resolves defaults, then the file, then the flags', () => {
    const r = resolveSimulation({ config: file, alpha: 2, rounds: 5 });
    expect(r.clients).toBe(3);
    expect(r.config).toMatchObject({
      dataset: 'toniot',
      data: data,
      strategy: 'median',
      partition: { kind: 'dirichlet', alpha: 2 },
      rounds: 5,
      clientsPerRound: { fraction: 0.3, min: 1, max: 3 },
      shards: 3,
      batchSize: 32,
      quorum: 1,
    });
    expect(resolveSimulation({ config: file, iid: true, clients: 2 }).config).toMatchObject({
      partition: { kind: 'iid' },
      shards: 2,
      clientsPerRound: { max: 2 },
    });
  });

  it(
    'obeys the file (median, IID) and gives the same rounds for the same file and seed',
    { timeout: 300_000 },
    async () => {
      // The second run also names the dataset and data as flags (the same as the file's): code that ignores
      // the file still runs it, and must then show the file's strategy and partition.
      const [a, b] = await Promise.all([
        pqfed('simulate', '--config', file, '--json'),
        pqfed('simulate', '--dataset', 'toniot', '--data', data, '--config', file, '--json'),
      ]);
      for (const r of [a, b]) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim().split('\n')).toHaveLength(1);
      }
      const ra = JSON.parse(a.stdout) as SimulateReport;
      const rb = JSON.parse(b.stdout) as SimulateReport;
      for (const r of [ra, rb]) {
        expect(r.strategy).toBe('median');
        expect(r.partition).toEqual({ kind: 'iid' });
        expect(r.config).toMatchObject({
          strategy: 'median',
          partition: { kind: 'iid' },
          seed: 5,
          clients: 3,
        });
        expect(r.clients).toBe(3);
        expect(r.rounds.map((x) => x.participants)).toEqual([1, 1]);
        // the default engine: the fused WASM engine (built by pretest:unit), with nothing fallen back
        expect(r.engine).toBe('fused');
        expect(r.engineFallback).toBeUndefined();
      }
      expect(a.stderr).toMatch(/starting 3 clients \(worker threads, fused WASM engine\)/);
      expect(a.stderr).not.toMatch(/training with tfjs/);
      expect(ra.versions).toMatchObject({ node: process.version, pqfed: expect.any(String) });
      expect(ra.versions.tfjs).toMatch(/^\d+\.\d+\.\d+$/);
      expect(ra.versions.noblePostQuantum).toMatch(/^\d+\.\d+\.\d+$/);

      // Progress inside each round, on stderr only.
      expect(a.stderr).toMatch(/simulate: round 1\/2: 1 client training \(sim-\d\)/);
      expect(a.stderr).toMatch(/simulate: round 1\/2: sim-\d finished training \(1 of 1/);
      expect(a.stderr).toMatch(/simulate: round 2\/2: update 1 of 1 received/);
      expect(a.stderr).toMatch(/simulate: round 2\/2: aggregating, then evaluating the global model/);
      expect(a.stdout).not.toMatch(/simulate:/);

      // Same file and seed: the same rounds. `seconds` is wall-clock; `bytesUp` carries each client's own
      // training time and samples/s as JSON numbers inside the sealed update, a few bytes that vary.
      const strip = (r: SimulateReport) => r.rounds.map(({ seconds: _s, bytesUp: _u, ...rest }) => rest);
      expect(strip(rb)).toEqual(strip(ra));
      ra.rounds.forEach((x, i) => {
        expect(Math.abs(x.bytesUp - rb.rounds[i]!.bytesUp), `round ${x.round} bytesUp`).toBeLessThanOrEqual(
          32 * x.participants,
        );
      });
      expect(rb.final.perClassRecall).toEqual(ra.final.perClassRecall);
      expect(rb.rows).toEqual(ra.rows);
    },
  );

  it('takes the DP flags key by key over the file, and refuses a robust strategy with privacy', () => {
    const withDp = join(dir, 'dp.json');
    writeFileSync(
      withDp,
      JSON.stringify({ dataset: 'toniot', data: 'rows.csv', privacy: { clipNorm: 2, noiseMultiplier: 1 } }),
    );
    const r = resolveSimulation({ config: withDp, dpNoise: 0.7, targetEpsilon: 5, delta: 1e-6 });
    expect(r.config.privacy).toEqual({ clipNorm: 2, noiseMultiplier: 0.7, targetEpsilon: 5, delta: 1e-6 });
    expect(resolveSimulation({ config: file, dataset: 'toniot' }).config.privacy).toBeNull();
    // The file's median cannot take DP-FedAvg's one noisy mean.
    expect(() => resolveSimulation({ config: file, dpClip: 1, dpNoise: 1 })).toThrow(
      /cannot run with privacy/,
    );
    expect(() => resolveSimulation({ config: file, strategy: 'fedavg', dpClip: 1 })).toThrow(
      /needs noiseMultiplier or targetEpsilon/,
    );
  });

  it('says the privacy spent in one line for people', () => {
    expect(privacyLine({ secureAggregation: false, epsilon: null, delta: null })).toBe('privacy: off');
    const on = {
      secureAggregation: false as const,
      mechanism: 'gaussian' as const,
      epsilon: 2.34567,
      delta: 1e-5,
      targetEpsilon: 3,
      noiseMultiplier: 1.5,
      clipNorm: 0.5,
      adaptiveClipping: false,
      rounds: 3,
      samplingRate: 0.5,
      stopped: 'privacy budget: round 4 would take ε from 2.346 to 3.100',
    };
    expect(privacyLine(on)).toBe(
      'privacy: ε = 2.346 of target 3 at δ = 0.00001 after 3 rounds (noise z = 1.5000, clip C = 0.5000); ' +
        'privacy budget: round 4 would take ε from 2.346 to 3.100',
    );
  });

  it(
    'reports ε per round and the privacy spent with --dp-clip and --dp-noise',
    { timeout: 300_000 },
    async () => {
      const r = await pqfed(
        'simulate',
        '--config',
        file,
        '--strategy',
        'fedavg',
        '--rounds',
        '2',
        '--dp-clip',
        '1',
        '--dp-noise',
        '2',
        '--engine',
        'tfjs',
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout) as SimulateReport;
      expect(rep.engine).toBe('tfjs');
      // One of three clients per round: q = 1/3.
      expect(rep.rounds.map((x) => x.participants)).toEqual([1, 1]);
      const [e1, e2] = rep.rounds.map((x) => x.epsilon!);
      expect(e1).toBeGreaterThan(0);
      expect(e2).toBeGreaterThan(e1!);
      expect(rep.privacy).toMatchObject({ secureAggregation: false, epsilon: e2, delta: 1e-5, rounds: 2 });
      expect(rep.privacy).toMatchObject({ noiseMultiplier: 2, clipNorm: 1, samplingRate: 1 / 3 });
      expect(r.stderr).toMatch(/simulate: round 2\/2 aggregated in .*, privacy ε = \d+\.\d{3}/);
    },
  );

  it('refuses a bad file with every problem, each at its line and column, before any work', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      '{\n  "rounds": 0,\n  "strategy": "fedsgd",\n  "partition": {"kind": "iid", "alpha": 1}\n}\n',
    );
    const r = await pqfed('simulate', '--config', bad, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `pqfed: experiment file ${bad}: 3 problems`,
      `  ${bad}:2:13: "rounds" must be an integer from 1 to 1e6, got 0`,
      `  ${bad}:3:15: "strategy" must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, fedavgm, feddyn, median, trimmed-mean, krum, multi-krum, got "fedsgd"`,
      `  ${bad}:4:32: "partition.alpha" unknown key (known: kind)`,
    ]);
  });
});
