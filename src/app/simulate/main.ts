/**
 * `/simulate`: a federation in one tab, with no server. The page is the aggregator (federation.ts); the
 * virtual clients live in a pool of workers (workers/federation.worker.ts), at most one per logical core
 * (`navigator.hardwareConcurrency`), each hosting ⌈N / pool⌉ clients that train one after another; one more
 * worker imports the embedded sample, prepares the experiment and evaluates every global model. Nothing
 * here imports tfjs, and the page never calls `/api` or `/ws`.
 *
 * Results: the chart, the final figures, the round-by-round table, `#sim-json` and
 * `window.__pqfedSimulate.result` (the same JSON).
 */
import { proxy, type Remote, releaseProxy, transfer, wrap } from 'comlink';
import type { FederationWorkerApi, LoadReport, PreparedSummary } from '../../../workers/federation.worker.ts';
import { DEFAULT_DELTA, privacySettings } from '../../core/privacy/ledger.ts';
import type { SecureRoundView } from '../../core/round/secure-view.ts';
import { STRATEGY_NAMES, type StrategyName } from '../../core/strategies/strategy.ts';
import { generateIdentity, type Identity } from '../../crypto/identity.ts';
import { ENGINE_LABEL, type EngineChoice, isEngineChoice } from '../../engine/choice.ts';
import type { BackendReport } from '../../model/backend.ts';
import { byId as el, h, saveFile, setText } from '../dashboard/dom.ts';
import { mountSecureView } from '../dashboard/secure-view-panel.ts';
import { registerOfflineCache } from '../offline.ts';
import { ComparisonPlot } from './chart.ts';
import { type FederationEnv, runConfiguration } from './federation.ts';
import {
  BOUNDS,
  type ConfigSpec,
  checkAlpha,
  checkInteger,
  checkLearningRate,
  checkPrivacyNumber,
  configLabel,
  MODEL_SIZES,
  type ModelSize,
  OptionError,
  optionsFromQuery,
  type PrivacyOptions,
  poolSize,
  privacyProblems,
  queryFor,
  SAMPLE_URL,
  type SimBackend,
  type SimOptions,
  STRATEGY_LABELS,
  secureAggregationProblems,
} from './options.ts';
import { PortPeer, StoppedError } from './port-socket.ts';
import { describe, fractionDone, type RunPosition } from './progress.ts';
import {
  addRound,
  type ChartMetric,
  chartSummary,
  comparisonChart,
  emptyConfig,
  finalRows,
  fmt,
  fmtEpsilon,
  formatRefusals,
  privacyNote,
  recallTable,
  resultJson,
  roundsCsv,
  type SimResult,
} from './results.ts';
import { IN_TAB_SECURE_DEFAULTS } from './secure-federation.ts';

declare global {
  interface Window {
    /** The run's results for scripts and tests (the JSON shown in #sim-json). */
    __pqfedSimulate?: { readonly result: SimResult; readonly running: boolean };
  }
}

