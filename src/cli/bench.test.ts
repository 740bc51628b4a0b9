import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { END, START, spliceBlock } from '../../scripts/bench-table.ts';
import { type BenchReport, benchMarkdown } from '../bench/table.ts';

const BIN = new URL('../../bin/pqfed.js', import.meta.url).pathname;

function pqfed(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 150_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('pqfed bench', () => {
  it(
    '--json --quick prints exactly one JSON object with every part of the contract',
    { timeout: 180_000 },
    () => {
      const r = pqfed('bench', '--json', '--quick');
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(r.stdout.trimStart().startsWith('{')).toBe(true);
      const b = JSON.parse(lines[0]!) as BenchReport;
      expect(r.stderr).toMatch(/^bench: /m);

      expect(b.machine).toMatchObject({
        cpus: expect.any(Number),
        cpuModel: expect.any(String),
        memoryGiB: expect.any(Number),
        node: process.version,
        platform: expect.any(String),
      });
      expect(b.machine.cpus).toBeGreaterThan(0);
      expect(b.machine.memoryGiB).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(b.machine.date))).toBe(false);

      // Training: every backend listed trained something; both Node backends and the fused engine are there.
      expect(b.trainingSkipped).toBeUndefined();
      expect(new Set(b.training.map((t) => t.backend))).toEqual(new Set(['wasm', 'cpu', 'fused']));
      // The fused engine on one thread, and its data-parallel step on two where there are two cores.
      const fusedThreads = b.training.filter((t) => t.backend === 'fused').map((t) => t.threads);
      expect(fusedThreads).toEqual(b.machine.cpus >= 2 ? [1, 2] : [1]);
      for (const t of b.training) {
        expect(Number.isInteger(t.batch) && t.batch > 0).toBe(true);
        expect(positive(t.samplesPerSec), JSON.stringify(t)).toBe(true);
      }

      // Reference: PyTorch in the same run, or null with the reason.
      if (b.reference === null) {
        expect(b.referenceSkipped).toEqual(expect.any(String));
        expect(b.referenceSkipped!.length).toBeGreaterThan(0);
      } else {
        expect(b.reference.framework).toMatch(/pytorch/i);
        expect(positive(b.reference.samplesPerSec)).toBe(true);
        const wasm = b.training.find(
          (t) => t.backend === 'wasm' && t.batch === (b.reference!.batch ?? t.batch),
        )!;
        expect(wasm).toBeDefined();
        // ratio = tfjs wasm ÷ PyTorch at the same batch, within rounding (samples/s to 0.1, ratio to 0.001)
        expect(Math.abs(b.reference.ratio - wasm.samplesPerSec / b.reference.samplesPerSec)).toBeLessThan(
          0.002,
        );
        if (b.reference.params !== undefined) expect(b.reference.params).toBe(b.training[0]!.params);
      }

      // Crypto: milliseconds per operation, all positive.
      expect(b.cryptoSkipped).toBeUndefined();
      expect(Object.keys(b.crypto!).sort()).toEqual(
        ['handshakeClient', 'handshakeServer', 'openRound', 'openUpdate', 'sealUpdate', 'verifyRound'].sort(),
      );
      for (const [op, ms] of Object.entries(b.crypto!)) expect(positive(ms), op).toBe(true);

      // Aggregator: every client's update verified, decrypted and aggregated.
      expect(b.aggregatorSkipped).toBeUndefined();
      expect(Number.isInteger(b.aggregator!.clients) && b.aggregator!.clients > 0).toBe(true);
      expect(positive(b.aggregator!.updatesPerSec)).toBe(true);

      // Wire: 4 bytes per parameter, and the sealed frame is larger.
      expect(b.wireSkipped).toBeUndefined();
      const w = b.wire!;
      expect(Number.isInteger(w.rawBytes) && Number.isInteger(w.sealedBytes)).toBe(true);
      expect(w.rawBytes).toBe(4 * w.params!);
      expect(w.params).toBe(b.aggregator!.params);
      expect(w.sealedBytes).toBeGreaterThan(w.rawBytes);
    },
  );

  it('refuses a bad flag with one line and exit code 2', { timeout: 60_000 }, () => {
    const r = pqfed('bench', '--clients', '0', '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'pqfed: --clients must be an integer from 1 to 1000, got "0"',
    ]);
  });
});

