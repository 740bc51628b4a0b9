// The fused PQFed training engine (AssemblyScript → WebAssembly with SIMD). See docs/fused-engine.md.
//
// One linear memory holds everything: weights, gradients, Adam moments, the FedProx/FedDyn vectors, the
// class weights, one batch of inputs and every activation the backward pass needs, sized for `maxBatch`
// rows by `init`. The host (src/engine/wasm-engine.ts) writes inputs into the views it gets from the
// pointer getters and calls `step`: forward, loss, hand-derived backward and Adam in one call, no
// allocation. Parameters sit in paramSpecs' order (src/model/model.ts), so the weights are the wire vector.
//
// Every pointer is a byte address; every "stride" argument counts floats.

// ---- configuration ------------------------------------------------------------------------------------
let Ln: i32 = 0; // numeric tokens
let Lc: i32 = 0; // categorical tokens
let L: i32 = 0; // tokens
let V: i32 = 0; // shared vocabulary
let D: i32 = 0; // dModel
let H: i32 = 0; // heads
let DH: i32 = 0; // head width
let F: i32 = 0; // feed-forward width
let K: i32 = 0; // classes
let C: i32 = 0; // conv layers
let MAXB: i32 = 0;
let P: i32 = 0; // parameter count
let mosWeight: f32 = 0;

// ---- parameter offsets (bytes from the start of the weight vector) ---------------------------------------
let oNumS: usize = 0;
let oNumB: usize = 0;
let oEmb: usize = 0;
let oPos: usize = 0;
let oConv: usize = 0; // layer i: w at oConv + i·convStride, b right after w
let convStride: usize = 0;
let oLn1g: usize = 0;
let oLn1b: usize = 0;
let oQkvW: usize = 0;
let oQkvB: usize = 0;
let oOutW: usize = 0;
let oOutB: usize = 0;
let oLn2g: usize = 0;
let oLn2b: usize = 0;
let oFf1W: usize = 0;
let oFf1B: usize = 0;
let oFf2W: usize = 0;
let oFf2B: usize = 0;
let oLnfg: usize = 0;
let oLnfb: usize = 0;
let oClsW: usize = 0;
let oClsB: usize = 0;
let oMosW: usize = 0;
let oMosB: usize = 0;

// ---- buffers ------------------------------------------------------------------------------------------
let pW: usize = 0; // weights [P]
let pG: usize = 0; // gradients [P]
let pM: usize = 0; // Adam first moment [P]
let pVv: usize = 0; // Adam second moment [P]
let pGlob: usize = 0; // FedProx global weights [P]
let pLin: usize = 0; // FedDyn linear term [P]
let pCW: usize = 0; // class weights [K]
let pXNum: usize = 0; // [B, Ln] f32
let pXCat: usize = 0; // [B, Lc] i32
let pY: usize = 0; // [B] i32
let pT: usize = 0; // [B] f32 MOS targets
let pHs: usize = 0; // residual stream before conv layer i (i = 0..C): (C+1) × [N, D]
let pCols: usize = 0; // im2col of conv layer i: C × [N, 3D]
let pR: usize = 0; // relu output of conv layer i: C × [N, D]
let pXhat1: usize = 0; // [N, D]
let pRstd1: usize = 0; // [N]
let pA1: usize = 0; // LN1 output [N, D]
let pQkv: usize = 0; // [N, 3D]
let pAtt: usize = 0; // softmax probabilities [B, H, L, L]
let pCtx: usize = 0; // [N, D]
let pH2: usize = 0; // after attention [N, D]
let pXhat2: usize = 0;
let pRstd2: usize = 0;
let pA2: usize = 0;
let pF1: usize = 0; // [N, F] after relu
let pH3: usize = 0; // after feed-forward [N, D]
let pPool: usize = 0; // [B, D]
let pXhatF: usize = 0; // [B, D]
let pRstdF: usize = 0; // [B]
let pZ: usize = 0; // [B, D]
let pLogits: usize = 0; // [B, K]
let pMos: usize = 0; // [B] predicted MOS
let pSig: usize = 0; // [B] sigmoid
let pDLog: usize = 0; // [B, K]
let pDU: usize = 0; // [B]
let pDZ: usize = 0; // [B, D]
let pDPool: usize = 0; // [B, D]
let pDH: usize = 0; // gradient of the residual stream [N, D]
let pDA: usize = 0; // [N, D]
let pDBig: usize = 0; // [N, 3D]: d(qkv), then d(cols)
let pDF1: usize = 0; // [N, F]
let pDCtx: usize = 0; // [N, D]
let pWT: usize = 0; // a transposed weight matrix
let pKT: usize = 0; // [DH, L]
let pDP: usize = 0; // [L, L]
let pLayerScratch: usize = 0; // [max(D, F, 3D)]

// The rows of the current chunk in the batch-sized buffers (inputs, logits, MOS, their gradients): the
// forward and backward passes run per chunk of at most CHUNK rows, so activations stay small and cached.
const CHUNK: i32 = 32;
let CB: i32 = 0; // activation buffers hold min(maxBatch, CHUNK) rows
let cXNum: usize = 0;
let cXCat: usize = 0;
let cY: usize = 0;
let cT: usize = 0;
let cLogits: usize = 0;
let cMos: usize = 0;
let cSig: usize = 0;
let cDLog: usize = 0;
let cDU: usize = 0;

function setChunk(b0: i32): void {
  cXNum = pXNum + ((<usize>(b0 * Ln)) << 2);
  cXCat = pXCat + ((<usize>(b0 * Lc)) << 2);
  cY = pY + ((<usize>b0) << 2);
  cT = pT + ((<usize>b0) << 2);
  cLogits = pLogits + ((<usize>(b0 * K)) << 2);
  cMos = pMos + ((<usize>b0) << 2);
  cSig = pSig + ((<usize>b0) << 2);
  cDLog = pDLog + ((<usize>(b0 * K)) << 2);
  cDU = pDU + ((<usize>b0) << 2);
}

let acc1: f32 = 0.9; // β1^t (tfjs keeps it as a float32 variable)
let acc2: f32 = 0.999;
let lastLoss: f64 = 0;
let lastCls: f64 = 0;
let lastMse: f64 = 0;

let top: usize = 0;

// ---- optional profile: time per section, through the host's clock (off unless setProfile(1)) ----------
@external("env", "now")
declare function now(): f64;
let profiling: bool = false;
let tLast: f64 = 0;
const tbuf = memory.data(8 * 32);
let gemmTime: f64 = 0;
let gemmLast: f64 = 0;