const ui = {
  form: el<HTMLFormElement>('sim-form'),
  errors: el('sim-errors'),
  clients: el<HTMLInputElement>('sim-clients'),
  rounds: el<HTMLInputElement>('sim-rounds'),
  workers: el('sim-workers'),
  configs: el<HTMLOListElement>('sim-configs'),
  addConfig: el<HTMLButtonElement>('sim-add-config'),
  trainRows: el<HTMLInputElement>('sim-train-rows'),
  testRows: el<HTMLInputElement>('sim-test-rows'),
  epochs: el<HTMLInputElement>('sim-epochs'),
  batch: el<HTMLInputElement>('sim-batch'),
  lr: el<HTMLInputElement>('sim-lr'),
  seed: el<HTMLInputElement>('sim-seed'),
  model: el<HTMLSelectElement>('sim-model'),
  backend: el<HTMLSelectElement>('sim-backend'),
  engine: el<HTMLSelectElement>('sim-engine'),
  suite: el<HTMLSelectElement>('sim-suite'),
  dpOn: el<HTMLInputElement>('sim-dp-on'),
  dp: {
    clipNorm: el<HTMLInputElement>('sim-dp-clip'),
    noiseMultiplier: el<HTMLInputElement>('sim-dp-noise'),
    targetEpsilon: el<HTMLInputElement>('sim-target-epsilon'),
    delta: el<HTMLInputElement>('sim-delta'),
  } satisfies Record<keyof PrivacyOptions, HTMLInputElement>,
  run: el<HTMLButtonElement>('sim-run'),
  stop: el<HTMLButtonElement>('sim-stop'),
  status: el('sim-status'),
  progress: el<HTMLProgressElement>('sim-progress'),
  secureSection: el('sim-secagg-section'),
  results: el('sim-results'),
  meta: el('sim-meta'),
  privacyNote: el('sim-privacy-note'),
  metric: el<HTMLSelectElement>('sim-metric'),
  chartSummary: el('sim-chart-summary'),
  finalBody: el<HTMLTableElement>('sim-final').tBodies[0]!,
  baseline: el('sim-baseline'),
  roundsBody: el<HTMLTableElement>('sim-rounds-table').tBodies[0]!,
  json: el('sim-json'),
  recall: el<HTMLTableElement>('sim-recall'),
  downloadJson: el<HTMLButtonElement>('sim-download-json'),
  downloadCsv: el<HTMLButtonElement>('sim-download-csv'),
};

const plot = new ComparisonPlot(el('sim-chart'), el('sim-chart-canvas'));

// The service worker that keeps the app, the WASM binaries and the sample: the page then works offline.
void registerOfflineCache().then((s) => {
  const offline = el('offline');
  offline.dataset.state = s.state;
  setText(offline, s.message);
});
const cores = navigator.hardwareConcurrency;

// ---- the configuration list -----------------------------------------------------------------------------

let configs: ConfigSpec[] = [];

/** A label whose visible text is `text`, and whose accessible name also says which configuration. */
function label(forId: string, text: string, n: number): HTMLLabelElement {
  return h('label', { for: forId }, text, h('span', { class: 'visually-hidden' }, ` of configuration ${n}`));
}

function renderConfigs(focus?: { index: number; field: 'strategy' | 'remove' }): void {
  ui.configs.replaceChildren(
    ...configs.map((c, i) => {
      const n = i + 1;
      const strategy = h('select', { id: `cfg-${i}-strategy` });
      for (const name of STRATEGY_NAMES) {
        strategy.append(h('option', { value: name, selected: name === c.strategy }, STRATEGY_LABELS[name]));
      }
      strategy.addEventListener('change', () => {
        configs[i] = { ...configs[i]!, strategy: strategy.value as StrategyName };
      });
      const split = h(
        'select',
        { id: `cfg-${i}-split` },
        h(
          'option',
          { value: 'dirichlet', selected: c.partition.kind === 'dirichlet' },
          'Dirichlet (non-IID)',
        ),
        h('option', { value: 'iid', selected: c.partition.kind === 'iid' }, 'IID'),
      );
      const alpha = h('input', {
        id: `cfg-${i}-alpha`,
        type: 'number',
        min: String(BOUNDS.alpha.min),
        max: String(BOUNDS.alpha.max),
        step: 'any',
        value: c.partition.kind === 'dirichlet' ? String(c.partition.alpha) : '0.5',
        disabled: c.partition.kind === 'iid',
      });
      split.addEventListener('change', () => {
        alpha.disabled = split.value === 'iid';
      });
      const remove = h(
        'button',
        { type: 'button', disabled: configs.length === 1 },
        'Remove',
        h('span', { class: 'visually-hidden' }, ` configuration ${n}`),
      );
      remove.addEventListener('click', () => {
        readConfigs(false);
        configs.splice(i, 1);
        renderConfigs({ index: Math.min(i, configs.length - 1), field: 'remove' });
      });
      const li = h(
        'li',
        { 'data-index': String(i) },
        h(
          'span',
          { class: 'fields' },
          h('span', {}, label(strategy.id, 'Strategy', n), strategy),
          h('span', {}, label(split.id, 'Split', n), split),
          h('span', {}, label(alpha.id, 'α', n), alpha),
          remove,
        ),
      );
      if (focus?.index === i) {
        queueMicrotask(() => (focus.field === 'remove' && !remove.disabled ? remove : strategy).focus());
      }
      return li;
    }),
  );
  ui.addConfig.disabled = configs.length >= BOUNDS.configs.max;
}

