import { describe, expect, it } from 'vitest';
import { parseConfigSpec } from './options.ts';
import { describe as describeEvent, fractionDone } from './progress.ts';
import {
  addRound,
  chartSummary,
  comparisonChart,
  emptyConfig,
  finalRows,
  formatRefusals,
  privacyNote,
  type RoundResult,
  recallTable,
  resultJson,
  roundsCsv,
  type SimResult,
} from './results.ts';

const round = (n: number, o: Partial<RoundResult> = {}): RoundResult => ({
  round: n,
  selected: 4,
  participants: 4,
  outcome: 'aggregated',
  accuracy: 0.5 + n / 10,
  macroF1: 0.2 + n / 10,
  mosMAE: 0.3,
  loss: 1,
  perClassRecall: { normal: 0.9, ddos: n / 10 },
  meanLocalLoss: 1.2,
  refused: [],
  seconds: 2,
  cryptoSeconds: 0.05,
  bytesUp: 1000,
  bytesDown: 1200,
  ...o,
});

function result(): SimResult {
  const configs = ['fedavg:0.1', 'median:iid'].map((t) => emptyConfig(parseConfigSpec(t)));
  const r: SimResult = {
    state: 'running',
    error: null,
    clients: 4,
    rounds: 3,
    workers: 2,
    backend: 'wasm',
    threads: 1,
    engine: 'fused-wasm',
    engineDevice: 'WASM SIMD',
    engineFallback: null,
    suite: 'xwing',
    channel: 'test',
    model: { size: 'small', params: 100 },
    rows: { train: 100, test: 20 },
    classes: ['normal', 'ddos'],
    majorityBaseline: { class: 'normal', accuracy: 0.25, macroF1: 0.04 },
    configs,
    privacy: null,
    verifiedUpdates: 0,
    refusals: {},
    wallSeconds: 0,
  };
  for (const n of [1, 2, 3]) addRound(r, configs[0]!, round(n));
  const tampered = { client: 'sim-2', reason: 'tampered', message: 'no' };
  addRound(r, configs[1]!, round(1));
  addRound(r, configs[1]!, round(2, { participants: 3, refused: [tampered] }));
  configs[0]!.state = 'done';
  configs[1]!.state = 'running';
  return r;
}

describe('results', () => {
  it('counts verified and refused updates per configuration and in total', () => {
    const r = result();
    expect(r.configs.map((c) => c.verifiedUpdates)).toEqual([12, 7]);
    expect(r.verifiedUpdates).toBe(19);
    expect(r.refusals).toEqual({ tampered: 1 });
    expect(r.configs[1]!.refusals).toEqual({ tampered: 1 });
    expect(r.configs.map((c) => [c.label, c.alpha])).toEqual([
      ['FedAvg α=0.1', 0.1],
      ['Median IID', null],
    ]);
  });

  it('charts one line per configuration over the longest run, with the baseline dashed', () => {
    const c = comparisonChart(result(), 'macroF1');
    expect(c.rounds).toEqual([1, 2, 3]);
    expect(c.series.map((s) => [s.label, s.dashed])).toEqual([
      ['FedAvg α=0.1', false],
      ['Median IID', false],
      ['majority-class baseline', true],
    ]);
    expect(c.series[0]!.values.map((v) => v?.toFixed(1))).toEqual(['0.3', '0.4', '0.5']);
    expect(c.series[1]!.values[2]).toBeNull();
    expect(c.series[2]!.values).toEqual([0.04, 0.04, 0.04]);
    expect(comparisonChart(result(), 'accuracy').series[2]!.values[0]).toBe(0.25);
  });

  it('never shows accuracy without macro-F1 and the baseline, in the summary and the final table', () => {
    const r = result();
    expect(chartSummary(r)).toBe(
      'FedAvg α=0.1, round 3: accuracy 0.800, macro-F1 0.500; Median IID, round 2: accuracy 0.700, ' +
        'macro-F1 0.400. Majority-class baseline: accuracy 0.250, macro-F1 0.040.',
    );
    expect(finalRows(r)).toEqual([
      {
        label: 'FedAvg α=0.1',
        rounds: '3 of 3',
        accuracy: '0.800',
        macroF1: '0.500',
        mosMAE: '0.300',
        epsilon: '–',
        verified: '12',
        refused: 'none',
        seconds: '–',
      },
      expect.objectContaining({ label: 'Median IID', rounds: '2 of 3 (running)', refused: 'tampered 1' }),
    ]);
    const blank = { ...r, configs: r.configs.map((c) => ({ ...c, rounds: [] })) };
    expect(chartSummary(blank)).toBe('No round has finished yet.');
    expect(formatRefusals({ b: 2, a: 1, c: 0 })).toBe('a 1, b 2');
  });

  it('says ε at δ and who adds the noise when DP is on, nothing when it is off', () => {
    const r = result();
    expect(privacyNote(r)).toBe('');
    r.configs[0]!.rounds.forEach((x, i) => {
      x.epsilon = [1.5, 2.25, 3.125][i]!;
    });
    r.configs[1]!.rounds.forEach((x) => {
      x.epsilon = null;
    });
    r.privacy = { delta: 1e-5, noise: 'distributed' };
    const note = privacyNote(r);
    expect(note).toContain('ε spent at δ = 0.00001');
    expect(note).toContain('FedAvg α=0.1: ε = 3.125 after round 3; Median IID: ε = ∞ after round 2');
    expect(note).toContain('The noise is distributed: each client adds its share');
    expect(note).toContain('never sees an un-noised sum');
    r.privacy = { delta: 1e-6, noise: 'server' };
    expect(privacyNote(r)).toContain('The aggregator adds Gaussian noise to the sum');
    expect(privacyNote(r)).not.toContain('distributed');
  });

  it('writes JSON with null for missing figures', () => {
    const r = result();
    r.configs[0]!.rounds[0]!.loss = Number.NaN;
    const back = JSON.parse(resultJson(r));
    expect(back.configs[0].rounds[0].loss).toBeNull();
    expect(back.configs[0].rounds).toHaveLength(3);
  });
});

