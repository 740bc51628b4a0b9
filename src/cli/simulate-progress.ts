/**
 * What `pqfed simulate` says on stderr while a round runs, so that a 40-second round is not 40 seconds of
 * silence: which clients train, which finished training, each update received (k of n), the evaluation, the
 * round's result, and every 10 s a line on what the round still waits for. Never on stdout.
 */
import type { RoundRecord } from '../aggregator/checkpoint.ts';
import type { Coordinator } from '../aggregator/coordinator.ts';

export interface RoundProgress {
  /** A client's worker says it finished training `round` (its FederatedClient is sending the update). */
  trained(name: string, round: number): void;
  stop(): void;
}

export function roundProgress(
  coordinator: Coordinator,
  o: { rounds: number; testRows: number; nameOf: (clientId: string) => string; say: (line: string) => void },
): RoundProgress {
  let round = 0;
  let selected: string[] = [];
  let startedAt = 0;
  const trained = new Set<string>();
  const received = new Set<string>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  const tag = () => `simulate: round ${round}/${o.rounds}`;
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;
  const onStart = (e: { round: number; selected: string[] }) => {
    round = e.round;
    selected = e.selected;
    startedAt = Date.now();
    trained.clear();
    received.clear();
    o.say(
      `${tag()}: ${selected.length} client${selected.length === 1 ? '' : 's'} training (${selected.map(o.nameOf).join(', ')})`,
    );
    stopTicker();
    ticker = setInterval(() => {
      const waiting = selected.filter((id) => !received.has(id)).map(o.nameOf);
      if (!waiting.length) return;
      o.say(
        `${tag()}: ${elapsed()}, ${trained.size} of ${selected.length} finished training, ` +
          `${received.size} of ${selected.length} updates received; waiting for ${waiting.join(', ')}`,
      );
    }, 10_000);
    ticker.unref?.();
  };
  const onUpdate = (e: { clientId: string; round: number }) => {
    if (e.round !== round) return;
    received.add(e.clientId);
    o.say(
      `${tag()}: update ${received.size} of ${selected.length} received (${o.nameOf(e.clientId)}, ${elapsed()})`,
    );
    if (received.size === selected.length) {
      stopTicker();
      o.say(`${tag()}: aggregating, then evaluating the global model on ${o.testRows} held-out rows`);
    }
  };
  const onEnd = (r: RoundRecord) => {
    stopTicker();
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    o.say(
      `${tag()} ${r.outcome} in ${r.seconds.toFixed(1)} s: accuracy ${pct(r.accuracy)}, ` +
        `macro-F1 ${r.macroF1.toFixed(3)}, MOS MAE ${r.mosMAE.toFixed(3)}, loss ${r.loss.toFixed(3)}` +
        (r.epsilon === undefined ? '' : `, privacy ε = ${r.epsilon === null ? '∞' : r.epsilon.toFixed(3)}`),
    );
  };
  const onRetry = (e: { round: number; failed: { clientId: string; reason: string }[] }) => {
    stopTicker();
    o.say(
      `${tag()}: missed its quorum (${e.failed.map((f) => `${o.nameOf(f.clientId)}: ${f.reason}`).join('; ')}); retrying`,
    );
  };
  coordinator.on('round-start', onStart);
  coordinator.on('update', onUpdate);
  coordinator.on('round-end', onEnd);
  coordinator.on('round-retry', onRetry);
  return {
    trained(name, r) {
      if (r !== round || trained.has(name)) return;
      trained.add(name);
      o.say(`${tag()}: ${name} finished training (${trained.size} of ${selected.length}, ${elapsed()})`);
    },
    stop() {
      stopTicker();
      coordinator.off('round-start', onStart);
      coordinator.off('update', onUpdate);
      coordinator.off('round-end', onEnd);
      coordinator.off('round-retry', onRetry);
    },
  };
}
