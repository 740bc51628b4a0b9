/**
 * Integration: `GET /api/admin/model` of a real aggregator after real federated rounds returns tfjs model
 * artifacts that `loadExported` loads through tfjs's loader into a model that scores exactly what the
 * server's own evaluation of the global model says; without the admin token it is refused. Also: every
 * round records the server's crypto time, and `/api/status` carries the join link (null unless configured).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadExported } from '../src/model/exported.ts';
import { predict } from '../src/model/train.ts';
import { getStatus, smallExperiment, startTestAggregator, testClient, waitFor } from './federation.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('exporting the global model', () => {
  it('serves the trained global model as tfjs artifacts that predict like the server evaluates', async () => {
    const exp = await smallExperiment({ rounds: 2 });
    const t = await startTestAggregator(exp);
    cleanups.push(() => t.agg.close());
    const shards = exp.shards(2, { kind: 'iid' });
    const clients = await Promise.all(shards.map((s, i) => testClient(t, s, `export-${i}`)));
    const runs = clients.map((c) => c.run());
    cleanups.push(async () => {
      for (const c of clients) c.stop();
      await Promise.allSettled(runs);
    });
    const co = t.agg.coordinator;
    await waitFor(() => co.status(null).round === 2, 120_000, 'two rounds');
    await co.idle();

    const base = `http://127.0.0.1:${t.agg.port}`;
    const refused = await fetch(`${base}/api/admin/model`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toMatch(/admin token/);
    const wrong = await fetch(`${base}/api/admin/model`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);

    const res = await fetch(`${base}/api/admin/model`, {
      headers: { Authorization: `Bearer ${t.agg.adminToken}` },
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { modelTopology: { version: number; round: number } };
    expect(json.modelTopology).toMatchObject({ round: 2, version: 2 });
    const { model, preprocessor } = await loadExported(json);
    cleanups.push(() => model.dispose());
    expect(preprocessor.classes).toEqual(exp.preprocessor.classes);
    // The exported weights are the server's global model, bit for bit.
    expect(new Uint8Array((await model.getWeights()).buffer)).toEqual(
      new Uint8Array(co.globalWeights().buffer),
    );

    const evaluation = co.status(null).evaluation!;
    const { classes } = await predict(model, exp.test, 256);
    let right = 0;
    for (let i = 0; i < exp.test.n; i++) if (classes[i] === exp.test.label[i]) right++;
    expect(right / exp.test.n).toBe(evaluation.accuracy);

    const status = await getStatus(t);
    expect((status as unknown as { join: unknown }).join).toBeNull();
    expect(status.history).toHaveLength(2);
    for (const h of status.history) {
      expect(h.cryptoSeconds).toBeGreaterThan(0);
      expect(h.cryptoSeconds).toBeLessThan(h.seconds + 1);
    }
  }, 180_000);
});