export function setProfile(on: i32): void {
  profiling = on != 0;
  memory.fill(tbuf, 0, 8 * 32);
  gemmTime = 0;
  gemmLast = 0;
  tLast = on ? now() : 0;
}
/** Milliseconds spent in section `i` since setProfile(1); i = 31: inside gemm. */
export function profileTime(i: i32): f64 {
  return i == 31 ? gemmTime : load<f64>(tbuf + ((<usize>i) << 3));
}
@inline
function mark(i: i32): void {
  if (profiling) {
    const t = now();
    const p = tbuf + ((<usize>i) << 3);
    store<f64>(p, load<f64>(p) + t - tLast);
    tLast = t;
    const q = tbuf + ((<usize>(i + 15)) << 3);
    store<f64>(q, load<f64>(q) + gemmTime - gemmLast);
    gemmLast = gemmTime;
  }
}

function alloc(floats: i32): usize {
  const p = top;
  top = (top + ((<usize>floats) << 2) + 63) & ~(<usize>63);
  return p;
}

/** Lays out memory for a model config and batches of up to `maxBatch` rows. Returns the bytes in use. */
export function init(
  numNumeric: i32,
  numCat: i32,
  vocab: i32,
  dModel: i32,
  heads: i32,
  ffDim: i32,
  numClasses: i32,
  convLayers: i32,
  maxBatch: i32,
  mosW: f32,
): f64 {
  Ln = numNumeric;
  Lc = numCat;
  L = Ln + Lc;
  V = vocab;
  D = dModel;
  H = heads;
  DH = D / H;
  F = ffDim;
  K = numClasses;
  C = convLayers;
  MAXB = maxBatch;
  mosWeight = mosW;
  // parameter offsets, paramSpecs order
  let o: usize = 0;
  oNumS = o;
  o += (<usize>(Ln * D)) << 2;
  oNumB = o;
  o += (<usize>(Ln * D)) << 2;
  oEmb = o;
  o += (<usize>(V * D)) << 2;
  oPos = o;
  o += (<usize>(Lc * D)) << 2;
  oConv = o;
  convStride = (<usize>(3 * D * D + D)) << 2;
  o += <usize>C * convStride;
  oLn1g = o;
  o += (<usize>D) << 2;
  oLn1b = o;
  o += (<usize>D) << 2;
  oQkvW = o;
  o += (<usize>(3 * D * D)) << 2;
  oQkvB = o;
  o += (<usize>(3 * D)) << 2;
  oOutW = o;
  o += (<usize>(D * D)) << 2;
  oOutB = o;
  o += (<usize>D) << 2;
  oLn2g = o;
  o += (<usize>D) << 2;
  oLn2b = o;
  o += (<usize>D) << 2;
  oFf1W = o;
  o += (<usize>(D * F)) << 2;
  oFf1B = o;
  o += (<usize>F) << 2;
  oFf2W = o;
  o += (<usize>(F * D)) << 2;
  oFf2B = o;
  o += (<usize>D) << 2;
  oLnfg = o;
  o += (<usize>D) << 2;
  oLnfb = o;
  o += (<usize>D) << 2;
  oClsW = o;
  o += (<usize>(D * K)) << 2;
  oClsB = o;
  o += (<usize>K) << 2;
  oMosW = o;
  o += (<usize>D) << 2;
  oMosB = o;
  o += 4;
  P = <i32>(o >> 2);

  top = (__heap_base + 63) & ~(<usize>63);
  CB = MAXB < CHUNK ? MAXB : CHUNK;
  const N = CB * L;
  pW = alloc(P);
  pG = alloc(P);
  pM = alloc(P);
  pVv = alloc(P);
  pGlob = alloc(P);
  pLin = alloc(P);
  pCW = alloc(K);
  pXNum = alloc(MAXB * Ln);
  pXCat = alloc(MAXB * Lc);
  pY = alloc(MAXB);
  pT = alloc(MAXB);
  pHs = alloc((C + 1) * N * D);
  pCols = alloc(C * N * 3 * D);
  pR = alloc(C * N * D);
  pXhat1 = alloc(N * D);
  pRstd1 = alloc(N);
  pA1 = alloc(N * D);
  pQkv = alloc(N * 3 * D);
  pAtt = alloc(CB * H * L * L);
  pCtx = alloc(N * D);
  pH2 = alloc(N * D);
  pXhat2 = alloc(N * D);
  pRstd2 = alloc(N);
  pA2 = alloc(N * D);
  pF1 = alloc(N * F);
  pH3 = alloc(N * D);
  pPool = alloc(CB * D);
  pXhatF = alloc(CB * D);
  pRstdF = alloc(CB);
  pZ = alloc(CB * D);
  pLogits = alloc(MAXB * K);
  pMos = alloc(MAXB);
  pSig = alloc(MAXB);
  pDLog = alloc(MAXB * K);
  pDU = alloc(MAXB);
  pDZ = alloc(CB * D);
  pDPool = alloc(CB * D);
  pDH = alloc(N * D);
  pDA = alloc(N * D);
  pDBig = alloc(N * 3 * D);
  pDF1 = alloc(N * F);
  pDCtx = alloc(N * D);
  let wt = 3 * D * D;
  if (F * D > wt) wt = F * D;
  pWT = alloc(wt);
  pKT = alloc(DH * L);
  pDP = alloc(L * L);
  let ls = 3 * D;
  if (F > ls) ls = F;
  pLayerScratch = alloc(ls);
  const pages = <i32>((top + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have) {
    if (memory.grow(pages - have) < 0) return -1;
  }
  memory.fill(pW, 0, top - pW);
  resetAdam(0.9, 0.999);
  return <f64>top;
}

// ---- pointers for the host ----------------------------------------------------------------------------
export function paramCount(): i32 {
  return P;
}
export function weightsPtr(): usize {
  return pW;
}
export function gradsPtr(): usize {
  return pG;
}
export function adamMPtr(): usize {
  return pM;
}
export function adamVPtr(): usize {
  return pVv;
}
export function globalPtr(): usize {
  return pGlob;
}
export function linearPtr(): usize {
  return pLin;
}
export function classWeightsPtr(): usize {
  return pCW;
}
export function numericPtr(): usize {
  return pXNum;
}
export function categoricalPtr(): usize {
  return pXCat;
}
export function labelPtr(): usize {
  return pY;
}
export function mosTargetPtr(): usize {
  return pT;
}
export function logitsPtr(): usize {
  return pLogits;
}
export function mosPtr(): usize {
  return pMos;
}
export function lastClassLoss(): f64 {
  return lastCls;
}
export function lastMosLoss(): f64 {
  return lastMse;
}

export function resetAdam(beta1: f32, beta2: f32): void {
  memory.fill(pM, 0, (<usize>P) << 2);
  memory.fill(pVv, 0, (<usize>P) << 2);
  acc1 = beta1;
  acc2 = beta2;
}

// ---- kernels ------------------------------------------------------------------------------------------

/**
 * C[M, N] = (C if acc) + A[M, K] · B[K, N] (+ bias[N]) (then ReLU). A's element (i, k) is at
 * a + 4·(i·ars + k·acs), so a transposed A is (ars = 1, acs = its row length). B and C are row-major with
 * row strides ldb, ldc. bias = 0: none. 4×8 register tiles.
 */
function gemm(
  a: usize,
  ars: i32,
  acs: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  M: i32,
  Kd: i32,
  N: i32,
  acc: bool,
  bias: usize = 0,
  relu: bool = false,
): void {
  if (profiling) {
    const t = now();
    gemmK(a, ars, acs, b, ldb, c, ldc, M, Kd, N, acc, bias, relu);
    gemmTime += now() - t;
  } else gemmK(a, ars, acs, b, ldb, c, ldc, M, Kd, N, acc, bias, relu);
}

/** The epilogue of a 4-wide tile: previous C, bias, ReLU. */
@inline
function fin(s: v128, c: usize, acc: bool, bias: usize, o: usize, relu: bool): v128 {
  if (acc) s = f32x4.add(s, v128.load(c));
  if (bias) s = f32x4.add(s, v128.load(bias + o));
  if (relu) s = f32x4.max(s, f32x4.splat(0));
  return s;
}

@inline
function fin1(s: f32, c: usize, acc: bool, bias: usize, o: usize, relu: bool): f32 {
  if (acc) s += load<f32>(c);
  if (bias) s += load<f32>(bias + o);
  if (relu && !(s > 0)) s = 0;
  return s;
}

function gemmK(
  a: usize,
  ars: i32,
  acs: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  M: i32,
  Kd: i32,
  N: i32,
  acc: bool,
  bias: usize,
  relu: bool,
): void {
  const ar = (<usize>ars) << 2;
  const ac = (<usize>acs) << 2;
  const bs = (<usize>ldb) << 2;
  const cs = (<usize>ldc) << 2;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = a + <usize>i * ar;
    const a1 = a0 + ar;
    const a2 = a1 + ar;
    const a3 = a2 + ar;
    const c0 = c + <usize>i * cs;
    const c1 = c0 + cs;
    const c2 = c1 + cs;
    const c3 = c2 + cs;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      let s00 = f32x4.splat(0);
      let s01 = f32x4.splat(0);
      let s10 = f32x4.splat(0);
      let s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0);
      let s21 = f32x4.splat(0);
      let s30 = f32x4.splat(0);
      let s31 = f32x4.splat(0);
      let pa0 = a0;
      let pa1 = a1;
      let pa2 = a2;
      let pa3 = a3;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let x = v128.load32_splat(pa0);
        s00 = f32x4.add(s00, f32x4.mul(x, b0));
        s01 = f32x4.add(s01, f32x4.mul(x, b1));
        x = v128.load32_splat(pa1);
        s10 = f32x4.add(s10, f32x4.mul(x, b0));
        s11 = f32x4.add(s11, f32x4.mul(x, b1));
        x = v128.load32_splat(pa2);
        s20 = f32x4.add(s20, f32x4.mul(x, b0));
        s21 = f32x4.add(s21, f32x4.mul(x, b1));
        x = v128.load32_splat(pa3);
        s30 = f32x4.add(s30, f32x4.mul(x, b0));
        s31 = f32x4.add(s31, f32x4.mul(x, b1));
        pa0 += ac;
        pa1 += ac;
        pa2 += ac;
        pa3 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      v128.store(c0 + o, fin(s00, c0 + o, acc, bias, o, relu));
      v128.store(c0 + o + 16, fin(s01, c0 + o + 16, acc, bias, o + 16, relu));
      v128.store(c1 + o, fin(s10, c1 + o, acc, bias, o, relu));
      v128.store(c1 + o + 16, fin(s11, c1 + o + 16, acc, bias, o + 16, relu));
      v128.store(c2 + o, fin(s20, c2 + o, acc, bias, o, relu));
      v128.store(c2 + o + 16, fin(s21, c2 + o + 16, acc, bias, o + 16, relu));
      v128.store(c3 + o, fin(s30, c3 + o, acc, bias, o, relu));
      v128.store(c3 + o + 16, fin(s31, c3 + o + 16, acc, bias, o + 16, relu));
    }
    for (; j + 4 <= N; j += 4) {
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0);
      let s3 = f32x4.splat(0);
      let pa0 = a0;
      let pa1 = a1;
      let pa2 = a2;
      let pa3 = a3;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        const b0 = v128.load(pb);
        s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(pa0), b0));
        s1 = f32x4.add(s1, f32x4.mul(v128.load32_splat(pa1), b0));
        s2 = f32x4.add(s2, f32x4.mul(v128.load32_splat(pa2), b0));
        s3 = f32x4.add(s3, f32x4.mul(v128.load32_splat(pa3), b0));
        pa0 += ac;
        pa1 += ac;
        pa2 += ac;
        pa3 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      v128.store(c0 + o, fin(s0, c0 + o, acc, bias, o, relu));
      v128.store(c1 + o, fin(s1, c1 + o, acc, bias, o, relu));
      v128.store(c2 + o, fin(s2, c2 + o, acc, bias, o, relu));
      v128.store(c3 + o, fin(s3, c3 + o, acc, bias, o, relu));
    }
    for (; j < N; j++) {
      let s0: f32 = 0;
      let s1: f32 = 0;
      let s2: f32 = 0;
      let s3: f32 = 0;
      let pa0 = a0;
      let pa1 = a1;
      let pa2 = a2;
      let pa3 = a3;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        const bv = load<f32>(pb);
        s0 += load<f32>(pa0) * bv;
        s1 += load<f32>(pa1) * bv;
        s2 += load<f32>(pa2) * bv;
        s3 += load<f32>(pa3) * bv;
        pa0 += ac;
        pa1 += ac;
        pa2 += ac;
        pa3 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      store<f32>(c0 + o, fin1(s0, c0 + o, acc, bias, o, relu));
      store<f32>(c1 + o, fin1(s1, c1 + o, acc, bias, o, relu));
      store<f32>(c2 + o, fin1(s2, c2 + o, acc, bias, o, relu));
      store<f32>(c3 + o, fin1(s3, c3 + o, acc, bias, o, relu));
    }
  }
  for (; i < M; i++) {
    const a0 = a + <usize>i * ar;
    const c0 = c + <usize>i * cs;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      let s0 = f32x4.splat(0);
      let s1 = f32x4.splat(0);
      let pa0 = a0;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        const x = v128.load32_splat(pa0);
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(pb)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(pb, 16)));
        pa0 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      v128.store(c0 + o, fin(s0, c0 + o, acc, bias, o, relu));
      v128.store(c0 + o + 16, fin(s1, c0 + o + 16, acc, bias, o + 16, relu));
    }
    for (; j + 4 <= N; j += 4) {
      let s0 = f32x4.splat(0);
      let pa0 = a0;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(pa0), v128.load(pb)));
        pa0 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      v128.store(c0 + o, fin(s0, c0 + o, acc, bias, o, relu));
    }
    for (; j < N; j++) {
      let s0: f32 = 0;
      let pa0 = a0;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < Kd; k++) {
        s0 += load<f32>(pa0) * load<f32>(pb);
        pa0 += ac;
        pb += bs;
      }
      const o = (<usize>j) << 2;
      store<f32>(c0 + o, fin1(s0, c0 + o, acc, bias, o, relu));
    }
  }
}