/** The configurations as the form shows them; with `strict`, a bad α throws OptionError. */
function readConfigs(strict: boolean): ConfigSpec[] {
  const out: ConfigSpec[] = [];
  configs.forEach((c, i) => {
    const strategy = (document.getElementById(`cfg-${i}-strategy`) as HTMLSelectElement | null)?.value;
    const split = (document.getElementById(`cfg-${i}-split`) as HTMLSelectElement | null)?.value;
    const alphaText = (document.getElementById(`cfg-${i}-alpha`) as HTMLInputElement | null)?.value ?? '';
    const name = (strategy ?? c.strategy) as StrategyName;
    if (split === 'iid') {
      out.push({ strategy: name, partition: { kind: 'iid' } });
      return;
    }
    try {
      const alpha = checkAlpha(
        alphaText.trim() === '' ? Number.NaN : Number(alphaText),
        `configuration ${i + 1}`,
      );
      out.push({ strategy: name, partition: { kind: 'dirichlet', alpha } });
    } catch (e) {
      if (strict) throw e;
      out.push(c);
    }
  });
  configs = out;
  return out;
}

ui.addConfig.addEventListener('click', () => {
  readConfigs(false);
  const last = configs.at(-1) ?? { strategy: 'fedavg', partition: { kind: 'dirichlet', alpha: 0.5 } };
  configs.push({ strategy: last.strategy === 'fedavg' ? 'median' : 'fedavg', partition: last.partition });
  renderConfigs({ index: configs.length - 1, field: 'strategy' });
});

// ---- the form ------------------------------------------------------------------------------------------

function fillForm(o: SimOptions): void {
  ui.clients.value = String(o.clients);
  ui.rounds.value = String(o.rounds);
  ui.trainRows.value = String(o.maxTrainRows);
  ui.testRows.value = String(o.maxTestRows);
  ui.epochs.value = String(o.localEpochs);
  ui.batch.value = String(o.batchSize);
  ui.lr.value = String(o.learningRate);
  ui.seed.value = String(o.seed);
  ui.model.value = o.model;
  ui.backend.value = o.backend;
  ui.engine.value = o.engine;
  ui.suite.value = o.suite;
  ui.dpOn.checked = o.privacy !== null;
  if (o.privacy) ui.dpOn.closest('details')!.open = true;
  ui.dp.clipNorm.value = String(o.privacy?.clipNorm ?? 1);
  ui.dp.noiseMultiplier.value =
    o.privacy?.noiseMultiplier === undefined ? '' : String(o.privacy.noiseMultiplier);
  ui.dp.targetEpsilon.value = o.privacy?.targetEpsilon === undefined ? '' : String(o.privacy.targetEpsilon);
  ui.dp.delta.value = String(o.privacy?.delta ?? DEFAULT_DELTA);
  configs = [...o.configs];
  renderConfigs();
  showWorkers();
}

function showWorkers(): void {
  const n = Number(ui.clients.value);
  const p = Number.isInteger(n) && n > 0 ? poolSize(n, cores) : poolSize(1, cores);
  ui.workers.textContent =
    `This browser reports ${cores ?? 'an unknown number of'} logical cores: up to ${p} clients train at ` +
    'once, each in its own worker; more clients take turns.';
}
ui.clients.addEventListener('input', showWorkers);

