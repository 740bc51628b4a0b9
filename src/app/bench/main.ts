/**
 * The benchmark view (`/bench`): trains the default model on every backend this browser has, each in a
 * fresh worker, times the cryptography, and shows a table and a chart. It needs no server and works offline
 * once visited (src/app/offline.ts). The result downloads as JSON; when the server that served the page
 * answers, it can be added to the shared table (`POST /api/benchmarks`, shown on the dashboard).
 *
 * URL parameters (tests, scripted runs): `steps`, `warmup`, `seconds`, `batch`, `rows`, `crypto-ms`,
 * `backends=wasm,cpu`, `crypto=0`, `run=1` (see options.ts). The page's state is in `body[data-bench-state]`
 * (idle, running, done, error) and the last result in `#bench-json`.
 */
import {
  type BackendResult,
  BENCH_CONFIG_IDS,
  BENCH_CONFIGS,
  type BenchConfigId,
  type BenchResult,
  type CryptoResult,
} from '../../core/benchmark-result.ts';
import { byId, h, saveFile, setText } from '../dashboard/dom.ts';
import { registerOfflineCache } from '../offline.ts';
import { BenchChart } from './chart.ts';
import { browserName, bytes, duration, notes, rate, summary } from './format.ts';
import { type BenchOptions, BOUNDS, DEFAULTS, optionsFromQuery, parseSetting } from './options.ts';
import { describeAdapter, runBenchmark } from './runner.ts';

const form = byId<HTMLFormElement>('bench-form');
const runButton = byId<HTMLButtonElement>('bench-run');
const stopButton = byId<HTMLButtonElement>('bench-stop');
const progress = byId<HTMLProgressElement>('bench-progress');
const stepText = byId('bench-step');
const status = byId('bench-status');
const downloadButton = byId<HTMLButtonElement>('bench-download');
const submitButton = byId<HTMLButtonElement>('bench-submit');
const submitStatus = byId('submit-status');
const chart = new BenchChart(byId('bench-chart'));

const FIELDS = {
  batchSize: byId<HTMLInputElement>('opt-batch'),
  warmup: byId<HTMLInputElement>('opt-warmup'),
  seconds: byId<HTMLInputElement>('opt-seconds'),
  steps: byId<HTMLInputElement>('opt-steps'),
} as const;
const cryptoBox = byId<HTMLInputElement>('opt-crypto');

let last: BenchResult | null = null;
let running: AbortController | null = null;
let serverAnswered = false;

function setState(state: 'idle' | 'running' | 'done' | 'error'): void {
  document.body.dataset.benchState = state;
}

// ---- settings ---------------------------------------------------------------------------------------------

const initial = optionsFromQuery(location.search);
const boxes = new Map<BenchConfigId, HTMLInputElement>();
for (const id of BENCH_CONFIG_IDS) {
  const box = h('input', { type: 'checkbox', id: `cfg-${id}`, name: 'config', value: id });
  box.checked = initial.configs.includes(id);
  boxes.set(id, box);
  byId('config-list').append(h('span', {}, box, h('label', { for: `cfg-${id}` }, BENCH_CONFIGS[id].label)));
}
cryptoBox.checked = initial.crypto;
for (const [key, input] of Object.entries(FIELDS) as [keyof typeof FIELDS, HTMLInputElement][]) {
  input.min = String(BOUNDS[key][0]);
  input.max = String(BOUNDS[key][1]);
  input.value = String(initial[key]);
}

function readOptions(): BenchOptions {
  const o: BenchOptions = { ...initial, configs: [], crypto: cryptoBox.checked, autorun: false };
  for (const key of Object.keys(FIELDS) as (keyof typeof FIELDS)[]) {
    o[key] = parseSetting(key, FIELDS[key].value) ?? DEFAULTS[key];
    FIELDS[key].value = String(o[key]);
  }
  o.configs = BENCH_CONFIG_IDS.filter((id) => boxes.get(id)!.checked);
  return o;
}

// ---- environment and offline availability -----------------------------------------------------------------

setText(byId('env-ua'), `${browserName(navigator.userAgent)} (${navigator.userAgent})`);
setText(byId('env-cores'), String(navigator.hardwareConcurrency || 'unknown'));
setText(
  byId('env-isolated'),
  globalThis.crossOriginIsolated
    ? 'yes (SharedArrayBuffer, so WASM threads, are allowed)'
    : 'no (WASM runs on one thread)',
);
void describeAdapter().then((a) => setText(byId('env-adapter'), a ?? 'none (no WebGPU in this browser)'));