/** Rows of the inner dimension per block of a weight gradient, so both operands stay in L1. */
const TN_BLOCK: i32 = 32;

/** dW[R, N] += X[M, R]ᵀ · dY[M, N] (X, dY row-major, packed), blocked over M. */
function gemmTN(x: usize, dy: usize, dw: usize, M: i32, R: i32, N: i32): void {
  for (let m0 = 0; m0 < M; m0 += TN_BLOCK) {
    let mb = M - m0;
    if (mb > TN_BLOCK) mb = TN_BLOCK;
    gemm(x + ((<usize>(m0 * R)) << 2), 1, R, dy + ((<usize>(m0 * N)) << 2), N, dw, N, R, mb, N, true);
  }
}

/** dst[cols, rows] = src[rows, cols]ᵀ (src row stride lds). */
function transpose(src: usize, lds: i32, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + ((<usize>(r * lds)) << 2);
    for (let c = 0; c < cols; c++) store<f32>(dst + ((<usize>(c * rows + r)) << 2), load<f32>(s + ((<usize>c) << 2)));
  }
}

/** dX[M, R] (+)= dY[M, N] · W[R, N]ᵀ, through a transposed copy of W. */
function gemmNT(dy: usize, w: usize, dx: usize, M: i32, N: i32, R: i32, acc: bool): void {
  transpose(w, N, pWT, R, N);
  gemm(dy, N, 1, pWT, R, dx, R, M, N, R, acc);
}

