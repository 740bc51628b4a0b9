/**
 * `pqfed simulate --secure-aggregation`: the real command (a real aggregator and worker-thread clients
 * running the one FederatedClient over loopback WebSockets) with SecAgg+ in every round, and the refusal of
 * a strategy that needs single updates, before any work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TONIOT_TRAIN_TEST } from '../data/schemas/toniot.ts';
import { syntheticCsv } from '../data/synthetic.ts';
import { resolveSimulation, type SimulateReport } from './simulate.ts';

const BIN = new URL('../../bin/pqfed.js', import.meta.url).pathname;

function pqfed(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 280_000);
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

let data: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'pqfed-sim-secure-'));
  data = join(dir, 'rows.csv');
  writeFileSync(data, syntheticCsv(TONIOT_TRAIN_TEST, 240, 5));
});

describe('pqfed simulate --secure-aggregation', () => {
  it('resolves the flag to the secureAggregation defaults, and refuses the strategies it cannot carry', () => {
    const r = resolveSimulation({ dataset: 'toniot', data, secureAggregation: true });
    expect(r.config.secureAggregation).toEqual({ clip: 1, dropoutFraction: 0.2 });
    expect(resolveSimulation({ dataset: 'toniot', data }).config.secureAggregation).toBeNull();
    for (const strategy of ['median', 'trimmed-mean', 'krum', 'multi-krum'] as const) {
      expect(() => resolveSimulation({ dataset: 'toniot', data, strategy, secureAggregation: true })).toThrow(
        /"strategy" cannot run with secureAggregation: .*compares single client updates/,
      );
    }
    for (const strategy of ['fedavg', 'fedprox', 'fedadam'] as const) {
      expect(
        resolveSimulation({ dataset: 'toniot', data, strategy, secureAggregation: true }).config.strategy,
      ).toBe(strategy);
    }
  });

  it('takes DP with it (the clients add the noise), but not adaptive clipping', () => {
    const r = resolveSimulation({
      dataset: 'toniot',
      data,
      secureAggregation: true,
      dpClip: 0.5,
      dpNoise: 1,
    });
    expect(r.config.privacy).toMatchObject({ clipNorm: 0.5, noiseMultiplier: 1 });
    expect(() =>
      resolveSimulation({
        dataset: 'toniot',
        data,
        secureAggregation: true,
        dpClip: 0.5,
        dpNoise: 1,
        dpClipQuantile: 0.5,
      }),
    ).toThrow(/clipQuantile.*cannot be combined with secureAggregation: adaptive clipping/);
  });

  it('refuses --strategy median --secure-aggregation on the command line: exit 2, one line, no work', async () => {
    const r = await pqfed(
      'simulate',
      '--dataset',
      'toniot',
      '--data',
      data,
      '--strategy',
      'median',
      '--secure-aggregation',
      '--json',
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /"strategy" cannot run with secureAggregation: median compares single client updates/,
    );
    expect(r.stderr).not.toMatch(/starting \d+ clients/);
  });

  it('runs 4 clients for 2 secure rounds to the end and reports them', { timeout: 300_000 }, async () => {
    const r = await pqfed(
      'simulate',
      '--dataset',
      'toniot',
      '--data',
      data,
      '--clients',
      '4',
      '--rounds',
      '2',
      '--secure-aggregation',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as SimulateReport;
    expect(rep.config.secureAggregation).toEqual({ clip: 1, dropoutFraction: 0.2 });
    expect(rep.rounds.map((x) => x.round)).toEqual([1, 2]);
    // A secure round selects at least 3 (SECAGG.minMembers), even at simulate's default fraction 0.5 of 4.
    for (const x of rep.rounds) expect(x.participants).toBeGreaterThanOrEqual(3);
    for (const x of rep.rounds) expect(Number.isFinite(x.macroF1)).toBe(true);
    expect(rep.privacy).toMatchObject({ secureAggregation: true });
    expect(r.stderr).toMatch(/round 2: secure sum of [3-4] updates recovered/);
    // Progress counts the masked inputs as the round's updates.
    expect(r.stderr).toMatch(/simulate: round 2\/2: update [1-4] of [3-4] received/);
  });
});
