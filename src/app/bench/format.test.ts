import { describe, expect, it } from 'vitest';
import { sampleBenchResult } from '../../core/benchmark-test-support.ts';
import { browserName, bytes, duration, notes, rate, summary, tfjsWasmThreads } from './format.ts';

describe('bench formatting', () => {
  it('writes rates, durations and sizes', () => {
    expect([rate(1281.4), rate(45.43), rate(0.5)]).toEqual(['1,281', '45.4', '0.50']);
    expect([duration(1.284), duration(34.5), duration(340), duration(1250), duration(14685)]).toEqual([
      '1.28 ms',
      '34.5 ms',
      '340 ms',
      '1.25 s',
      '14.7 s',
    ]);
    expect([bytes(512), bytes(80_000), bytes(50_999_408), bytes(3.2e9)]).toEqual([
      '512 B',
      '80 kB',
      '51.0 MB',
      '3.20 GB',
    ]);
  });

  it('names browsers the way people do', () => {
    const chrome =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    expect(browserName(chrome)).toBe('Chrome 131 on Linux');
    expect(
      browserName(`${chrome.replace('X11; Linux x86_64', 'Windows NT 10.0; Win64; x64')} Edg/131.0.0.0`),
    ).toBe('Edge 131 on Windows');
    expect(
      browserName('Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0'),
    ).toBe('Firefox 133 on macOS');
    expect(
      browserName(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      ),
    ).toBe('Safari 17 on iOS');
    expect(browserName('')).toBe('unknown browser');
  });

  it('summarises a result and explains each row', () => {
    const r = sampleBenchResult();
    expect(summary(r)).toBe(
      'Fastest: WASM, threads + SIMD, 572 training samples/s at batch 64. 3 of 4 configurations measured; the others are listed with the reason.',
    );
    expect(r.training.map((t) => notes(t))).toEqual([
      'google swiftshader (software GPU)',
      '1 thread (tfjs uses half of the logical cores this browser reports), SIMD',
      'unavailable: this browser has no WebAssembly SIMD',
      '',
    ]);
    // The threaded row on a 2-core machine says why it has one thread (issue 11: it read "1 thread").
    expect(notes(r.training[1]!, 2)).toBe(
      '1 thread (tfjs uses half of the 2 logical cores this browser reports), SIMD',
    );
    const four = { ...r.training[1]!, threads: 2 } as (typeof r.training)[number];
    expect(notes(four, 4)).toBe('2 threads, SIMD');
    expect([1, 2, 3, 4, 16, 64].map(tfjsWasmThreads)).toEqual([1, 1, 1, 2, 8, 8]);
  });
});
