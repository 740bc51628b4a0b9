/**
 * The page's handle on a trainer worker. All training runs in the worker; the main thread only talks to it.
 */
import { type Remote, releaseProxy, wrap } from 'comlink';
import type { TrainerApi } from '../../workers/trainer.worker.ts';

export type { TrainerApi };

export interface TrainerHandle {
  api: Remote<TrainerApi>;
  /** Ends the worker (and any training in it). */
  terminate(): void;
}

export function createTrainer(): TrainerHandle {
  const worker = new Worker(new URL('../../workers/trainer.worker.ts', import.meta.url), { type: 'module' });
  const api = wrap<TrainerApi>(worker);
  return {
    api,
    terminate() {
      api[releaseProxy]();
      worker.terminate();
    },
  };
}
