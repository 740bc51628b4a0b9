/**
 * The client page (/): this tab as an edge device. It joins the federation from the join link
 * (`/?autojoin=1#fp=…`, `&backend=wasm|webgpu|cpu` to force a backend, `&engine=tfjs|fused-wasm|
 * fused-webgpu` to pick the training engine; default auto: the fused WASM engine on the WASM or CPU
 * backend), shows the engine × device it trains on, keeps its data in IndexedDB (its
 * shard of the server's sample, or the user's imported CSV), shows what the trainer worker found (backend,
 * WebGPU adapter, WASM SIMD/threads, cross-origin isolation) and can train offline on synthetic rows.
 * Nothing here imports tfjs: the main thread never trains.
 */

import { proxy } from 'comlink';
import type { DemoProgress, LossTraceOptions } from '../../workers/trainer.worker.ts';
import { SYNTHETIC_NOTICE } from '../data/synthetic.ts';
import { ENGINE_LABEL, type Engine, isEngineChoice } from '../engine/choice.ts';
import type { ThreadsCheckOptions } from '../engine/threads-check.ts';
import type { BackendName, BackendReport } from '../model/backend.ts';
import type { BenchmarkOptions } from '../model/throughput.ts';
import { mountClassView } from './class-view.ts';
import { byId as el } from './dashboard/dom.ts';
import { mountDataPanel } from './data-panel.ts';
import { mountFederation } from './federation.ts';
import { originNotice } from './origin-notice.ts';
import { mountTabName } from './tab-name.ts';
import { createTrainer } from './trainer.ts';

type BackendChoice = BackendName | 'auto';

const DEMO = { rows: 2000, steps: 300, batchSize: 32, learningRate: 2e-3, seed: 1 } as const;

const ui = {
  status: el<HTMLParagraphElement>('status'),
  select: el<HTMLSelectElement>('backend-select'),
  name: el('backend-name'),
  adapter: el('backend-adapter'),
  simd: el('backend-simd'),
  threads: el('backend-threads'),
  isolated: el('backend-isolated'),
  skipped: el<HTMLUListElement>('backend-skipped'),
  notice: el('synthetic-notice'),
  button: el<HTMLButtonElement>('train-button'),
  progress: el<HTMLProgressElement>('train-progress'),
  step: el('train-step'),
  loss: el('train-loss'),
  speed: el('train-speed'),
  engine: el<HTMLSelectElement>('engine-select'),
  engineUsed: el('train-engine'),
  engineName: el('engine-name'),
};

/** "fused WASM engine × WASM SIMD", and why tfjs when the chosen fused engine cannot run. */
function engineText(r: { engine: Engine; device: string; fallback?: string }): string {
  const text = `${ENGINE_LABEL[r.engine]} × ${r.device}`;
  return r.fallback === undefined ? text : `${text} (the fused engine could not run: ${r.fallback})`;
}

/** Shows the engine the "Training engine" choice trains on with the backend in use. */
async function showEngine(): Promise<void> {
  const choice = isEngineChoice(ui.engine.value) ? ui.engine.value : 'auto';
  try {
    ui.engineName.textContent = engineText(await trainer.api.engineInUse(choice));
  } catch (err) {
    ui.engineName.textContent = `unknown (${errorText(err)})`;
  }
}

/** This tab's id: kept in sessionStorage, so a reload is the same device and a new tab is another. */
function tabId(): string {
  let id = sessionStorage.getItem('pqfed-tab');
  if (!id) {
    // getRandomValues works on plain-HTTP pages too (randomUUID needs a secure context).
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join(
      '',
    );
    sessionStorage.setItem('pqfed-tab', id);
  }
  return id;
}

