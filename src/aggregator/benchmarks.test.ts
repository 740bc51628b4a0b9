import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleBenchResult } from '../core/benchmark-test-support.ts';
import { BENCHMARKS_FILE, BenchmarkStore } from './benchmarks.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'pqfed-bench-store-'));

describe('BenchmarkStore', () => {
  it('keeps the newest entries up to its cap, in the file as in memory', () => {
    const d = dir();
    const store = new BenchmarkStore(d, () => {}, 3);
    const ids = Array.from({ length: 5 }, (_, i) => {
      const r = sampleBenchResult();
      r.browser.hardwareConcurrency = i + 1;
      return store.add(r).id;
    });
    expect(store.list().entries.map((e) => e.id)).toEqual(ids.slice(2));
    expect(store.list()).toMatchObject({ total: 3, max: 3 });
    const file = JSON.parse(readFileSync(join(d, BENCHMARKS_FILE), 'utf8'));
    expect(file.entries.map((e: { id: string }) => e.id)).toEqual(ids.slice(2));
    expect(new BenchmarkStore(d, () => {}, 3).list()).toEqual(store.list());
  });

  it('in memory only without a data directory', () => {
    const store = new BenchmarkStore(null);
    store.add(sampleBenchResult());
    expect(store.list().total).toBe(1);
  });

  it('sets a corrupt file aside and starts empty, and drops entries that no longer validate', () => {
    const d = dir();
    writeFileSync(join(d, BENCHMARKS_FILE), '{"format": "pqfed-benchmarks", "entries": [');
    const logs: string[] = [];
    expect(new BenchmarkStore(d, (l) => logs.push(l)).list().total).toBe(0);
    expect(existsSync(join(d, BENCHMARKS_FILE))).toBe(false);
    expect(readdirSync(d).some((f) => f.startsWith(`${BENCHMARKS_FILE}.corrupt-`))).toBe(true);
    expect(logs.join('\n')).toContain('could not be read');

    const good = { id: 'a', receivedAt: '2026-11-23T13:00:00.000Z', result: sampleBenchResult() };
    const bad = { ...good, id: 'b', result: { ...sampleBenchResult(), training: [] } };
    writeFileSync(
      join(d, BENCHMARKS_FILE),
      JSON.stringify({ format: 'pqfed-benchmarks', version: 1, entries: [good, bad] }),
    );
    const store = new BenchmarkStore(d, (l) => logs.push(l));
    expect(store.list().entries.map((e) => e.id)).toEqual(['a']);
    expect(logs.at(-1)).toContain('dropped 1 invalid entries');
  });
});