/** out[N] += Σ rows of x[M, N]. */
function colSum(x: usize, M: i32, N: i32, out: usize): void {
  const row = (<usize>N) << 2;
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    let s = f32x4.splat(0);
    let p = x + ((<usize>j) << 2);
    for (let i = 0; i < M; i++) {
      s = f32x4.add(s, v128.load(p));
      p += row;
    }
    v128.store(out + ((<usize>j) << 2), f32x4.add(v128.load(out + ((<usize>j) << 2)), s));
  }
  for (; j < N; j++) {
    let s: f32 = 0;
    let p = x + ((<usize>j) << 2);
    for (let i = 0; i < M; i++) {
      s += load<f32>(p);
      p += row;
    }
    store<f32>(out + ((<usize>j) << 2), load<f32>(out + ((<usize>j) << 2)) + s);
  }
}

/** Each row of x[M, N] += bias[N]. */
function addBias(x: usize, M: i32, N: i32, bias: usize): void {
  for (let i = 0; i < M; i++) {
    const r = x + ((<usize>(i * N)) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = (<usize>j) << 2;
      v128.store(r + o, f32x4.add(v128.load(r + o), v128.load(bias + o)));
    }
    for (; j < N; j++) {
      const o = (<usize>j) << 2;
      store<f32>(r + o, load<f32>(r + o) + load<f32>(bias + o));
    }
  }
}

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** dst[n] = a[n] + b[n]. */
function vadd(dst: usize, a: usize, b: usize, n: i32): void {
  const e = dst + ((<usize>n) << 2);
  const e4 = dst + ((<usize>(n & ~3)) << 2);
  let d = dst;
  let pa = a;
  let pb = b;
  for (; d < e4; d += 16, pa += 16, pb += 16) v128.store(d, f32x4.add(v128.load(pa), v128.load(pb)));
  for (; d < e; d += 4, pa += 4, pb += 4) store<f32>(d, load<f32>(pa) + load<f32>(pb));
}

/** dst[n] = src[n] where gate[n] > 0, else 0 (ReLU's backward). */
function reluMask(dst: usize, src: usize, gate: usize, n: i32): void {
  const e = dst + ((<usize>n) << 2);
  const e4 = dst + ((<usize>(n & ~3)) << 2);
  const z = f32x4.splat(0);
  let d = dst;
  let ps = src;
  let pg = gate;
  for (; d < e4; d += 16, ps += 16, pg += 16) v128.store(d, v128.and(v128.load(ps), f32x4.gt(v128.load(pg), z)));
  for (; d < e; d += 4, ps += 4, pg += 4) store<f32>(d, load<f32>(pg) > 0 ? load<f32>(ps) : 0);
}

