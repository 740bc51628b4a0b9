// @ts-check
/**
 * A helper thread of the data-parallel fused engine (src/engine/threads.ts): its own instance of the engine
 * module (compiled by the parent and posted here), which computes the gradients of its part of each batch.
 * Plain JavaScript with no imports, so Node's worker_threads load it without a TypeScript loader and Vite
 * bundles it as a browser worker.
 *
 * Per step, through the SharedArrayBuffer the parent made (layout in threads.ts, `helperLayout`): the parent
 * writes the weights, this helper's rows, the row count and the batch's normalisers, then bumps `seq`; the
 * helper copies them into its instance, runs `partialGrads`, writes its gradients and its loss sums, and
 * stores `seq` into `done` (Atomics.notify wakes the parent). `stop` ends the loop.
 */

/** Int32 slots of a helper's control block (the same in threads.ts). */
const SEQ = 0;
const DONE = 1;
const ROWS = 2;
const USE_CW = 3;
const STOP = 4;
const FAILED = 5;

/**
 * @param {{ postMessage(m: unknown): void }} port
 * @param {any} msg
 */
async function start(port, msg) {
  const { module, dims, sab, layout } = msg;
  /** @type {any} */
  let x;
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: () => {
        throw new Error('fused engine helper: the module aborted');
      },
      now: () => performance.now(),
    },
  });
  x = instance.exports;
  const top = x.init(...dims);
  if (top < 0) throw new Error('fused engine helper: could not grow memory');
  const P = x.paramCount();
  if (P !== layout.params) throw new Error(`fused engine helper: ${P} parameters, expected ${layout.params}`);
  const mem = x.memory.buffer;
  const w = new Float32Array(mem, x.weightsPtr(), P);
  const g = new Float32Array(mem, x.gradsPtr(), P);
  const cw = new Float32Array(mem, x.classWeightsPtr(), layout.classes);
  const num = new Float32Array(mem, x.numericPtr(), layout.maxRows * layout.numeric);
  const cat = new Int32Array(mem, x.categoricalPtr(), layout.maxRows * layout.categorical);
  const y = new Int32Array(mem, x.labelPtr(), layout.maxRows);
  const t = new Float32Array(mem, x.mosTargetPtr(), layout.maxRows);
  const ctrl = new Int32Array(sab, layout.ctrl, 8);
  const norms = new Float32Array(sab, layout.norms, 2);
  const sums = new Float64Array(sab, layout.sums, 2);
  const sw = new Float32Array(sab, layout.weights, P);
  const scw = new Float32Array(sab, layout.classWeights, layout.classes);
  const sg = new Float32Array(sab, layout.grads, P);
  const snum = new Float32Array(sab, layout.rowsNumeric, layout.maxRows * layout.numeric);
  const scat = new Int32Array(sab, layout.rowsCategorical, layout.maxRows * layout.categorical);
  const sy = new Int32Array(sab, layout.rowsLabel, layout.maxRows);
  const st = new Float32Array(sab, layout.rowsMos, layout.maxRows);
  port.postMessage({ ready: true });
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, SEQ, seen);
    seen = Atomics.load(ctrl, SEQ);
    if (Atomics.load(ctrl, STOP)) break;
    try {
      const rows = ctrl[ROWS];
      const useCW = ctrl[USE_CW];
      w.set(sw);
      if (useCW) cw.set(scw);
      num.set(snum.subarray(0, rows * layout.numeric));
      cat.set(scat.subarray(0, rows * layout.categorical));
      y.set(sy.subarray(0, rows));
      t.set(st.subarray(0, rows));
      sums[0] = x.partialGrads(rows, useCW, norms[0], norms[1]);
      sums[1] = x.partialMse();
      sg.set(g);
    } catch {
      Atomics.store(ctrl, FAILED, 1);
    }
    Atomics.store(ctrl, DONE, seen);
    Atomics.notify(ctrl, DONE);
  }
}

/**
 * @param {{ postMessage(m: unknown): void }} port
 * @param {unknown} e
 */
function fail(port, e) {
  port.postMessage({ error: e instanceof Error ? e.message : String(e) });
}

if (typeof process !== 'undefined' && process.versions?.node) {
  // A computed specifier: bundlers leave it alone (the browser never takes this branch).
  const name = 'node:worker_threads';
  import(/* @vite-ignore */ name).then(({ parentPort }) => {
    parentPort.once('message', (/** @type {any} */ msg) =>
      start(parentPort, msg).catch((e) => fail(parentPort, e)),
    );
  });
} else {
  const port = /** @type {any} */ (globalThis);
  port.addEventListener(
    'message',
    (/** @type {MessageEvent} */ ev) => start(port, ev.data).catch((e) => fail(port, e)),
    { once: true },
  );
}