const offline = byId('offline');
void registerOfflineCache().then((s) => {
  offline.dataset.state = s.state;
  setText(offline, s.message);
});

/** Whether the server that served this page answers (it may be gone: the page may come from the cache). */
async function probeServer(): Promise<boolean> {
  try {
    const r = await fetch('/api/benchmarks', { cache: 'no-store' });
    serverAnswered = r.ok;
  } catch {
    serverAnswered = false;
  }
  updateButtons();
  return serverAnswered;
}

function updateButtons(): void {
  const busy = running !== null;
  runButton.disabled = busy;
  stopButton.disabled = !busy;
  downloadButton.disabled = busy || !last;
  submitButton.disabled = busy || !last || !serverAnswered;
  if (last && !busy && !serverAnswered && submitStatus.dataset.state === 'idle') {
    setText(
      submitStatus,
      'No PQFed server answers (offline, or this page came from the cache): download the JSON.',
    );
  }
}

// ---- running -----------------------------------------------------------------------------------------------

async function run(): Promise<void> {
  if (running) return;
  const o = readOptions();
  if (o.configs.length === 0 && !o.crypto) {
    status.dataset.state = 'error';
    setText(status, 'Choose at least one configuration, or the cryptography.');
    byId(`cfg-${BENCH_CONFIG_IDS[0]}`).focus();
    return;
  }
  running = new AbortController();
  setState('running');
  status.dataset.state = 'running';
  submitStatus.dataset.state = 'idle';
  setText(submitStatus, '');
  updateButtons();
  progress.value = 0;
  let announced = '';
  // The table fills row by row: each configuration shows as soon as it is measured.
  const rows = startTable(o.configs);
  try {
    const outcome = await runBenchmark(
      o,
      (p) => {
        progress.value = p.fraction;
        progress.textContent = `${Math.round(p.fraction * 100)}%`;
        setText(stepText, p.detail);
        rows.measuring(p.index);
        // The live region hears each stage once, not every step.
        const line = `Measuring ${p.stage} (${p.index + 1} of ${p.stages})…`;
        if (line !== announced) {
          announced = line;
          setText(status, line);
        }
      },
      running.signal,
      (t, index) => rows.done(t, index),
    );
    last = outcome.result;
    progress.value = 1;
    setText(stepText, '');
    render(outcome.result, outcome.cryptoError);
    status.dataset.state = 'done';
    setText(status, `${outcome.stopped ? 'Stopped. ' : 'Done. '}${summary(outcome.result)}`);
    setState('done');
  } catch (e) {
    status.dataset.state = 'error';
    setText(status, `The benchmark failed: ${(e as Error).message}`);
    setState('error');
  } finally {
    running = null;
    updateButtons();
    void probeServer();
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});
stopButton.addEventListener('click', () => {
  running?.abort();
  setText(status, 'Stopping…');
});

// ---- showing the result ------------------------------------------------------------------------------------

function cell(text: string, numeric = false): HTMLTableCellElement {
  return h('td', numeric ? { class: 'num' } : {}, text);
}

/** A configuration's row of the table, once it has a result. */
function resultRow(t: BackendResult): HTMLTableRowElement {
  const label = h('th', { scope: 'row' }, BENCH_CONFIGS[t.id].label);
  const row =
    t.status === 'measured'
      ? h(
          'tr',
          {},
          label,
          cell(rate(t.samplesPerSec), true),
          cell(duration(t.timeToFirstStepMs), true),
          cell(bytes(t.peakTensorBytes), true),
          cell(duration(t.backendInitMs), true),
          cell(String(t.steps), true),
          cell(notes(t, navigator.hardwareConcurrency)),
        )
      : h('tr', {}, label, h('td', { colspan: 5 }, '–'), cell(notes(t)));
  row.dataset.status = t.status;
  row.dataset.config = t.id;
  return row;
}

