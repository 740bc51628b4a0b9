/**
 * A hung explanation thread does not hold `/api/explain` forever: a job past `EXPLAIN.jobTimeoutMs` stops
 * the thread and fails with a reason; the jobs queued behind it start fresh threads (and, here, time out
 * too, with a 1 ms deadline), so nothing waits without end. With the default deadline the same job answers.
 */
import { describe, expect, it } from 'vitest';
import { createExplainer } from '../src/aggregator/explainer.ts';
import { initWeights } from '../src/model/model.ts';
import { smallExperiment } from './federation.ts';

describe('the explanation thread', () => {
  it('is stopped when a job passes its deadline; queued jobs go on; the default deadline answers', async () => {
    const exp = await smallExperiment({ maxTestRows: 50 });
    const weights = initWeights(exp.model, 1).weights;
    const model = { version: 1, weights: () => weights };
    const hasty = createExplainer(exp, { jobTimeoutMs: 1 });
    try {
      const results = await Promise.allSettled([
        hasty.explain(model, 0),
        hasty.explain(model, 1),
        hasty.suggestions(model),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(String((r as PromiseRejectedResult).reason)).toMatch(/took longer than 1 ms and was stopped/);
      }
      expect(hasty.stats().pending).toBe(0);
    } finally {
      await hasty.dispose();
    }
    const patient = createExplainer(exp);
    try {
      const answer = await patient.explain(model, 0);
      expect(answer.row).toBe(0);
    } finally {
      await patient.dispose();
    }
  }, 120_000);
});
