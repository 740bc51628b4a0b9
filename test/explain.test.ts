/**
 * `GET /api/explain` on a real aggregator over HTTP: the held-out row count and suggested flows, one
 * flow's gradient × input attributions under the global model (every input column, sorted by
 * |attribution|), and strict validation of `row`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedExperiment } from '../src/aggregator/experiment.ts';
import type { Explanation, FlowSuggestion } from '../src/model/explain.ts';
import { smallExperiment, startTestAggregator, type TestAggregator } from './federation.ts';

let exp: PreparedExperiment;
let t: TestAggregator;
let base: string;

beforeAll(async () => {
  exp = await smallExperiment({ rounds: 1, autoStart: false });
  t = await startTestAggregator(exp);
  base = `http://127.0.0.1:${t.agg.port}/api/explain`;
}, 60_000);
afterAll(async () => {
  await t.agg.close();
});

describe('GET /api/explain', () => {
  it('lists the held-out row count and suggested flows, without a token', async () => {
    const r = await fetch(base);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { rows: number; suggestions: FlowSuggestion[] };
    expect(body.rows).toBe(exp.test.n);
    expect(body.suggestions.length).toBeGreaterThan(0);
    expect(body.suggestions.length).toBeLessThanOrEqual(40);
    for (const s of body.suggestions) {
      expect(Number.isInteger(s.row) && s.row >= 0 && s.row < body.rows).toBe(true);
      expect(s.actual.className).toBe(exp.preprocessor.classes[exp.test.label[s.row]!]);
      expect(exp.preprocessor.classes).toContain(s.predicted.className);
      expect(s.correct).toBe(s.predicted.classIndex === s.actual.classIndex);
      expect(s.predicted.probability).toBeGreaterThan(0);
      expect(s.predicted.probability).toBeLessThanOrEqual(1);
    }
    // The same model version gives the same list.
    expect(((await (await fetch(base)).json()) as { suggestions: unknown }).suggestions).toEqual(
      body.suggestions,
    );
  });

  it('explains row 0: every input column by name, sorted by |attribution|', async () => {
    const r = await fetch(`${base}?row=0`);
    expect(r.status).toBe(200);
    const e = (await r.json()) as Explanation;
    expect(e.row).toBe(0);
    const names = [
      ...exp.preprocessor.numeric.map((c) => c.name),
      ...exp.preprocessor.categorical.map((c) => c.name),
    ];
    expect(e.features.map((f) => f.name).sort()).toEqual([...names].sort());
    const magnitudes = e.features.map((f) => Math.abs(f.attribution));
    expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a));
    expect(magnitudes[0]).toBeGreaterThan(0);
    expect(e.target).toBe(e.predicted.className);
    expect(e.actual.className).toBe(exp.preprocessor.classes[exp.test.label[0]!]);
    expect(e.mos.actual).toBeCloseTo(exp.test.mos[0]!, 5);
    for (const f of e.features) {
      expect(f.kind === 'numeric' ? typeof f.value === 'number' : f.kind === 'categorical').toBe(true);
    }
    // Deterministic under the same global model.
    expect(await (await fetch(`${base}?row=0`)).json()).toEqual(e);
  });

  it('explains the last row and refuses any row that is not one integer in [0, rows)', async () => {
    const rows = exp.test.n;
    expect((await fetch(`${base}?row=${rows - 1}`)).status).toBe(200);
    for (const bad of [
      '-1',
      '1.5',
      'abc',
      String(rows),
      '',
      '01',
      '1e2',
      ' 1',
      '0x1',
      '99999999999999999999',
    ]) {
      const r = await fetch(`${base}?row=${encodeURIComponent(bad)}`);
      expect(r.status, `row=${bad}`).toBe(400);
      const { error } = (await r.json()) as { error: string };
      expect(error).toContain(`[0, ${rows})`);
      expect(error).toContain(`got ${JSON.stringify(bad)}`);
    }
    const twice = await fetch(`${base}?row=1&row=2`);
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toMatch(/got 2 row parameters/);
    const post = await fetch(`${base}?row=0`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