function setStatus(text: string, state: 'ok' | 'busy' | 'error' = 'ok'): void {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

const yesNo = (v: boolean | undefined) => (v === undefined ? '–' : v ? 'yes' : 'no');

function showReport(report: BackendReport, skipped: { name: string; reason: string }[]): void {
  ui.name.textContent = report.name;
  ui.adapter.textContent = report.adapter ?? (report.name === 'webgpu' ? 'unknown' : '–');
  ui.simd.textContent = yesNo(report.simd);
  ui.threads.textContent = report.threads === undefined ? '–' : String(report.threads);
  ui.isolated.textContent = yesNo(report.crossOriginIsolated ?? globalThis.crossOriginIsolated);
  ui.skipped.replaceChildren(
    ...skipped.map((s) => {
      const li = document.createElement('li');
      li.textContent = `${s.name} passed over: ${s.reason}`;
      return li;
    }),
  );
}

ui.notice.textContent = `Trains on TON_IoT-shaped ${SYNTHETIC_NOTICE}.`;
// Plain HTTP on a LAN address: say plainly what the browser withholds and why.
const withheld = originNotice({
  protocol: location.protocol,
  hostname: location.hostname,
  isSecureContext,
  crossOriginIsolated,
});
if (withheld) {
  el('origin-notice').textContent = withheld;
  el('origin-notice').hidden = false;
}

const trainer = createTrainer();
void trainer.api.useTab(tabId());
let training = false;

async function chooseBackend(choice: BackendChoice): Promise<void> {
  ui.select.disabled = true;
  ui.button.disabled = true;
  setStatus(`Selecting the ${choice} backend…`, 'busy');
  try {
    const { report, skipped } = await trainer.api.useBackend(choice);
    showReport(report, skipped);
    await showEngine();
    setStatus(`Ready: training runs on ${report.name} (${ui.engineName.textContent}) in a Web Worker.`);
  } catch (err) {
    setStatus(`Backend ${choice} is not available here (${errorText(err)}).`, 'error');
  } finally {
    ui.select.disabled = false;
    ui.button.disabled = false;
  }
}

function showProgress(p: DemoProgress): void {
  ui.progress.max = p.steps;
  ui.progress.value = p.step;
  ui.progress.textContent = `${Math.round((100 * p.step) / p.steps)}%`;
  ui.step.textContent = `${p.step} / ${p.steps}`;
  ui.loss.textContent = p.loss.toFixed(4);
  ui.speed.textContent = p.samplesPerSec.toFixed(0);
}

async function trainDemo(): Promise<void> {
  training = true;
  ui.select.disabled = true;
  ui.engine.disabled = true;
  const engine = isEngineChoice(ui.engine.value) ? ui.engine.value : 'auto';
  ui.button.textContent = 'Stop training';
  ui.progress.value = 0;
  setStatus(`Training on ${SYNTHETIC_NOTICE}…`, 'busy');
  try {
    const r = await trainer.api.trainDemo({ ...DEMO, engine }, proxy(showProgress));
    const how = r.stopped ? 'Stopped' : 'Done';
    ui.engineUsed.textContent = engineText(r);
    const on = r.engine === 'tfjs' ? r.backend : `the ${ENGINE_LABEL[r.engine]}`;
    setStatus(
      `${how} after ${r.steps} steps on ${on}: loss ${r.loss.toFixed(4)}, ` +
        `${r.samplesPerSec.toFixed(0)} samples/s (${r.rows} synthetic rows, ${r.classes} classes, ` +
        `${r.params} parameters).`,
    );
  } catch (err) {
    setStatus(`Training failed: ${errorText(err)}`, 'error');
  } finally {
    training = false;
    ui.select.disabled = false;
    ui.engine.disabled = false;
    ui.button.textContent = 'Train on synthetic sample';
  }
}

ui.select.addEventListener('change', () => {
  backendReady = chooseBackend(ui.select.value as BackendChoice);
});
ui.engine.addEventListener('change', () => {
  void backendReady.then(showEngine);
});
ui.button.addEventListener('click', () => {
  if (training) void trainer.api.stopDemo();
  else void trainDemo();
});

/**
 * Test and scripting hook: each call runs in a fresh worker on the named backend and ends it afterwards,
 * so runs on different backends share nothing.
 */
const hook = {
  async lossTrace(backend: BackendName, opts: LossTraceOptions) {
    const t = createTrainer();
    try {
      const { report, skipped } = await t.api.useBackend(backend);
      return { report, skipped, trace: await t.api.lossTrace(opts) };
    } finally {
      t.terminate();
    }
  },
  /** The fused engine's data-parallel step against its single-thread step, in a fresh worker. */
  async fusedThreadsCheck(opts: ThreadsCheckOptions) {
    const t = createTrainer();
    try {
      return await t.api.fusedThreadsCheck(opts);
    } finally {
      t.terminate();
    }
  },
  async benchmark(backend: BackendName, opts: BenchmarkOptions) {
    const t = createTrainer();
    try {
      const { report } = await t.api.useBackend(backend);
      return { report, result: await t.api.benchmark(opts) };
    } finally {
      t.terminate();
    }
  },
};

export type PqfedHook = typeof hook;

declare global {
  interface Window {
    __pqfed?: PqfedHook;
  }
}

window.__pqfed = hook;

const chosenEngine = new URLSearchParams(location.search).get('engine');
if (isEngineChoice(chosenEngine)) ui.engine.value = chosenEngine;
const forced = new URLSearchParams(location.search).get('backend');
const initial: BackendChoice = forced === 'webgpu' || forced === 'wasm' || forced === 'cpu' ? forced : 'auto';
ui.select.value = initial;
let backendReady = chooseBackend(initial);

const data = mountDataPanel(trainer, () => federation.rejoin());
const federation = mountFederation(
  trainer,
  () => backendReady,
  () => data.refresh(),
);
mountTabName(() => federation.rejoin());
mountClassView(
  () => el('fed-client').dataset.clientId ?? null,
  () => federation.joinAgain(),
);