/** Layer norm of each row of x[M, N] (ε = 1e-5): y = x̂·g + b; keeps x̂ and 1/σ for the backward pass. */
function layerNorm(x: usize, M: i32, N: i32, g: usize, b: usize, xhat: usize, rstd: usize, y: usize): void {
  const invN: f32 = 1 / <f32>N;
  const n4 = N & ~3;
  for (let i = 0; i < M; i++) {
    const o = (<usize>(i * N)) << 2;
    const px = x + o;
    let sv = f32x4.splat(0);
    let j = 0;
    for (; j < n4; j += 4) sv = f32x4.add(sv, v128.load(px + ((<usize>j) << 2)));
    let mean = hsum(sv);
    for (; j < N; j++) mean += load<f32>(px + ((<usize>j) << 2));
    mean *= invN;
    const mv = f32x4.splat(mean);
    let vv = f32x4.splat(0);
    for (j = 0; j < n4; j += 4) {
      const t = f32x4.sub(v128.load(px + ((<usize>j) << 2)), mv);
      vv = f32x4.add(vv, f32x4.mul(t, t));
    }
    let v = hsum(vv);
    for (; j < N; j++) {
      const t = load<f32>(px + ((<usize>j) << 2)) - mean;
      v += t * t;
    }
    v *= invN;
    const r: f32 = 1 / Mathf.sqrt(v + 1e-5);
    store<f32>(rstd + ((<usize>i) << 2), r);
    const rv = f32x4.splat(r);
    for (j = 0; j < n4; j += 4) {
      const jo = (<usize>j) << 2;
      const h = f32x4.mul(f32x4.sub(v128.load(px + jo), mv), rv);
      v128.store(xhat + o + jo, h);
      v128.store(y + o + jo, f32x4.add(f32x4.mul(h, v128.load(g + jo)), v128.load(b + jo)));
    }
    for (; j < N; j++) {
      const jo = (<usize>j) << 2;
      const h = (load<f32>(px + jo) - mean) * r;
      store<f32>(xhat + o + jo, h);
      store<f32>(y + o + jo, h * load<f32>(g + jo) + load<f32>(b + jo));
    }
  }
}

/**
 * Backward of layerNorm: dx (+)= (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·g; dg += Σ dy·x̂,
 * db += Σ dy.
 */
function layerNormBack(
  dy: usize,
  xhat: usize,
  rstd: usize,
  g: usize,
  dg: usize,
  db: usize,
  dx: usize,
  M: i32,
  N: i32,
  acc: bool,
): void {
  const invN: f32 = 1 / <f32>N;
  const n4 = N & ~3;
  for (let i = 0; i < M; i++) {
    const o = (<usize>(i * N)) << 2;
    let v1 = f32x4.splat(0);
    let v2 = f32x4.splat(0);
    let j = 0;
    for (; j < n4; j += 4) {
      const jo = (<usize>j) << 2;
      const d = v128.load(dy + o + jo);
      const h = v128.load(xhat + o + jo);
      const dh = f32x4.mul(d, v128.load(g + jo));
      v1 = f32x4.add(v1, dh);
      v2 = f32x4.add(v2, f32x4.mul(dh, h));
      v128.store(dg + jo, f32x4.add(v128.load(dg + jo), f32x4.mul(d, h)));
      v128.store(db + jo, f32x4.add(v128.load(db + jo), d));
    }
    let s1 = hsum(v1);
    let s2 = hsum(v2);
    for (; j < N; j++) {
      const jo = (<usize>j) << 2;
      const d = load<f32>(dy + o + jo);
      const h = load<f32>(xhat + o + jo);
      const dh = d * load<f32>(g + jo);
      s1 += dh;
      s2 += dh * h;
      store<f32>(dg + jo, load<f32>(dg + jo) + d * h);
      store<f32>(db + jo, load<f32>(db + jo) + d);
    }
    s1 *= invN;
    s2 *= invN;
    const r = load<f32>(rstd + ((<usize>i) << 2));
    const rv = f32x4.splat(r);
    const s1v = f32x4.splat(s1);
    const s2v = f32x4.splat(s2);
    for (j = 0; j < n4; j += 4) {
      const jo = (<usize>j) << 2;
      const dh = f32x4.mul(v128.load(dy + o + jo), v128.load(g + jo));
      let v = f32x4.mul(rv, f32x4.sub(f32x4.sub(dh, s1v), f32x4.mul(v128.load(xhat + o + jo), s2v)));
      if (acc) v = f32x4.add(v128.load(dx + o + jo), v);
      v128.store(dx + o + jo, v);
    }
    for (; j < N; j++) {
      const jo = (<usize>j) << 2;
      const dh = load<f32>(dy + o + jo) * load<f32>(g + jo);
      const v = r * (dh - s1 - load<f32>(xhat + o + jo) * s2);
      store<f32>(dx + o + jo, acc ? load<f32>(dx + o + jo) + v : v);
    }
  }
}

/** e^x for four lanes (Cephes' expf: range reduction by ln 2, degree-5 polynomial; ~1 ulp). */
@inline
function expv(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(0.5)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), x), f32x4.splat(1));
  const n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(fx), i32x4.splat(127)), 23);
  return f32x4.mul(y, n);
}

/** Softmax of each row of s[M, N] scaled by `scale`, in place. */
function softmaxRows(s: usize, M: i32, N: i32, scale: f32): void {
  const n4 = N & ~3;
  const sv = f32x4.splat(scale);
  for (let i = 0; i < M; i++) {
    const row = s + ((<usize>(i * N)) << 2);
    let mv = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < n4; j += 4) mv = f32x4.max(mv, v128.load(row + ((<usize>j) << 2)));
    let mx = Mathf.max(
      Mathf.max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
      Mathf.max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)),
    );
    for (; j < N; j++) mx = Mathf.max(mx, load<f32>(row + ((<usize>j) << 2)));
    const m = f32x4.splat(mx * scale);
    let sum = f32x4.splat(0);
    for (j = 0; j < n4; j += 4) {
      const p = row + ((<usize>j) << 2);
      const e = expv(f32x4.sub(f32x4.mul(v128.load(p), sv), m));
      v128.store(p, e);
      sum = f32x4.add(sum, e);
    }
    let tot = hsum(sum);
    for (; j < N; j++) {
      const p = row + ((<usize>j) << 2);
      const e = Mathf.exp(load<f32>(p) * scale - mx * scale);
      store<f32>(p, e);
      tot += e;
    }
    const inv = f32x4.splat(1 / tot);
    for (j = 0; j < n4; j += 4) {
      const p = row + ((<usize>j) << 2);
      v128.store(p, f32x4.mul(v128.load(p), inv));
    }
    const inv1: f32 = 1 / tot;
    for (; j < N; j++) {
      const p = row + ((<usize>j) << 2);
      store<f32>(p, load<f32>(p) * inv1);
    }
  }
}

@inline
function f(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}

@inline
function setf(p: usize, i: i32, v: f32): void {
  store<f32>(p + ((<usize>i) << 2), v);
}

// ---- forward ------------------------------------------------------------------------------------------