/** The form's settings, or the list of what is wrong with them. */
function readForm(
  base: SimOptions,
): { options: SimOptions } | { errors: { message: string; field: HTMLElement }[] } {
  const errors: { message: string; field: HTMLElement }[] = [];
  const o: SimOptions = { ...base };
  /** f's value, or undefined (and the message in `errors`, against `field`) when the field is wrong. */
  const take = <T>(field: HTMLElement, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof OptionError)) throw e;
      errors.push({ message: e.message, field });
      return undefined;
    }
  };
  o.clients = take(ui.clients, () => checkInteger('clients', ui.clients.value)) ?? o.clients;
  o.rounds = take(ui.rounds, () => checkInteger('rounds', ui.rounds.value)) ?? o.rounds;
  o.maxTrainRows =
    take(ui.trainRows, () => checkInteger('maxTrainRows', ui.trainRows.value)) ?? o.maxTrainRows;
  o.maxTestRows = take(ui.testRows, () => checkInteger('maxTestRows', ui.testRows.value)) ?? o.maxTestRows;
  o.localEpochs = take(ui.epochs, () => checkInteger('localEpochs', ui.epochs.value)) ?? o.localEpochs;
  o.batchSize = take(ui.batch, () => checkInteger('batchSize', ui.batch.value)) ?? o.batchSize;
  o.learningRate = take(ui.lr, () => checkLearningRate(ui.lr.value)) ?? o.learningRate;
  o.seed = take(ui.seed, () => checkInteger('seed', ui.seed.value)) ?? o.seed;
  o.configs = take(ui.configs, () => readConfigs(true)) ?? o.configs;
  o.model = ui.model.value as ModelSize;
  o.backend = ui.backend.value as SimBackend;
  o.engine = isEngineChoice(ui.engine.value) ? ui.engine.value : 'auto';
  o.suite = ui.suite.value as SimOptions['suite'];
  o.privacy = null;
  if (ui.dpOn.checked) {
    const privacy: PrivacyOptions = {};
    for (const key of Object.keys(ui.dp) as (keyof PrivacyOptions)[]) {
      const field = ui.dp[key];
      if (field.value.trim() === '') continue;
      const v = take(field, () => checkPrivacyNumber(key, field.value));
      if (v !== undefined) privacy[key] = v;
    }
    for (const message of privacyProblems(privacy, o.configs)) errors.push({ message, field: ui.dpOn });
    o.privacy = privacy;
  }
  for (const message of secureAggregationProblems(o)) errors.push({ message, field: ui.configs });
  return errors.length ? { errors } : { options: o };
}

function showErrors(errors: { message: string; field?: HTMLElement }[]): void {
  const fields = [ui.clients, ui.rounds, ui.trainRows, ui.testRows, ui.epochs, ui.batch, ui.lr, ui.seed];
  for (const f of [...fields, ui.dpOn, ...Object.values(ui.dp)]) {
    f.removeAttribute('aria-invalid');
  }
  if (errors.length === 0) {
    ui.errors.hidden = true;
    ui.errors.replaceChildren();
    return;
  }
  ui.errors.hidden = false;
  ui.errors.replaceChildren(
    h('p', {}, 'Please correct these settings:'),
    h('ul', {}, ...errors.map((e) => h('li', {}, e.message))),
  );
  for (const e of errors) e.field?.setAttribute('aria-invalid', 'true');
  const first = errors.find((e) => e.field)?.field;
  if (first && first !== ui.configs) {
    // A field among "More settings" is shown before it takes the focus.
    const details = first.closest('details');
    if (details) details.open = true;
    first.focus();
  }
}

// ---- results -------------------------------------------------------------------------------------------

