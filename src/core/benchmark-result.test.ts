import { describe, expect, it } from 'vitest';
import { BENCH_CONFIG_IDS, BenchResultError, fastest, parseBenchResult } from './benchmark-result.ts';
import { sampleBenchResult } from './benchmark-test-support.ts';

/** The sample with one change made by `edit`. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into the result freely to break it
type Loose = any;

function edited(edit: (r: Loose) => void): unknown {
  const r = structuredClone(sampleBenchResult()) as Loose;
  edit(r);
  return r;
}

function refusal(value: unknown): string {
  try {
    parseBenchResult(value);
  } catch (e) {
    expect(e).toBeInstanceOf(BenchResultError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseBenchResult', () => {
  it('accepts a real result and returns an equal copy', () => {
    const r = sampleBenchResult();
    const parsed = parseBenchResult(JSON.parse(JSON.stringify(r)));
    expect(parsed).toEqual(r);
    expect(parsed).not.toBe(r);
  });

  it('accepts a result without crypto, adapter or measured configuration', () => {
    const r = edited((r) => {
      r.crypto = null;
      r.adapter = null;
      r.model.params = null;
      r.training = [{ id: 'webgpu', backend: 'webgpu', status: 'unavailable', reason: 'webgpu: no adapter' }];
    });
    expect(parseBenchResult(r).training).toHaveLength(1);
  });

  it('names the field, what was expected and what came', () => {
    expect(
      refusal(
        edited((r) => {
          r.training[1].samplesPerSec = -3;
        }),
      ),
    ).toBe('result.training[1].samplesPerSec: expected a finite number in (0, 1000000000], got -3');
    expect(
      refusal(
        edited((r) => {
          r.browser.hardwareConcurrency = 2.5;
        }),
      ),
    ).toBe('result.browser.hardwareConcurrency: expected an integer in [1, 1024], got 2.5');
    expect(
      refusal(
        edited((r) => {
          r.crypto.aes256GcmMBPerSec = '300';
        }),
      ),
    ).toBe('result.crypto.aes256GcmMBPerSec: expected a finite number in (0, 1000000000], got "300"');
    expect(
      refusal(
        edited((r) => {
          r.format = 'other';
        }),
      ),
    ).toBe('result.format: expected "pqfed-browser-bench", got "other"');
  });

  it('refuses non-finite numbers, which JSON carries as null', () => {
    expect(
      refusal(
        edited((r) => {
          r.training[0].samplesPerSec = Number.POSITIVE_INFINITY;
        }),
      ),
    ).toContain('got the non-finite number Infinity');
    expect(
      refusal(
        JSON.parse(
          JSON.stringify(
            edited((r) => {
              r.training[0].samplesPerSec = Number.NaN;
            }),
          ),
        ),
      ),
    ).toContain('samplesPerSec: expected a finite number in (0, 1000000000], got null');
  });

  it('refuses unknown and missing fields', () => {
    expect(
      refusal(
        edited((r) => {
          r.extra = 1;
        }),
      ),
    ).toContain('got also extra');
    expect(
      refusal(
        edited((r) => {
          r.training[0].note = 'x';
        }),
      ),
    ).toContain('result.training[0]: expected only');
    expect(refusal(edited((r) => delete r.browser.userAgent))).toBe(
      'result.browser.userAgent: expected a value, got nothing',
    );
    expect(refusal(edited((r) => delete r.training[2].reason))).toBe(
      'result.training[2].reason: expected a value, got nothing',
    );
  });

  it('refuses unknown configurations, the wrong backend for one, and duplicates', () => {
    expect(
      refusal(
        edited((r) => {
          r.training[0].id = 'webgl';
        }),
      ),
    ).toContain('result.training[0].id: expected one of');
    expect(
      refusal(
        edited((r) => {
          r.training[0].backend = 'wasm';
        }),
      ),
    ).toBe('result.training[0].backend: expected one of webgpu, got "wasm"');
    expect(refusal(edited((r) => r.training.push(r.training[0])))).toContain(
      'expected each configuration once',
    );
    expect(
      refusal(
        edited((r) => {
          r.training = [];
        }),
      ),
    ).toContain(`expected an array of 1 to ${BENCH_CONFIG_IDS.length} backend results`);
  });

  it('refuses a blank reason, control characters and overlong strings', () => {
    expect(
      refusal(
        edited((r) => {
          r.training[2].reason = '  ';
        }),
      ),
    ).toContain('result.training[2].reason');
    expect(
      refusal(
        edited((r) => {
          r.adapter = 'gpu\u0000';
        }),
      ),
    ).toContain('without control characters');
    expect(
      refusal(
        edited((r) => {
          r.browser.userAgent = 'x'.repeat(513);
        }),
      ),
    ).toContain('result.browser.userAgent: expected a string of 0 to 512 characters');
  });

  it('refuses a malformed time and a wrong type at the top', () => {
    expect(
      refusal(
        edited((r) => {
          r.createdAt = 'yesterday';
        }),
      ),
    ).toContain('result.createdAt: expected an ISO 8601');
    expect(refusal([])).toBe('result: expected an object, got an array of 0');
    expect(refusal(null)).toBe('result: expected an object, got null');
  });
});

describe('fastest', () => {
  it('is the measured configuration with the most samples/s', () => {
    expect(fastest(sampleBenchResult())?.id).toBe('wasm');
    expect(fastest({ training: [] })).toBeNull();
  });
});