/** A row still to come: `waiting`, or `measuring` while its worker runs. */
function pendingRow(id: BenchConfigId, state: 'waiting' | 'measuring'): HTMLTableRowElement {
  const row = h(
    'tr',
    {},
    h('th', { scope: 'row' }, BENCH_CONFIGS[id].label),
    h('td', { colspan: 6 }, state === 'measuring' ? 'measuring now…' : 'waiting for its turn'),
  );
  row.dataset.status = state;
  row.dataset.config = id;
  return row;
}

/** The training table during a run: every chosen configuration waiting, then filled in as results come. */
function startTable(configs: readonly BenchConfigId[]) {
  const body = byId('bench-rows');
  const rows = configs.map((id) => pendingRow(id, 'waiting'));
  body.replaceChildren(...rows);
  return {
    measuring(index: number) {
      const row = rows[index];
      const id = configs[index];
      if (!row || id === undefined || row.dataset.status !== 'waiting') return;
      rows[index] = pendingRow(id, 'measuring');
      row.replaceWith(rows[index]!);
    },
    done(t: BackendResult, index: number) {
      const row = rows[index];
      if (!row) return;
      rows[index] = resultRow(t);
      row.replaceWith(rows[index]!);
    },
  };
}

function render(r: BenchResult, cryptoError: string | null): void {
  setText(byId('bench-summary'), summary(r));
  byId('bench-rows').replaceChildren(...r.training.map(resultRow));
  if (r.training.length === 0)
    byId('bench-rows').replaceChildren(h('tr', {}, h('td', { colspan: 7 }, 'No configuration was chosen.')));
  renderCrypto(r.crypto, cryptoError);
  const measured = r.training.some((t) => t.status === 'measured');
  byId('bench-figure').hidden = !measured;
  chart.show(measured ? r : null);
  setText(byId('bench-json'), JSON.stringify(r, null, 2));
}

function renderCrypto(c: CryptoResult | null, error: string | null): void {
  const body = byId('crypto-rows');
  if (!c) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 3 }, error ? `failed: ${error}` : 'Not measured.')));
    return;
  }
  const ops: [string, number][] = [
    ['ML-KEM-768 encapsulate', c.mlkem768EncapsulatePerSec],
    ['X-Wing encapsulate (ML-KEM-768 + X25519)', c.xwingEncapsulatePerSec],
    ['ML-DSA-65 sign', c.mldsa65SignPerSec],
    ['ML-DSA-65 verify', c.mldsa65VerifyPerSec],
  ];
  body.replaceChildren(
    ...ops.map(([name, perSec]) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, name),
        cell(`${rate(perSec)} /s`, true),
        cell(duration(1000 / perSec), true),
      ),
    ),
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        `AES-256-GCM, 1 MiB messages (${c.aesImplementation === 'webcrypto' ? 'WebCrypto' : 'JavaScript'})`,
      ),
      cell(`${rate(c.aes256GcmMBPerSec)} MB/s`, true),
      cell(duration(1.048576e3 / c.aes256GcmMBPerSec), true),
    ),
  );
}

// ---- export and sharing ------------------------------------------------------------------------------------

downloadButton.addEventListener('click', () => {
  if (!last) return;
  saveFile(
    `pqfed-bench-${last.createdAt.replace(/[:.]/g, '-')}.json`,
    new Blob([`${JSON.stringify(last, null, 2)}\n`], { type: 'application/json' }),
  );
});

submitButton.addEventListener('click', async () => {
  if (!last) return;
  submitButton.disabled = true;
  submitStatus.dataset.state = 'sending';
  setText(submitStatus, 'Sending…');
  try {
    const r = await fetch('/api/benchmarks', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(last),
    });
    const body = (await r.json().catch(() => ({}))) as { error?: string; total?: number };
    if (r.ok) {
      submitStatus.dataset.state = 'sent';
      setText(
        submitStatus,
        `Added: the shared table now holds ${body.total ?? 'your'} result${body.total === 1 ? '' : 's'}.`,
      );
    } else {
      submitStatus.dataset.state = 'error';
      setText(submitStatus, `Not added (${r.status}): ${body.error ?? r.statusText}`);
      submitButton.disabled = false;
    }
  } catch {
    submitStatus.dataset.state = 'error';
    setText(submitStatus, 'Not added: no PQFed server answers. Download the JSON instead.');
    serverAnswered = false;
    updateButtons();
  }
});

setState('idle');
void probeServer();
if (initial.autorun) void run();