function forward(B: i32): void {
  const N = B * L;
  const h0 = pHs;
  // tokens
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ln; i++) {
      const x = f(cXNum, b * Ln + i);
      const row = h0 + ((<usize>((b * L + i) * D)) << 2);
      const s = pW + oNumS + ((<usize>(i * D)) << 2);
      const bb = pW + oNumB + ((<usize>(i * D)) << 2);
      for (let j = 0; j < D; j++) setf(row, j, x * f(s, j) + f(bb, j));
    }
    for (let i = 0; i < Lc; i++) {
      const idx = load<i32>(cXCat + ((<usize>(b * Lc + i)) << 2));
      const row = h0 + ((<usize>((b * L + Ln + i) * D)) << 2);
      const pos = pW + oPos + ((<usize>(i * D)) << 2);
      if (idx >= 0 && idx < V) {
        const e = pW + oEmb + ((<usize>(idx * D)) << 2);
        for (let j = 0; j < D; j++) setf(row, j, f(e, j) + f(pos, j));
      } else {
        for (let j = 0; j < D; j++) setf(row, j, f(pos, j));
      }
    }
  }
  mark(0);
  // residual Conv1D(k=3, same padding) + ReLU, as im2col
  const nd = (<usize>(N * D)) << 2;
  const d4 = (<usize>D) << 2;
  for (let c = 0; c < C; c++) {
    const hin = pHs + <usize>c * nd;
    const hout = hin + nd;
    const cols = pCols + <usize>c * 3 * nd;
    const r = pR + <usize>c * nd;
    const w = pW + oConv + <usize>c * convStride;
    const bias = w + ((<usize>(3 * D * D)) << 2);
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < L; l++) {
        const row = cols + 3 * (<usize>(b * L + l)) * d4;
        const src = hin + (<usize>(b * L + l)) * d4;
        if (l > 0) memory.copy(row, src - d4, d4);
        else memory.fill(row, 0, d4);
        memory.copy(row + d4, src, d4);
        if (l < L - 1) memory.copy(row + 2 * d4, src + d4, d4);
        else memory.fill(row + 2 * d4, 0, d4);
      }
    }
    gemm(cols, 3 * D, 1, w, D, r, D, N, 3 * D, D, false, bias, true);
    vadd(hout, hin, r, N * D);
  }
  mark(1);
  const hc = pHs + <usize>C * nd;
  // attention
  layerNorm(hc, N, D, pW + oLn1g, pW + oLn1b, pXhat1, pRstd1, pA1);
  gemm(pA1, D, 1, pW + oQkvW, 3 * D, pQkv, 3 * D, N, D, 3 * D, false, pW + oQkvB);
  const scale: f32 = 1 / Mathf.sqrt(<f32>DH);
  for (let b = 0; b < B; b++) {
    for (let hh = 0; hh < H; hh++) {
      const q = pQkv + ((<usize>(b * L * 3 * D + hh * DH)) << 2);
      const k = q + d4;
      const v = k + d4;
      const s = pAtt + ((<usize>((b * H + hh) * L * L)) << 2);
      transpose(k, 3 * D, pKT, L, DH);
      gemm(q, 3 * D, 1, pKT, L, s, L, L, DH, L, false);
      softmaxRows(s, L, L, scale);
      gemm(s, L, 1, v, 3 * D, pCtx + ((<usize>(b * L * D + hh * DH)) << 2), D, L, L, DH, false);
    }
  }
  mark(2);
  // h2 = hc + ctx·Wo + bo
  memory.copy(pH2, hc, nd);
  gemm(pCtx, D, 1, pW + oOutW, D, pH2, D, N, D, D, true, pW + oOutB);
  mark(3);
  // feed-forward
  layerNorm(pH2, N, D, pW + oLn2g, pW + oLn2b, pXhat2, pRstd2, pA2);
  gemm(pA2, D, 1, pW + oFf1W, F, pF1, F, N, D, F, false, pW + oFf1B, true);
  memory.copy(pH3, pH2, nd);
  gemm(pF1, F, 1, pW + oFf2W, D, pH3, D, N, F, D, true, pW + oFf2B);
  mark(4);
  // mean pool + layer norm
  const invL: f32 = 1 / <f32>L;
  memory.fill(pPool, 0, (<usize>B) * d4);
  for (let b = 0; b < B; b++) {
    const out = pPool + (<usize>b) * d4;
    for (let l = 0; l < L; l++) vadd(out, out, pH3 + (<usize>(b * L + l)) * d4, D);
    for (let j = 0; j < D; j++) setf(out, j, f(out, j) * invL);
  }
  layerNorm(pPool, B, D, pW + oLnfg, pW + oLnfb, pXhatF, pRstdF, pZ);
  // heads
  for (let b = 0; b < B; b++) memory.copy(cLogits + ((<usize>(b * K)) << 2), pW + oClsB, (<usize>K) << 2);
  gemm(pZ, D, 1, pW + oClsW, K, cLogits, K, B, D, K, true);
  const mb = f(pW + oMosB, 0);
  for (let b = 0; b < B; b++) {
    let u = mb;
    for (let j = 0; j < D; j++) u += f(pZ, b * D + j) * f(pW + oMosW, j);
    const sg: f32 = 1 / (1 + Mathf.exp(-u));
    setf(cSig, b, sg);
    setf(cMos, b, 1 + 4 * sg);
  }
}

/** Forward pass only: logits at logitsPtr(), MOS at mosPtr(). */
export function predict(B: i32): void {
  for (let b0 = 0; b0 < B; b0 += CHUNK) {
    setChunk(b0);
    forward(B - b0 < CHUNK ? B - b0 : CHUNK);
  }
}

// ---- loss and backward --------------------------------------------------------------------------------

/**
 * Loss of the batch and every gradient (at gradsPtr()). useCW: class weights from classWeightsPtr();
 * mu > 0: FedProx towards globalPtr(); useLin: FedDyn's −⟨linear, w⟩. Returns the loss.
 */
export function lossAndGrads(Bt: i32, useCW: i32, mu: f32, useLin: i32): f64 {
  // the loss's normalisers are the whole batch's: Σ class weights (or the row count) and the row count
  let wsum: f32 = 0;
  for (let b = 0; b < Bt; b++) wsum += useCW ? f(pCW, load<i32>(pY + ((<usize>b) << 2))) : 1;
  const invW: f32 = 1 / wsum;
  const invB: f32 = 1 / <f32>Bt;
  partialGrads(Bt, useCW, invW, invB);
  return finishLoss(partCe, partMse, invW, invB, mu, useLin);
}

