import { describe, expect, it } from 'vitest';
import { createStrategy } from './index.ts';
import { addToGlobal, firstNonFinite, isStrategyName, STRATEGY_NAMES, StrategyError } from './strategy.ts';

const f32 = (...xs: number[]) => Float32Array.of(...xs);
const ok = (clientId: string) => ({ clientId, delta: f32(0.5, -0.5, 1), numSamples: 4 });

/** Adaptive server optimisers: one update moves the model by η·m/(√v + τ), not by the delta. */
const ADAPTIVE: readonly string[] = ['fedadam', 'fedyogi', 'fedadagrad'];
/** Strategies with server state across rounds (checkpointed); the others export {}. */
const STATEFUL: readonly string[] = [...ADAPTIVE, 'fedavgm', 'feddyn'];

function thrown(fn: () => unknown): StrategyError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StrategyError);
    expect((e as Error).name).toBe('StrategyError');
    return e as StrategyError;
  }
  throw new Error('expected a StrategyError, nothing was thrown');
}

describe.each(STRATEGY_NAMES)('the round contract of %s', (name) => {
  const begin = () => createStrategy(name).begin(3, f32(1, 2, 3));

  it('rejects a delta of the wrong length', () => {
    const r = begin();
    expect(thrown(() => r.add({ clientId: 'x', delta: f32(1, 2), numSamples: 1 })).message).toBe(
      `${name}: delta from client "x" must have 3 values (the model size), got 2`,
    );
    expect(() => r.add({ clientId: 'x', delta: f32(1, 2, 3, 4), numSamples: 1 })).toThrow(/got 4$/);
    expect(r.accepted).toBe(0);
  });

  it('rejects NaN and ±Infinity in a delta', () => {
    const r = begin();
    expect(thrown(() => r.add({ clientId: 'x', delta: f32(0, Number.NaN, 0), numSamples: 1 })).message).toBe(
      `${name}: delta from client "x" must be finite, got NaN at index 1 of 3`,
    );
    expect(() => r.add({ clientId: 'x', delta: f32(0, 0, Number.POSITIVE_INFINITY), numSamples: 1 })).toThrow(
      /must be finite, got Infinity at index 2 of 3/,
    );
    expect(() => r.add({ clientId: 'x', delta: f32(Number.NEGATIVE_INFINITY, 0, 0), numSamples: 1 })).toThrow(
      /must be finite, got -Infinity at index 0 of 3/,
    );
    expect(r.accepted).toBe(0);
  });

  it('rejects a numSamples that is not a positive finite integer', () => {
    const r = begin();
    for (const n of [0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(thrown(() => r.add({ ...ok('x'), numSamples: n })).message).toBe(
        `${name}: numSamples from client "x" must be a positive finite integer, got ${n}`,
      );
    }
    expect(r.accepted).toBe(0);
  });

  it('rejects a second update from the same client, keeping the first', () => {
    const r = begin();
    r.add(ok('a'));
    expect(thrown(() => r.add(ok('a'))).message).toBe(
      `${name}: expected one update per client in round 3, got a second one from "a"`,
    );
    expect(r.accepted).toBe(1);
    // A rejected update does not count as sent: the client may still send a valid one.
    expect(() => r.add({ ...ok('b'), numSamples: 0 })).toThrow(StrategyError);
    r.add(ok('b'));
    expect(r.accepted).toBe(2);
  });

  it('rejects a non-Float32Array delta and an empty clientId', () => {
    const r = begin();
    const delta = [1, 2, 3] as unknown as Float32Array;
    expect(() => r.add({ clientId: 'x', delta, numSamples: 1 })).toThrow(/must be a Float32Array, got Array/);
    expect(() => r.add({ ...ok(''), clientId: '' })).toThrow(/clientId must be a non-empty string/);
  });

  it('refuses to finish with nothing added, saying how many failures there were', () => {
    const r = begin();
    r.fail({ clientId: 'a', reason: 'timeout' });
    r.fail({ clientId: 'b', reason: 'disconnected' });
    expect(thrown(() => r.finish()).message).toBe(
      `${name}: round 3 needs at least 1 accepted update to aggregate, got 0 (2 failure(s) recorded)`,
    );
  });

  it('records failures without effect on the maths, finishes once, refuses late updates', () => {
    const r = begin();
    r.add(ok('a'));
    r.fail({ clientId: 'b', reason: 'timeout' });
    expect(r.failures).toEqual([{ clientId: 'b', reason: 'timeout' }]);
    expect(r.accepted).toBe(1);
    const out = r.finish();
    // One update: every strategy gives global + that delta (FedAvgM too: m_1 = Δ, η = 1), except the
    // adaptive ones (+ η·m/(√v + τ) instead).
    // FedDyn with one client (m = 1): h = −α·Δ, so global + Δ − h/α = global + 2Δ.
    if (name === 'feddyn') expect(Array.from(out)).toEqual([2, 1, 5]);
    else if (!ADAPTIVE.includes(name)) expect(Array.from(out)).toEqual([1.5, 1.5, 4]);
    expect(() => r.finish()).toThrow(/round 3 was already finished/);
    expect(() => r.add(ok('c'))).toThrow(/round 3 is already finished, got a late update from "c"/);
  });

  it('validates the round and the global weights at begin', () => {
    const s = createStrategy(name);
    expect(() => s.begin(-1, f32(1))).toThrow(/round must be an integer ≥ 0, got -1/);
    expect(() => s.begin(1.5, f32(1))).toThrow(/got 1.5/);
    expect(() => s.begin(0, new Float32Array(0))).toThrow(
      /global weights must have 1..4000000 values, got 0/,
    );
    expect(() => s.begin(0, f32(1, Number.NaN))).toThrow(
      /global weights must be finite, got NaN at index 1 of 2/,
    );
    expect(() => s.fitConfig(-2)).toThrow(StrategyError);
  });

  it('refuses a result that overflows float32', () => {
    // The adaptive step is bounded by η·|m|/√v; their overflow is tested in adaptive.test.ts.
    if (ADAPTIVE.includes(name)) return;
    // 2^127 + 2^127 = 2^128 ≈ 3.40282367e38 is just past the largest float32 (≈ 3.40282347e38).
    const r = createStrategy(name).begin(0, f32(0, 2 ** 127));
    r.add({ clientId: 'a', delta: f32(0, 2 ** 127), numSamples: 1 });
    if (name === 'feddyn') {
      // FedDyn steps 2Δ with one client: about 3·2^127 (h/α rounds through float32 h).
      expect(() => r.finish()).toThrow(
        /^feddyn: new weight at index 1 must fit in float32, got 5\.10423\d*e\+38$/,
      );
    } else {
      expect(() => r.finish()).toThrow(`${name}: new weight at index 1 must fit in float32, got ${2 ** 128}`);
    }
  });

  if (!STATEFUL.includes(name)) {
    it('exports {} and imports only {}', () => {
      const s = createStrategy(name);
      expect(s.exportState()).toEqual({});
      s.importState({});
      expect(() => s.importState({ step: 1 })).toThrow(
        `${name}: has no server state, expected {} to import, got keys step`,
      );
    });
  }
});

describe('helpers', () => {
  it('isStrategyName accepts exactly the eleven names', () => {
    expect(STRATEGY_NAMES).toEqual([
      'fedavg',
      'fedprox',
      'fedadam',
      'fedyogi',
      'fedadagrad',
      'fedavgm',
      'feddyn',
      'median',
      'trimmed-mean',
      'krum',
      'multi-krum',
    ]);
    for (const n of STRATEGY_NAMES) expect(isStrategyName(n)).toBe(true);
    expect(isStrategyName('FedAvg')).toBe(false);
    expect(isStrategyName('bulyan')).toBe(false);
  });

  it('firstNonFinite finds the first NaN or infinity', () => {
    expect(firstNonFinite(f32(1, 2, 3))).toBe(-1);
    expect(firstNonFinite(f32(1, Number.NaN, Number.POSITIVE_INFINITY))).toBe(1);
    expect(firstNonFinite(f32(-3.4e38, Number.NEGATIVE_INFINITY))).toBe(1);
  });

  it('addToGlobal rounds global + step once to float32', () => {
    const out = addToGlobal('t', f32(1), Float64Array.of(1 / 3));
    expect(out[0]).toBe(Math.fround(1 + 1 / 3));
  });
});
