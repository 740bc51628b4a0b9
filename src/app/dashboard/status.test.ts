import { describe, expect, it } from 'vitest';
import { type Connection, type StatusJson, startPoller } from './status.ts';
import { status } from './test-support.ts';

/** A poller on a hand-driven clock: `run()` fires the pending timer. */
function harness(answers: (() => Promise<StatusJson>)[]) {
  let pending: (() => void) | null = null;
  const delays: number[] = [];
  const seen: StatusJson[] = [];
  const states: Connection[] = [];
  let t = 1000;
  const poller = startPoller({
    fetchStatus: () => answers.shift()!(),
    onStatus: (s) => seen.push(s),
    onConnection: (c) => states.push(c),
    now: () => t,
    setTimer: (fn, ms) => {
      pending = fn;
      delays.push(ms);
      return 1;
    },
    clearTimer: () => {
      pending = null;
    },
  });
  const flush = () => new Promise((ok) => setTimeout(ok, 0));
  return {
    poller,
    delays,
    seen,
    states,
    async run() {
      t += 1000;
      const fn = pending;
      pending = null;
      fn?.();
      await flush();
    },
    flush,
  };
}

describe('startPoller', () => {
  it('polls every second, reports reconnecting with backoff while the server is down, and keeps the data', async () => {
    const down = () => Promise.reject(new Error('connection refused'));
    const h = harness([
      () => Promise.resolve(status()),
      down,
      down,
      () => Promise.resolve(status({ round: 4 })),
    ]);
    await h.flush();
    expect(h.states.map((s) => s.state)).toEqual(['connecting', 'live']);
    expect(h.seen).toHaveLength(1);
    await h.run();
    await h.run();
    const last = h.states.at(-1)!;
    expect(last).toMatchObject({
      state: 'reconnecting',
      attempt: 2,
      error: 'connection refused',
      since: 2000,
    });
    expect(h.seen).toHaveLength(1);
    expect(h.delays).toEqual([1000, 1000, 2000]);
    await h.run();
    expect(h.states.at(-1)!.state).toBe('live');
    expect(h.seen.map((s) => s.round)).toEqual([3, 4]);
    expect(h.delays.at(-1)).toBe(1000);
    h.poller.stop();
  });
});