function blankResult(o: SimOptions, state: SimResult['state']): SimResult {
  return {
    state,
    error: null,
    clients: o.clients,
    rounds: o.rounds,
    workers: poolSize(o.clients, cores),
    backend: null,
    threads: null,
    engine: null,
    engineDevice: null,
    engineFallback: null,
    suite: o.suite,
    channel: 'pq-handshake+round-envelope over MessagePorts',
    model: { size: o.model, params: null },
    rows: null,
    classes: [],
    majorityBaseline: null,
    configs: o.configs.map(emptyConfig),
    privacy: o.privacy
      ? { delta: o.privacy.delta ?? DEFAULT_DELTA, noise: o.secureAggregation ? 'distributed' : 'server' }
      : null,
    verifiedUpdates: 0,
    refusals: {},
    wallSeconds: 0,
  };
}

const { options: startOptions, errors: queryErrors } = optionsFromQuery(new URLSearchParams(location.search));
let result: SimResult = blankResult(startOptions, 'idle');
let running = false;

window.__pqfedSimulate = {
  get result() {
    return result;
  },
  get running() {
    return running;
  },
};

function td(text: string): HTMLTableCellElement {
  return h('td', {}, text);
}

function renderResults(): void {
  ui.results.dataset.state = result.state;
  const metric = ui.metric.value as ChartMetric;
  plot.update(comparisonChart(result, metric));
  el('sim-chart').dataset.configRounds = result.configs.map((c) => c.rounds.length).join(',');
  ui.chartSummary.textContent = chartSummary(result);
  const b = result.majorityBaseline;
  ui.baseline.textContent = b
    ? `Majority-class baseline (always "${b.class}"): accuracy ${fmt(b.accuracy)}, macro-F1 ${fmt(b.macroF1)}.`
    : 'Majority-class baseline: –';
  ui.finalBody.replaceChildren(
    ...finalRows(result).map((r) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, r.label),
        td(r.rounds),
        td(r.accuracy),
        td(r.macroF1),
        td(r.epsilon),
        td(r.mosMAE),
        td(r.verified),
        td(r.refused),
        td(r.seconds),
      ),
    ),
  );
  ui.roundsBody.replaceChildren(
    ...result.configs.flatMap((c) =>
      c.rounds.map((r) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, c.label),
          td(String(r.round)),
          td(`${r.participants} of ${r.selected}`),
          td(fmt(r.accuracy)),
          td(fmt(r.macroF1)),
          td(fmtEpsilon(r.epsilon)),
          td(fmt(r.mosMAE)),
          td(r.refused.length ? r.refused.map((x) => `${x.client}: ${x.reason}`).join(', ') : 'none'),
          td(r.seconds.toFixed(1)),
        ),
      ),
    ),
  );
  const recall = recallTable(result);
  ui.recall.tHead!.rows[0]!.replaceChildren(
    h('th', { scope: 'col' }, 'Class'),
    ...recall.configs.map((c) => h('th', { scope: 'col' }, c)),
  );
  ui.recall.tBodies[0]!.replaceChildren(
    ...recall.rows.map((row) =>
      h('tr', {}, h('th', { scope: 'row' }, row.className), ...row.recall.map((x) => td(x))),
    ),
  );
  const finished = result.state === 'done' || result.state === 'stopped' || result.state === 'error';
  const hasRounds = result.configs.some((c) => c.rounds.length > 0);
  ui.downloadJson.disabled = !(finished && hasRounds);
  ui.downloadCsv.disabled = !(finished && hasRounds);
  const meta: string[] = [];
  if (result.rows) meta.push(`${result.rows.train} training rows, ${result.rows.test} held-out rows`);
  if (result.model.params)
    meta.push(`${result.model.size} model, ${result.model.params.toLocaleString('en')} weights`);
  if (result.backend) {
    const threads = result.threads ? ` (${plural(result.threads, 'thread')} each)` : '';
    meta.push(`${plural(result.workers, 'training worker')} on ${result.backend}${threads}`);
  }
  if (result.engine && result.engineDevice) {
    const label = ENGINE_LABEL[result.engine as EngineChoice] ?? result.engine;
    const why = result.engineFallback ? ` (the fused engine could not run: ${result.engineFallback})` : '';
    meta.push(`training engine × device: ${label} × ${result.engineDevice}${why}`);
  }
  meta.push(`key exchange ${result.suite}`);
  meta.push(`${result.verifiedUpdates} updates verified, refused: ${formatRefusals(result.refusals)}`);
  for (const c of result.configs) if (c.budgetStop) meta.push(`${c.label} stopped early: ${c.budgetStop}`);
  ui.meta.textContent = `${meta.join('; ')}.`;
  ui.privacyNote.textContent = privacyNote(result);
  ui.privacyNote.hidden = result.privacy === null || result.state === 'idle';
  ui.json.textContent = resultJson(result);
}

