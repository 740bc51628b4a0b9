import { describe, expect, it } from 'vitest';
import { BENCH_CONFIG_IDS } from '../../core/benchmark-result.ts';
import { DEFAULTS, optionsFromQuery, parseSetting } from './options.ts';

describe('bench options', () => {
  it('defaults to every configuration and the crypto, not running by itself', () => {
    expect(optionsFromQuery('')).toEqual(DEFAULTS);
    expect(DEFAULTS.configs).toEqual([...BENCH_CONFIG_IDS]);
  });

  it('reads the URL, clamps to the bounds and ignores what it does not know', () => {
    const o = optionsFromQuery(
      '?steps=3&warmup=1&seconds=2.5&batch=100000&crypto-ms=abc&backends=cpu,webgl,wasm&run=1',
    );
    expect(o).toMatchObject({
      steps: 3,
      warmup: 1,
      seconds: 2.5,
      batchSize: 1024,
      cryptoMs: DEFAULTS.cryptoMs,
    });
    expect(o.configs).toEqual(['wasm', 'cpu']);
    expect(o.autorun).toBe(true);
    expect(optionsFromQuery('?backends=nothing').configs).toEqual([...BENCH_CONFIG_IDS]);
    expect(optionsFromQuery('?crypto=0').crypto).toBe(false);
  });

  it('rounds integer settings and refuses non-numbers', () => {
    expect(parseSetting('steps', '2.6')).toBe(3);
    expect(parseSetting('steps', '0')).toBe(2);
    expect(parseSetting('seconds', '0.75')).toBe(0.75);
    expect(parseSetting('warmup', '')).toBeNull();
    expect(parseSetting('warmup', 'Infinity')).toBeNull();
  });
});