const REPORT: BenchReport = {
  machine: {
    cpus: 2,
    cpuModel: 'AMD EPYC',
    memoryGiB: 23.5,
    node: 'v20.20.2',
    platform: 'linux x64 6.1.0',
    date: '2026-11-23T12:00:00.000Z',
  },
  quick: false,
  seconds: 151.2,
  training: [
    { backend: 'wasm', batch: 64, samplesPerSec: 632.4, simd: true, threads: 1, params: 19979 },
    { backend: 'wasm', batch: 256, samplesPerSec: 831, simd: true, threads: 1, params: 19979 },
    { backend: 'cpu', batch: 64, samplesPerSec: 23.1, params: 19979 },
    { backend: 'cpu', batch: 256, samplesPerSec: 26, params: 19979 },
    { backend: 'fused', batch: 64, samplesPerSec: 2800, simd: true, threads: 1, params: 19979 },
    { backend: 'fused', batch: 256, samplesPerSec: 2600, simd: true, threads: 1, params: 19979 },
  ],
  reference: {
    framework: 'pytorch 1.13.0a0 eager cpu',
    threads: 2,
    params: 19979,
    batch: 256,
    samplesPerSec: 1037,
    ratio: 0.801,
    byBatch: [
      { batch: 64, samplesPerSec: 925, ratio: 0.684 },
      { batch: 256, samplesPerSec: 1037, ratio: 0.801 },
    ],
  },
  suite: 'xwing',
  crypto: {
    handshakeServer: 12.5,
    handshakeClient: 11.2,
    openRound: 10.1,
    verifyRound: 4.2,
    sealUpdate: 12.34,
    openUpdate: 3.5,
  },
  aggregator: { clients: 100, updatesPerSec: 85.4, params: 20523 },
  wire: { params: 20523, rawBytes: 82092, sealedBytes: 86852, roundBytes: 92800 },
};

describe('scripts/bench-table.ts', () => {
  it('turns the bench JSON into the README tables', () => {
    expect(benchMarkdown(REPORT)).toBe(
      [
        'Measured 2026-11-23 by `npx pqfed bench` on 2× AMD EPYC, 23.5 GiB, Node 20.20.2 (linux x64), in 151 s. ' +
          'Ratios are within this run.',
        '',
        '| training (19,979 parameters) | batch | samples/s | ratio to wasm | ratio to PyTorch |',
        '| --- | --- | --- | --- | --- |',
        '| pytorch 1.13.0a0 eager cpu, 2 threads (reference) | 64 | 925 |  | 1 |',
        '| tfjs wasm (SIMD, 1 thread) | 64 | 632 | 1 | 0.68 |',
        '| tfjs cpu | 64 | 23.1 | 0.037 | 0.025 |',
        '| fused engine (WASM SIMD, 1 thread) | 64 | 2,800 | 4.43 | 3.03 |',
        '| pytorch 1.13.0a0 eager cpu, 2 threads (reference) | 256 | 1,037 |  | 1 |',
        '| tfjs wasm (SIMD, 1 thread) | 256 | 831 | 1 | 0.80 |',
        '| tfjs cpu | 256 | 26.0 | 0.031 | 0.025 |',
        '| fused engine (WASM SIMD, 1 thread) | 256 | 2,600 | 3.13 | 2.51 |',
        '',
        '| per update (20,523 parameters, X-Wing + ML-DSA-65) | cost |',
        '| --- | --- |',
        '| client: check the round key and the model (2 signatures, SHA-256) | 4.20 ms |',
        '| client: seal the update to the round key and sign it | 12.3 ms |',
        '| server: open one update (decapsulate, decrypt, verify) | 3.50 ms |',
        '| server, once per round: a round key and 2 signatures | 10.1 ms |',
        '| handshake, once per connection: server / client | 12.5 ms / 11.2 ms |',
        '| aggregator: updates verified, decrypted and aggregated, 100 clients at once | 85.4/s (openUpdate alone, one thread: 286/s) |',
        '| on the wire: weights (4 B per parameter) → sealed update frame | 82,092 B → 86,852 B (×1.058) |',
        '| on the wire: the round message (server → client) | 92,800 B |',
        '',
        "A client's cryptography per round (check the round, seal the update: 16.5 ms) takes as long as training " +
          '14 samples on tfjs wasm (batch 256).',
        '',
      ].join('\n'),
    );
  });

  it('says why a part is missing, and leaves its cells empty', () => {
    const md = benchMarkdown({
      ...REPORT,
      quick: true,
      training: REPORT.training.filter((t) => t.batch === 64),
      reference: null,
      referenceSkipped: 'no python3 with torch (python3: ModuleNotFoundError)',
      aggregator: null,
      aggregatorSkipped: 'Error: boom',
    });
    expect(md).toContain('by `npx pqfed bench --quick`');
    expect(md).toContain('| tfjs wasm (SIMD, 1 thread) | 64 | 632 | 1 |  |');
    expect(md).not.toContain('(reference)');
    expect(md).not.toContain('aggregator: updates');
    expect(md).toContain(
      'Not measured, PyTorch reference: no python3 with torch (python3: ModuleNotFoundError).',
    );
    expect(md).toContain('Not measured, aggregator: Error: boom.');
  });

  it('replaces only the block between the README markers', () => {
    const doc = `# T\n\nbefore\n${START}\nold\ntable\n${END}\nafter\n`;
    expect(spliceBlock(doc, 'new\n')).toBe(`# T\n\nbefore\n${START}\nnew\n${END}\nafter\n`);
    expect(() => spliceBlock('no markers', 'x')).toThrow(/expected the lines/);
  });
});