ui.metric.addEventListener('change', renderResults);

const fileStem = () => `pqfed-simulate-${new Date().toISOString().replace(/[:.]/g, '-')}`;
ui.downloadJson.addEventListener('click', () =>
  saveFile(`${fileStem()}.json`, new Blob([resultJson(result)], { type: 'application/json' })),
);
ui.downloadCsv.addEventListener('click', () =>
  saveFile(`${fileStem()}.csv`, new Blob([roundsCsv(result)], { type: 'text/csv' })),
);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function setStatus(text: string, state: 'idle' | 'busy' | 'done' | 'error' = 'busy'): void {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

// ---- workers -------------------------------------------------------------------------------------------

interface WorkerHandle {
  api: Remote<FederationWorkerApi>;
  terminate(): void;
}

/** A worker died (an uncaught error, or it could not load): the run cannot go on. */
class WorkerCrash extends Error {
  override name = 'WorkerCrash';
}

function createWorker(): WorkerHandle {
  const worker = new Worker(new URL('../../../workers/federation.worker.ts', import.meta.url), {
    type: 'module',
    name: 'pqfed-federation',
  });
  // Without this, a crashed worker would leave the run waiting for its clients' frames forever.
  worker.addEventListener('error', (ev) => {
    abort?.abort(new WorkerCrash(`a worker failed: ${ev.message || 'it could not start'}`));
  });
  const api = wrap<FederationWorkerApi>(worker);
  return {
    api,
    terminate() {
      api[releaseProxy]();
      worker.terminate();
    },
  };
}

/** The data worker keeps the imported sample between runs. */
let dataWorker: { handle: WorkerHandle; backend: string; loaded: LoadReport | null } | null = null;
let pool: WorkerHandle[] = [];
/** What the pool's first worker reported for its backend. */
let poolBackend: BackendReport | null = null;
let serverIdentity: Identity | null = null;
let abort: AbortController | null = null;

function endPool(): void {
  for (const w of pool) w.terminate();
  pool = [];
  poolBackend = null;
}

async function dataFor(o: SimOptions): Promise<WorkerHandle> {
  if (dataWorker && dataWorker.backend !== o.backend) {
    dataWorker.handle.terminate();
    dataWorker = null;
  }
  if (!dataWorker) {
    const handle = createWorker();
    await handle.api.useBackend(o.backend);
    dataWorker = { handle, backend: o.backend, loaded: null };
  }
  const d = dataWorker;
  if (!d.loaded) {
    setStatus('Fetching and importing the embedded TON_IoT sample in a worker…');
    ui.progress.removeAttribute('value');
    d.loaded = await d.handle.api.loadSample(
      SAMPLE_URL,
      'toniot',
      proxy((p) => {
        if (p.totalBytes) ui.progress.value = Math.min(1, p.bytesRead / p.totalBytes);
        setStatus(`Importing the sample: ${p.rowsRead.toLocaleString('en')} rows read…`);
      }),
    );
  }
  return d.handle;
}

// ---- a run ---------------------------------------------------------------------------------------------

async function run(o: SimOptions): Promise<void> {
  running = true;
  abort = new AbortController();
  const signal = abort.signal;
  ui.run.disabled = true;
  ui.stop.disabled = false;
  result = blankResult(o, 'preparing');
  ui.secureSection.hidden = true;
  let seen: SecureRoundView | null = null;
  plot.clear();
  renderResults();
  history.replaceState(null, '', `${location.pathname}${queryFor({ ...o, autorun: false })}`);
  const t0 = performance.now();
  try {
    const data = await dataFor(o);
    if (signal.aborted) throw new StoppedError();
    setStatus(`Preparing the experiment: grouped split, preprocessor fitted on the training rows…`);
    ui.progress.value = 0;
    const prepared: PreparedSummary = await data.api.prepare({
      labels: 'fine',
      testFraction: 0.2,
      maxTrainRows: o.maxTrainRows,
      maxTestRows: o.maxTestRows,
      seed: o.seed,
      model: MODEL_SIZES[o.model],
    });
    result.rows = prepared.rows;
    result.classes = prepared.classes;
    result.majorityBaseline = prepared.majorityBaseline;
    result.model.params = prepared.modelSize;
    const slots = poolSize(o.clients, cores);
    if (pool.length !== slots || poolBackend?.name !== o.backend) {
      endPool();
      setStatus(`Starting ${slots} training worker${slots === 1 ? '' : 's'} (${o.backend})…`);
      pool = Array.from({ length: slots }, createWorker);
      const reports = await Promise.all(
        pool.map((w) => w.api.useBackend(o.backend, slots > 1 ? 1 : undefined)),
      );
      poolBackend = reports[0]!;
    }
    result.backend = poolBackend?.name ?? o.backend;
    result.threads = poolBackend?.threads ?? null;
    // Every worker checks the engine itself (its module compiles there); they share a browser, so the first
    // one's answer is every one's.
    const engines = await Promise.all(pool.map((w) => w.api.useEngine(o.engine)));
    const used = engines[0]!;
    result.engine = used.engine;
    result.engineDevice = used.device;
    result.engineFallback = used.fallback ?? null;
    serverIdentity ??= generateIdentity();
    result.state = 'running';
    renderResults();
    const experiment = {
      dataset: 'toniot',
      model: prepared.model as unknown as Record<string, unknown>,
      preprocessor: prepared.preprocessor as unknown as Record<string, unknown>,
      modelSize: prepared.modelSize,
    };
    for (let ci = 0; ci < o.configs.length; ci++) {
      const spec = o.configs[ci]!;
      const config = result.configs[ci]!;
      const position: RunPosition = {
        config: ci,
        configs: o.configs.length,
        label: configLabel(spec),
        rounds: o.rounds,
        clients: o.clients,
      };
      config.state = 'running';
      const started = performance.now();
      let round = 0;
      let answered = 0;
      try {
        const shards = await data.api.shards(o.clients, spec.partition, o.seed);
        config.shardRows = shards.map((s) => s.n);
        const env: FederationEnv = {
          identity: serverIdentity,
          suite: o.suite,
          experiment,
          initialWeights: prepared.initialWeights,
          evaluate: (w) => data.api.evaluate(w),
          slots,
          async connect(index, shard, serverFingerprint) {
            const { port1, port2 } = new MessageChannel();
            await pool[index % slots]!.api.startClient(index, transfer(port2, [port2]), {
              shard,
              serverFingerprint,
              name: `sim-${index + 1}`,
              minimumSuite: o.suite,
            });
            return new PortPeer(port1);
          },
        };
        await runConfiguration(
          env,
          {
            rounds: o.rounds,
            localEpochs: o.localEpochs,
            batchSize: o.batchSize,
            learningRate: o.learningRate,
            seed: o.seed,
            proxMu: 0.01,
            tamper: o.tamper ? { round: 2, client: Math.min(1, o.clients - 1) } : null,
            privacy: o.privacy ? privacySettings(o.privacy) : null,
            secure: o.secureAggregation ? IN_TAB_SECURE_DEFAULTS : null,
          },
          spec,
          shards,
          (e) => {
            if (e.kind === 'round-start') {
              round = e.round;
              answered = 0;
            }
            if (e.kind === 'update') answered++;
            if (e.kind === 'secure-view') {
              seen = e.view;
              secureView.update(seen, null);
              ui.secureSection.hidden = false;
            }
            if (e.kind === 'round-end' && seen && e.result.epsilon !== undefined) {
              secureView.update(seen, `ε = ${fmtEpsilon(e.result.epsilon)} after round ${e.result.round}`);
            }
            if (e.kind === 'budget-stop') {
              config.budgetStop = e.reason;
              renderResults();
            }
            if (e.kind === 'round-end') {
              addRound(result, config, e.result);
              config.seconds = (performance.now() - started) / 1000;
              renderResults();
            }
            ui.progress.value = fractionDone(position, round, answered);
            setStatus(describe(position, e));
          },
          signal,
        );
        config.state = 'done';
        const late = await pool[0]?.api.engineFallback();
        if (late && !result.engineFallback) {
          result.engine = 'tfjs';
          result.engineDevice = result.backend;
          result.engineFallback = late;
        }
      } catch (e) {
        if (e instanceof StoppedError || signal.aborted) {
          config.state = 'stopped';
          throw e;
        }
        // One configuration that cannot run (say, a Dirichlet split that leaves a client without rows)
        // does not cost the others.
        config.state = 'error';
        config.error = `${(e as Error).name}: ${(e as Error).message}`;
        setStatus(`Configuration ${ci + 1} (${config.label}) failed: ${(e as Error).message}`, 'error');
      } finally {
        config.seconds = (performance.now() - started) / 1000;
      }
    }
    result.state = 'done';
    result.wallSeconds = (performance.now() - t0) / 1000;
    ui.progress.value = 1;
    const failed = result.configs.filter((c) => c.state === 'error');
    setStatus(
      `Done: ${plural(o.configs.length, 'configuration')} × ${plural(o.rounds, 'round')} with ` +
        `${plural(o.clients, 'client')}, ${result.verifiedUpdates} updates verified, refused: ` +
        `${formatRefusals(result.refusals)}, in ${result.wallSeconds.toFixed(0)} s.` +
        (failed.length ? ` Failed: ${failed.map((c) => `${c.label} (${c.error})`).join('; ')}.` : ''),
      failed.length ? 'error' : 'done',
    );
  } catch (e) {
    result.wallSeconds = (performance.now() - t0) / 1000;
    const crash = signal.reason instanceof WorkerCrash ? signal.reason : null;
    if (!crash && (e instanceof StoppedError || signal.aborted)) {
      result.state = 'stopped';
      setStatus('Stopped. The figures so far are kept below.', 'idle');
    } else {
      const err = crash ?? (e as Error);
      result.state = 'error';
      result.error = `${err.name}: ${err.message}`;
      for (const c of result.configs) if (c.state === 'running' || c.state === 'stopped') c.state = 'error';
      setStatus(`The run failed: ${err.message}`, 'error');
      endPool();
      dataWorker?.handle.terminate();
      dataWorker = null;
    }
  } finally {
    for (const c of result.configs)
      if (c.state === 'pending') c.state = result.state === 'done' ? 'done' : 'stopped';
    running = false;
    abort = null;
    ui.run.disabled = false;
    ui.stop.disabled = true;
    renderResults();
  }
}

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (running) return;
  const read = readForm(startOptions);
  if ('errors' in read) return showErrors(read.errors);
  showErrors([]);
  void run(read.options);
});

ui.stop.addEventListener('click', () => {
  if (!abort) return;
  abort.abort();
  // Training in progress cannot be interrupted mid-step: end the client workers (a new run starts others).
  endPool();
  setStatus('Stopping…', 'idle');
  ui.run.focus();
});

// ---- start ---------------------------------------------------------------------------------------------

const secureView = mountSecureView(el('sim-secagg-view'));
fillForm(startOptions);
if (queryErrors.length) showErrors(queryErrors.map((message) => ({ message })));
renderResults();
if (startOptions.autorun && queryErrors.length === 0) ui.form.requestSubmit();