let partCe: f32 = 0;
let partMse: f32 = 0;

/**
 * The data-parallel step's part (src/engine/threads.ts): the gradients (at gradsPtr(), zeroed first) of the
 * loss of the first `Bt` rows in the input buffers, normalised by the WHOLE batch's 1/Σw (invW) and 1/B
 * (invB), so that the parts' gradients add up to the batch's. Returns Σ w·ce of these rows; their Σ
 * (MOS − t)² is partialMse(). No FedProx/FedDyn terms: finishLoss adds them once.
 */
export function partialGrads(Bt: i32, useCW: i32, invW: f32, invB: f32): f64 {
  memory.fill(pG, 0, (<usize>P) << 2);
  let ceSum: f32 = 0;
  let mse: f32 = 0;
  for (let b0 = 0; b0 < Bt; b0 += CHUNK) {
    setChunk(b0);
    const B = Bt - b0 < CHUNK ? Bt - b0 : CHUNK;
    forward(B);
    mark(5);
    const l = chunkLoss(B, useCW, invW, invB);
    ceSum += l.x;
    mse += l.y;
    backward(B);
  }
  // The key bias shifts every score of a query's row by the same q·b: softmax ignores it, so its gradient is
  // exactly 0 (what a sum would leave is rounding, which Adam would turn into ±lr steps): keep it at 0.
  memory.fill(pG + oQkvB + ((<usize>D) << 2), 0, (<usize>D) << 2);
  partCe = ceSum;
  partMse = mse;
  return <f64>ceSum;
}

/** Σ (MOS − t)² of the last partialGrads' rows. */
export function partialMse(): f64 {
  return <f64>partMse;
}

/**
 * The batch's loss from its sums (ceSum = Σ w·ce, mse = Σ (MOS − t)², over every row), with FedProx's and
 * FedDyn's terms, which it also adds to the gradients at gradsPtr(). Returns the loss.
 */
export function finishLoss(ceSum: f32, mseSum: f32, invW: f32, invB: f32, mu: f32, useLin: i32): f64 {
  const mse: f32 = mseSum * invB;
  const cls: f32 = ceSum * invW;
  lastCls = cls;
  lastMse = mse;
  let loss: f64 = <f64>cls + <f64>(mosWeight * mse);
  mark(11);
  // FedProx (μ/2)·‖w − w_global‖² and FedDyn −⟨g, w⟩
  if (mu > 0) {
    let sq: f64 = 0;
    for (let i = 0; i < P; i++) {
      const dlt = f(pW, i) - f(pGlob, i);
      sq += <f64>(dlt * dlt);
      setf(pG, i, f(pG, i) + mu * dlt);
    }
    loss += <f64>mu * 0.5 * sq;
  }
  if (useLin) {
    let dot: f64 = 0;
    for (let i = 0; i < P; i++) {
      const g = f(pLin, i);
      dot += <f64>(g * f(pW, i));
      setf(pG, i, f(pG, i) - g);
    }
    loss -= dot;
  }
  mark(12);
  lastLoss = loss;
  return loss;
}

@unmanaged
class Pair {
  x: f32 = 0;
  y: f32 = 0;
}
const pair = changetype<Pair>(memory.data(8));

/**
 * Softmax cross-entropy (optionally class-weighted) and MOS squared error of the chunk's rows: their sums
 * (x: Σ w·ce, y: Σ (MOS − t)²) and the gradients of the whole batch's loss w.r.t. logits and the MOS logit.
 */
function chunkLoss(B: i32, useCW: i32, invW: f32, invB: f32): Pair {
  let ceSum: f32 = 0;
  for (let b = 0; b < B; b++) {
    const row = cLogits + ((<usize>(b * K)) << 2);
    const drow = cDLog + ((<usize>(b * K)) << 2);
    const y = load<i32>(cY + ((<usize>b) << 2));
    let mx: f32 = -Infinity;
    for (let k = 0; k < K; k++) if (f(row, k) > mx) mx = f(row, k);
    let sum: f32 = 0;
    for (let k = 0; k < K; k++) sum += Mathf.exp(f(row, k) - mx);
    const lse = mx + Mathf.log(sum);
    const w: f32 = useCW ? f(pCW, y) : 1;
    ceSum += w * (lse - f(row, y));
    const wn = w * invW;
    const inv: f32 = 1 / sum;
    for (let k = 0; k < K; k++) {
      const p = Mathf.exp(f(row, k) - mx) * inv;
      setf(drow, k, (k == y ? p - 1 : p) * wn);
    }
  }
  let mse: f32 = 0;
  for (let b = 0; b < B; b++) {
    const e = f(cMos, b) - f(cT, b);
    mse += e * e;
    const sg = f(cSig, b);
    setf(cDU, b, mosWeight * 2 * e * invB * 4 * sg * (1 - sg));
  }
  pair.x = ceSum;
  pair.y = mse;
  return pair;
}