describe('progress', () => {
  const p = { config: 1, configs: 2, label: 'Median IID', rounds: 3, clients: 4 };

  it('says which configuration, round and client', () => {
    expect(describeEvent(p, { kind: 'training', round: 2, client: 2 })).toBe(
      'Configuration 2 of 2 (Median IID), round 2 of 3: client 3 of 4 training.',
    );
    expect(
      describeEvent(p, { kind: 'update', round: 2, client: 1, accepted: false, reason: 'tampered' }),
    ).toBe('Configuration 2 of 2 (Median IID), round 2 of 3: update of client 2 refused (tampered).');
    const tampered = { client: 'sim-2', reason: 'tampered', message: '' };
    expect(
      describeEvent(p, { kind: 'round-end', result: round(2, { participants: 3, refused: [tampered] }) }),
    ).toBe(
      'Configuration 2 of 2 (Median IID), round 2 of 3 done: 3 updates verified, 1 refused (tampered); ' +
        'accuracy 0.700, macro-F1 0.400.',
    );
    expect(
      describeEvent(p, { kind: 'round-end', result: round(1, { outcome: 'closed', participants: 0 }) }),
    ).toContain('no valid update: the model is unchanged');
  });

  it('measures the share done across configurations, rounds and clients', () => {
    expect(fractionDone({ ...p, config: 0 }, 0, 0)).toBe(0);
    expect(fractionDone({ ...p, config: 0 }, 1, 2)).toBeCloseTo(1 / 12);
    expect(fractionDone(p, 3, 4)).toBeCloseTo(1);
  });

  it('gives every class a recall row for each configuration, from its last aggregated round', () => {
    const r = result();
    // The second configuration's round 3 was closed unchanged: its recall stays that of round 2.
    addRound(r, r.configs[1]!, round(3, { outcome: 'closed', participants: 0, perClassRecall: null }));
    const t = recallTable(r);
    expect(t.configs).toEqual(r.configs.map((c) => c.label));
    expect(t.rows).toEqual([
      { className: 'normal', recall: ['0.900', '0.900'] },
      { className: 'ddos', recall: ['0.300', '0.200'] },
    ]);
    r.configs.push(emptyConfig(parseConfigSpec('krum:iid')));
    expect(recallTable(r).rows.map((row) => row.recall[2])).toEqual(['–', '–']);
  });

  it('exports every round as CSV with per-class recall and the baseline on each line', () => {
    const r = result();
    r.configs[1]!.rounds[1]!.refused.push({ client: 'sim-3', reason: 'bad-signature', message: 'x' });
    const lines = roundsCsv(r).trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 5);
    const header = lines[0]!.split(',');
    expect(header.slice(-4)).toEqual(['recall:normal', 'recall:ddos', 'baselineAccuracy', 'baselineMacroF1']);
    const row = (i: number) => Object.fromEntries(header.map((h, j) => [h, lines[i]!.split(',')[j]]));
    expect(row(3)).toMatchObject({
      configuration: r.configs[0]!.label,
      round: '3',
      accuracy: String(0.5 + 3 / 10),
      'recall:ddos': String(3 / 10),
      baselineAccuracy: '0.25',
    });
    expect(row(5)).toMatchObject({
      round: '2',
      participants: '3',
      refused: 'sim-2:tampered sim-3:bad-signature',
    });
  });

  it('quotes CSV fields that hold commas or quotes and leaves non-finite numbers empty', () => {
    const r = result();
    r.configs[0]!.label = 'fedavg, "α" 0.1';
    r.configs[0]!.rounds[0]!.accuracy = Number.NaN;
    const first = roundsCsv(r).split('\n')[1]!;
    expect(first.startsWith('"fedavg, ""α"" 0.1",')).toBe(true);
    expect(first.split(',').slice(8, 9)).toEqual(['']);
  });

  it('rounds the numbers to 6 significant digits: no float noise in the CSV (issue 11)', () => {
    const r = result();
    r.configs[0]!.rounds[0]!.accuracy = 0.1 + 0.2;
    r.configs[0]!.rounds[0]!.loss = 0.279_707_106_000_001_65;
    const lines = roundsCsv(r).trimEnd().split('\n');
    const header = lines[0]!.split(',');
    const row = Object.fromEntries(header.map((h, j) => [h, lines[1]!.split(',')[j]]));
    expect(row.accuracy).toBe('0.3');
    expect(row.loss).toBe('0.279707');
  });
});