/** Backward pass of the chunk's rows (after forward and chunkLoss); adds into the gradients. */
function backward(B: i32): void {
  const N = B * L;
  const d4 = (<usize>D) << 2;
  const nd = (<usize>(N * D)) << 2;
  // heads
  gemmTN(pZ, cDLog, pG + oClsW, B, D, K);
  colSum(cDLog, B, K, pG + oClsB);
  for (let b = 0; b < B; b++) {
    const du = f(cDU, b);
    for (let j = 0; j < D; j++) setf(pG + oMosW, j, f(pG + oMosW, j) + f(pZ, b * D + j) * du);
    setf(pG + oMosB, 0, f(pG + oMosB, 0) + du);
    for (let j = 0; j < D; j++) {
      let s: f32 = du * f(pW + oMosW, j);
      const wr = pW + oClsW + ((<usize>(j * K)) << 2);
      for (let k = 0; k < K; k++) s += f(cDLog, b * K + k) * f(wr, k);
      setf(pDZ, b * D + j, s);
    }
  }
  layerNormBack(pDZ, pXhatF, pRstdF, pW + oLnfg, pG + oLnfg, pG + oLnfb, pDPool, B, D, false);
  const invL: f32 = 1 / <f32>L;
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const row = pDH + (<usize>(b * L + l)) * d4;
      for (let j = 0; j < D; j++) setf(row, j, f(pDPool, b * D + j) * invL);
    }
  }
  mark(6);
  // feed-forward
  gemmTN(pF1, pDH, pG + oFf2W, N, F, D);
  colSum(pDH, N, D, pG + oFf2B);
  gemmNT(pDH, pW + oFf2W, pDF1, N, D, F, false);
  reluMask(pDF1, pDF1, pF1, N * F);
  gemmTN(pA2, pDF1, pG + oFf1W, N, D, F);
  colSum(pDF1, N, F, pG + oFf1B);
  gemmNT(pDF1, pW + oFf1W, pDA, N, F, D, false);
  layerNormBack(pDA, pXhat2, pRstd2, pW + oLn2g, pG + oLn2g, pG + oLn2b, pDH, N, D, true);
  mark(7);
  // attention
  gemmTN(pCtx, pDH, pG + oOutW, N, D, D);
  colSum(pDH, N, D, pG + oOutB);
  gemmNT(pDH, pW + oOutW, pDCtx, N, D, D, false);
  const scale: f32 = 1 / Mathf.sqrt(<f32>DH);
  for (let b = 0; b < B; b++) {
    for (let hh = 0; hh < H; hh++) {
      const off = (<usize>(b * L * 3 * D + hh * DH)) << 2;
      const q = pQkv + off;
      const k = q + d4;
      const v = k + d4;
      const dq = pDBig + off;
      const dk = dq + d4;
      const dv = dk + d4;
      const s = pAtt + ((<usize>((b * H + hh) * L * L)) << 2);
      const dctx = pDCtx + ((<usize>(b * L * D + hh * DH)) << 2);
      transpose(v, 3 * D, pKT, L, DH);
      gemm(dctx, D, 1, pKT, L, pDP, L, L, DH, L, false); // dP = dctx·Vᵀ
      gemm(s, 1, L, dctx, D, dv, 3 * D, L, L, DH, false); // dV = Pᵀ·dctx
      for (let i = 0; i < L; i++) {
        const pr = s + ((<usize>(i * L)) << 2);
        const dr = pDP + ((<usize>(i * L)) << 2);
        let dot: f32 = 0;
        for (let j = 0; j < L; j++) dot += f(pr, j) * f(dr, j);
        for (let j = 0; j < L; j++) setf(dr, j, f(pr, j) * (f(dr, j) - dot) * scale);
      }
      gemm(pDP, L, 1, k, 3 * D, dq, 3 * D, L, L, DH, false); // dQ = dS·K
      gemm(pDP, 1, L, q, 3 * D, dk, 3 * D, L, L, DH, false); // dK = dSᵀ·Q
    }
  }
  mark(8);
  gemmTN(pA1, pDBig, pG + oQkvW, N, D, 3 * D);
  colSum(pDBig, N, 3 * D, pG + oQkvB);
  gemmNT(pDBig, pW + oQkvW, pDA, N, 3 * D, D, false);
  layerNormBack(pDA, pXhat1, pRstd1, pW + oLn1g, pG + oLn1g, pG + oLn1b, pDH, N, D, true);
  mark(9);
  // conv layers, last first
  for (let c = C - 1; c >= 0; c--) {
    const cols = pCols + <usize>c * 3 * nd;
    const r = pR + <usize>c * nd;
    const w = pW + oConv + <usize>c * convStride;
    const gw = pG + oConv + <usize>c * convStride;
    const gb = gw + ((<usize>(3 * D * D)) << 2);
    reluMask(pDA, pDH, r, N * D);
    gemmTN(cols, pDA, gw, N, 3 * D, D);
    colSum(pDA, N, D, gb);
    gemmNT(pDA, w, pDBig, N, D, 3 * D, false);
    // col2im: row (b, l) of cols holds h[l−1], h[l], h[l+1]
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < L; l++) {
        const dst = pDH + (<usize>(b * L + l)) * d4;
        const mid = pDBig + 3 * (<usize>(b * L + l)) * d4 + d4;
        vadd(dst, dst, mid, D);
        if (l + 1 < L) vadd(dst, dst, mid + 2 * d4, D); // row l+1, first third
        if (l > 0) vadd(dst, dst, mid - 2 * d4, D); // row l−1, last third
      }
    }
  }
  mark(10);
  // tokens
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Ln; i++) {
      const x = f(cXNum, b * Ln + i);
      const row = pDH + (<usize>(b * L + i)) * d4;
      const gs = pG + oNumS + (<usize>i) * d4;
      const gbb = pG + oNumB + (<usize>i) * d4;
      for (let j = 0; j < D; j++) {
        const g = f(row, j);
        setf(gs, j, f(gs, j) + x * g);
        setf(gbb, j, f(gbb, j) + g);
      }
    }
    for (let i = 0; i < Lc; i++) {
      const idx = load<i32>(cXCat + ((<usize>(b * Lc + i)) << 2));
      const row = pDH + (<usize>(b * L + Ln + i)) * d4;
      const gp = pG + oPos + (<usize>i) * d4;
      for (let j = 0; j < D; j++) setf(gp, j, f(gp, j) + f(row, j));
      if (idx >= 0 && idx < V) {
        const ge = pG + oEmb + (<usize>idx) * d4;
        for (let j = 0; j < D; j++) setf(ge, j, f(ge, j) + f(row, j));
      }
    }
  }
  mark(11);
}

/**
 * Adam on the gradients at gradsPtr(), as tfjs's AdamOptimizer does it: β^t kept in float32, and 1 − β
 * computed by the host in double precision then rounded (1 − f32(0.999) is 1.3e-5 off f32(0.001), enough
 * to bend a 200-step trajectory).
 */
export function adam(lr: f32, beta1: f32, beta2: f32, ob1: f32, ob2: f32, eps: f32): void {
  const c1: f32 = 1 - acc1;
  const c2: f32 = 1 - acc2;
  for (let i = 0; i < P; i++) {
    const g = f(pG, i);
    const m = f(pM, i) * beta1 + g * ob1;
    const v = f(pVv, i) * beta2 + g * g * ob2;
    setf(pM, i, m);
    setf(pVv, i, v);
    setf(pW, i, f(pW, i) + ((m / c1) / (Mathf.sqrt(v / c2) + eps)) * -lr);
  }
  acc1 *= beta1;
  acc2 *= beta2;
  mark(13);
}

/** One training step: lossAndGrads then adam. Returns the loss before the update. */
export function step(
  B: i32,
  useCW: i32,
  mu: f32,
  useLin: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  ob1: f32,
  ob2: f32,
  eps: f32,
): f64 {
  const loss = lossAndGrads(B, useCW, mu, useLin);
  adam(lr, beta1, beta2, ob1, ob2, eps);
  return loss;
}
