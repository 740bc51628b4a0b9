/**
 * WGSL for the fused training step, generated per model config (every size and offset is a constant).
 *
 * Four kernels make a training step (docs/fused-engine-webgpu.md has the derivations):
 *   `fwdbwd`  one workgroup per sample: tokens → conv stem → pre-LN attention block → pool → heads → loss
 *             terms, then the hand-derived backward pass down to the tokens. Every activation and activation
 *             gradient of the sample is saved in its scratch region; stages are separated by barriers.
 *   `loss`    one workgroup: the batch loss (weighted cross-entropy + mosWeight·MSE + FedProx − FedDyn),
 *             read from the saved per-sample terms and the weights before the update.
 *   `partial` one thread per parameter and chunk of `chunk` samples (a 2-D grid): that chunk's share of the
 *             parameter's gradient, summed over its samples (and tokens) from the saved activations and their
 *             gradients, into row `chunk index` of the gradient buffer.
 *   `update`  one thread per parameter: the sum of its chunks' rows, plus the proximal and linear terms;
 *             then tfjs's Adam.
 * `forward` is `fwdbwd` without the backward half (predictions for evaluation).
 */
import type { ModelConfig } from '../../model/model.ts';
import { dimsOf, paramLayout, scratchLayout } from './layout.ts';

export const WG = 64;
/**
 * Threads of a per-sample workgroup (`fwdbwd`, `forward`): each stage strides over its tokens × channels
 * (960 for the TON_IoT model), so more threads shorten every stage. A choice of the engine (`create`'s
 * `sampleWorkgroup`), measured on a real GPU in bench/gpu (docs/fused-engine-webgpu.md).
 */
export const SAMPLE_WG = 64;
export const SAMPLE_WG_CHOICES = [64, 128, 256] as const;
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/** Where the inputs sit in the batch buffer, and the outputs in the output buffer (floats). */
export interface IoLayout {
  num: number;
  cat: number;
  lab: number;
  mos: number;
  inputSize: number;
  /** Predictions: per sample K logits then the MOS. */
  predStride: number;
  /** Loss terms: total, classification, MSE, Σ(w−g)², Σ lin·w. */
  loss: number;
  outputSize: number;
  /** Aux buffer: class weights at 0, prox global at `glob`, FedDyn linear at `lin`. */
  glob: number;
  lin: number;
  auxSize: number;
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

export function ioLayout(c: ModelConfig, maxBatch: number): IoLayout {
  const D = dimsOf(c);
  const P = paramLayout(c).total;
  const num = 0;
  const cat = align4(num + maxBatch * D.ln);
  const lab = align4(cat + maxBatch * D.lc);
  const mos = align4(lab + maxBatch);
  const inputSize = align4(mos + maxBatch);
  const predStride = D.K + 1;
  const loss = align4(maxBatch * predStride);
  const glob = align4(D.K);
  const lin = align4(glob + P);
  return {
    num,
    cat,
    lab,
    mos,
    inputSize,
    predStride,
    loss,
    outputSize: loss + 8,
    glob,
    lin,
    auxSize: align4(lin + P),
  };
}

/**
 * How `partial` splits the batch: `chunk` samples per thread, at most `chunks` chunks (the gradient buffer
 * holds `chunks` rows of P floats). One thread per parameter summing over all B·L rows made a step's time grow
 * with B (a plateau near 60,000 samples/s on an H200 from batch 256 up); chunks of 16 keep each thread's
 * serial sum short and give the GPU B/16 times more threads. Capped at 512 chunks to bound the buffer.
 */
export function gradChunking(maxBatch: number): { chunk: number; chunks: number } {
  const chunk = Math.max(16, Math.ceil(maxBatch / 512));
  return { chunk, chunks: Math.ceil(maxBatch / chunk) };
}

/** Uniform block: B, useClassWeights, useLinear, apply, mu, lr, 1−β1ᵗ, 1−β2ᵗ (8 × 4 bytes). */
export const UNIFORM_BYTES = 32;

/** A WGSL float literal (abstract float, exact enough for f32). */
function f(x: number): string {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export function generateWgsl(c: ModelConfig, maxBatch: number, sampleWg: number = SAMPLE_WG): string {
  const D = dimsOf(c);
  const { L, d, H, dh, F, K, C, ln, lc } = D;
  const D3 = 3 * d;
  const params = paramLayout(c);
  const P = params.total;
  const { off, stride } = scratchLayout(D);
  const io = ioLayout(c, maxBatch);
  const scale = 1 / Math.sqrt(dh);

  const po = (name: string) => {
    const s = params.byName.get(name);
    if (!s) throw new Error(`kernels: no parameter ${name}`);
    return s.offset;
  };
  /** Weight element. */
  const W = (name: string, idx: string) => `w[${po(name)}u + (${idx})]`;
  /** This sample's scratch element. */
  const S = (name: string, idx: string) => `sc[sb + ${off[name]}u + (${idx})]`;
  /** Sample bb's scratch element (update kernel). */
  const SB = (name: string, idx: string) => `sc[bb * ${stride}u + ${off[name]}u + (${idx})]`;
  const loop = (n: string, body: string) =>
    `  for (var i = lid; i < ${n}; i += SWG) {\n${body}\n  }\n  sync();\n`;

  const layerNorm = (
    src: (t: string, e: string) => string,
    mu: string,
    rs: string,
    xh: string,
    out: string,
    g: string,
    bt: string,
  ) =>
    loop(
      'L',
      `    let t = i;
    var m = 0.0;
    for (var e = 0u; e < D; e++) { m += ${src('t', 'e')}; }
    m = m / f32(D);
    var v = 0.0;
    for (var e = 0u; e < D; e++) { let q = ${src('t', 'e')} - m; v += q * q; }
    v = v / f32(D);
    let r = 1.0 / sqrt(v + 1e-5);
    ${S(mu, 't')} = m;
    ${S(rs, 't')} = r;
    for (var e = 0u; e < D; e++) {
      let x = (${src('t', 'e')} - m) * r;
      ${S(xh, 't * D + e')} = x;
      ${S(out, 't * D + e')} = x * ${W(g, 'e')} + ${W(bt, 'e')};
    }`,
    );

  /** out = resid + LN⁻¹ backward of dy (dx = r·(dx̂ − mean dx̂ − x̂·mean(dx̂·x̂)), dx̂ = dy·g). */
  const layerNormBack = (
    dy: string,
    xh: string,
    rs: string,
    g: string,
    resid: (t: string, e: string) => string,
    out: (t: string, e: string) => string,
  ) =>
    loop(
      'L',
      `    let t = i;
    var m1 = 0.0;
    var m2 = 0.0;
    for (var e = 0u; e < D; e++) {
      let dx = ${S(dy, 't * D + e')} * ${W(g, 'e')};
      m1 += dx;
      m2 += dx * ${S(xh, 't * D + e')};
    }
    m1 = m1 / f32(D);
    m2 = m2 / f32(D);
    let r = ${S(rs, 't')};
    for (var e = 0u; e < D; e++) {
      let dx = ${S(dy, 't * D + e')} * ${W(g, 'e')};
      ${out('t', 'e')} = ${resid('t', 'e')} + r * (dx - m1 - ${S(xh, 't * D + e')} * m2);
    }`,
    );

  // ---- forward ----------------------------------------------------------------------------------------
  let fwd = '';
  {
    const numTok = `val = inp[NUM + b * LN + t] * ${W('num_scale', 'i')} + ${W('num_bias', 'i')};`;
    const catTok = `let c = t - LN;
      let v = u32(inp[CAT + b * LC + c]);
      val = ${W('cat_embed', 'v * D + e')} + ${W('cat_pos', 'c * D + e')};`;
    const body = ln > 0 && lc > 0 ? `if (t < LN) { ${numTok} } else { ${catTok} }` : ln > 0 ? numTok : catTok;
    fwd += loop(
      'L * D',
      `    let t = i / D;
    let e = i % D;
    var val = 0.0;
    ${body}
    ${S('hs', 'i')} = val;`,
    );
  }
  for (let ci = 0; ci < C; ci++) {
    fwd += loop(
      'L * D',
      `    let t = i / D;
    let j = i % D;
    var acc = ${W(`conv${ci}_b`, 'j')};
    for (var k = 0u; k < 3u; k++) {
      let tt = i32(t) + i32(k) - 1;
      if (tt >= 0 && tt < i32(L)) {
        let src = ${ci}u * L * D + u32(tt) * D;
        for (var e = 0u; e < D; e++) { acc += ${S('hs', 'src + e')} * ${W(`conv${ci}_w`, '(k * D + e) * D + j')}; }
      }
    }
    ${S('pre', `${ci}u * L * D + i`)} = acc;
    ${S('hs', `${ci + 1}u * L * D + i`)} = ${S('hs', `${ci}u * L * D + i`)} + max(acc, 0.0);`,
    );
  }
  fwd += layerNorm(
    (t, e) => S('hs', `C * L * D + ${t} * D + ${e}`),
    'mu1',
    'rs1',
    'xh1',
    'a1',
    'ln1_g',
    'ln1_b',
  );
  fwd += loop(
    'L * D3',
    `    let t = i / D3;
    let j = i % D3;
    var acc = ${W('attn_qkv_b', 'j')};
    for (var e = 0u; e < D; e++) { acc += ${S('a1', 't * D + e')} * ${W('attn_qkv_w', 'e * D3 + j')}; }
    ${S('qkv', 'i')} = acc;`,
  );
  fwd += loop(
    'H * L',
    `    let h = i / L;
    let t = i % L;
    var mx = -3.0e38;
    for (var s = 0u; s < L; s++) {
      var dd = 0.0;
      for (var e = 0u; e < DH; e++) { dd += ${S('qkv', 't * D3 + h * DH + e')} * ${S('qkv', 's * D3 + D + h * DH + e')}; }
      dd = dd * SCALE;
      ${S('pr', 'i * L + s')} = dd;
      mx = max(mx, dd);
    }
    var sum = 0.0;
    for (var s = 0u; s < L; s++) { let x = exp(${S('pr', 'i * L + s')} - mx); ${S('pr', 'i * L + s')} = x; sum += x; }
    for (var s = 0u; s < L; s++) { ${S('pr', 'i * L + s')} = ${S('pr', 'i * L + s')} / sum; }`,
  );
  fwd += loop(
    'L * D',
    `    let t = i / D;
    let e = i % D;
    let h = e / DH;
    var acc = 0.0;
    for (var s = 0u; s < L; s++) { acc += ${S('pr', '(h * L + t) * L + s')} * ${S('qkv', 's * D3 + 2u * D + e')}; }
    ${S('ctx', 'i')} = acc;`,
  );
  fwd += loop(
    'L * D',
    `    let t = i / D;
    let j = i % D;
    var acc = ${W('attn_out_b', 'j')};
    for (var e = 0u; e < D; e++) { acc += ${S('ctx', 't * D + e')} * ${W('attn_out_w', 'e * D + j')}; }
    ${S('h2', 'i')} = ${S('hs', 'C * L * D + i')} + acc;`,
  );
  fwd += layerNorm((t, e) => S('h2', `${t} * D + ${e}`), 'mu2', 'rs2', 'xh2', 'a2', 'ln2_g', 'ln2_b');
  fwd += loop(
    'L * F',
    `    let t = i / F;
    let k = i % F;
    var acc = ${W('ff1_b', 'k')};
    for (var e = 0u; e < D; e++) { acc += ${S('a2', 't * D + e')} * ${W('ff1_w', 'e * F + k')}; }
    ${S('f1', 'i')} = acc;`,
  );
  fwd += loop(
    'D',
    `    let j = i;
    var m = 0.0;
    for (var t = 0u; t < L; t++) {
      var acc = ${W('ff2_b', 'j')};
      for (var k = 0u; k < F; k++) { acc += max(${S('f1', 't * F + k')}, 0.0) * ${W('ff2_w', 'k * D + j')}; }
      m += ${S('h2', 't * D + j')} + acc;
    }
    ${S('pool', 'j')} = m / f32(L);`,
  );
  fwd += `  if (lid == 0u) {
    var m = 0.0;
    for (var j = 0u; j < D; j++) { m += ${S('pool', 'j')}; }
    m = m / f32(D);
    var v = 0.0;
    for (var j = 0u; j < D; j++) { let q = ${S('pool', 'j')} - m; v += q * q; }
    v = v / f32(D);
    let r = 1.0 / sqrt(v + 1e-5);
    ${S('rsf', '0u')} = r;
    for (var j = 0u; j < D; j++) {
      let x = (${S('pool', 'j')} - m) * r;
      ${S('xhf', 'j')} = x;
      ${S('z', 'j')} = x * ${W('lnf_g', 'j')} + ${W('lnf_b', 'j')};
    }
    var mx = -3.0e38;
    for (var k = 0u; k < K; k++) {
      var acc = ${W('cls_b', 'k')};
      for (var j = 0u; j < D; j++) { acc += ${S('z', 'j')} * ${W('cls_w', 'j * K + k')}; }
      ${S('logits', 'k')} = acc;
      res[b * PRED + k] = acc;
      mx = max(mx, acc);
    }
    var se = 0.0;
    for (var k = 0u; k < K; k++) { se += exp(${S('logits', 'k')} - mx); }
    let lse = mx + log(se);
    var sv = ${W('mos_b', '0u')};
    for (var j = 0u; j < D; j++) { sv += ${S('z', 'j')} * ${W('mos_w', 'j')}; }
    ${S('s', '0u')} = sv;
    let mos = 1.0 + 4.0 / (1.0 + exp(-sv));
    ${S('mos', '0u')} = mos;
    res[b * PRED + K] = mos;
    let y = min(u32(inp[LAB + b]), K - 1u);
    ${S('ce', '0u')} = lse - ${S('logits', 'y')};
    let diff = mos - inp[MOSI + b];
    ${S('sq', '0u')} = diff * diff;
  }
  sync();
`;

  // ---- backward ---------------------------------------------------------------------------------------
  let bwd = `  if (lid == 0u) {
    let y = min(u32(inp[LAB + b]), K - 1u);
    var coef = 1.0 / f32(u.B);
    if (u.useCW == 1u) {
      var ws = 0.0;
      for (var bb = 0u; bb < u.B; bb++) { ws += aux[min(u32(inp[LAB + bb]), K - 1u)]; }
      coef = aux[y] / ws;
    }
    var mx = -3.0e38;
    for (var k = 0u; k < K; k++) { mx = max(mx, ${S('logits', 'k')}); }
    var se = 0.0;
    for (var k = 0u; k < K; k++) { se += exp(${S('logits', 'k')} - mx); }
    let lse = mx + log(se);
    for (var k = 0u; k < K; k++) {
      var g = exp(${S('logits', 'k')} - lse);
      if (k == y) { g -= 1.0; }
      ${S('dlog', 'k')} = coef * g;
    }
    let sig = 1.0 / (1.0 + exp(-${S('s', '0u')}));
    let ds = MOSW * 2.0 * (${S('mos', '0u')} - inp[MOSI + b]) / f32(u.B) * 4.0 * sig * (1.0 - sig);
    ${S('ds', '0u')} = ds;
    var m1 = 0.0;
    var m2 = 0.0;
    for (var j = 0u; j < D; j++) {
      var g = ${W('mos_w', 'j')} * ds;
      for (var k = 0u; k < K; k++) { g += ${W('cls_w', 'j * K + k')} * ${S('dlog', 'k')}; }
      ${S('dz', 'j')} = g;
      let dx = g * ${W('lnf_g', 'j')};
      m1 += dx;
      m2 += dx * ${S('xhf', 'j')};
    }
    m1 = m1 / f32(D);
    m2 = m2 / f32(D);
    let r = ${S('rsf', '0u')};
    for (var j = 0u; j < D; j++) {
      let dx = ${S('dz', 'j')} * ${W('lnf_g', 'j')};
      ${S('dh3', 'j')} = r * (dx - m1 - ${S('xhf', 'j')} * m2) / f32(L);
    }
  }
  sync();
`;
  bwd += loop(
    'L * F',
    `    let k = i % F;
    var g = 0.0;
    if (${S('f1', 'i')} > 0.0) {
      for (var j = 0u; j < D; j++) { g += ${S('dh3', 'j')} * ${W('ff2_w', 'k * D + j')}; }
    }
    ${S('dpre1', 'i')} = g;`,
  );
  bwd += loop(
    'L * D',
    `    let t = i / D;
    let e = i % D;
    var g = 0.0;
    for (var k = 0u; k < F; k++) { g += ${S('dpre1', 't * F + k')} * ${W('ff1_w', 'e * F + k')}; }
    ${S('da2', 'i')} = g;`,
  );
  bwd += layerNormBack(
    'da2',
    'xh2',
    'rs2',
    'ln2_g',
    (_t, e) => S('dh3', e),
    (t, e) => S('dh2', `${t} * D + ${e}`),
  );
  bwd += loop(
    'L * D',
    `    let t = i / D;
    let e = i % D;
    var g = 0.0;
    for (var j = 0u; j < D; j++) { g += ${S('dh2', 't * D + j')} * ${W('attn_out_w', 'e * D + j')}; }
    ${S('dctx', 'i')} = g;`,
  );
  bwd += loop(
    'H * L',
    `    let h = i / L;
    let t = i % L;
    var dd = 0.0;
    for (var s = 0u; s < L; s++) {
      var dp = 0.0;
      for (var e = 0u; e < DH; e++) { dp += ${S('dctx', 't * D + h * DH + e')} * ${S('qkv', 's * D3 + 2u * D + h * DH + e')}; }
      ${S('dpr', 'i * L + s')} = dp;
      dd += ${S('pr', 'i * L + s')} * dp;
    }
    for (var s = 0u; s < L; s++) { ${S('dpr', 'i * L + s')} = ${S('pr', 'i * L + s')} * (${S('dpr', 'i * L + s')} - dd); }`,
  );
  bwd += loop(
    'L * D3',
    `    let t = i / D3;
    let j = i % D3;
    let part = j / D;
    let jj = j % D;
    let h = jj / DH;
    var g = 0.0;
    if (part == 0u) {
      for (var s = 0u; s < L; s++) { g += ${S('dpr', '(h * L + t) * L + s')} * ${S('qkv', 's * D3 + D + jj')}; }
      g = g * SCALE;
    } else if (part == 1u) {
      for (var q = 0u; q < L; q++) { g += ${S('dpr', '(h * L + q) * L + t')} * ${S('qkv', 'q * D3 + jj')}; }
      g = g * SCALE;
    } else {
      for (var q = 0u; q < L; q++) { g += ${S('pr', '(h * L + q) * L + t')} * ${S('dctx', 'q * D + jj')}; }
    }
    ${S('dqkv', 'i')} = g;`,
  );
  bwd += loop(
    'L * D',
    `    let t = i / D;
    let e = i % D;
    var g = 0.0;
    for (var j = 0u; j < D3; j++) { g += ${S('dqkv', 't * D3 + j')} * ${W('attn_qkv_w', 'e * D3 + j')}; }
    ${S('da1', 'i')} = g;`,
  );
  bwd += layerNormBack(
    'da1',
    'xh1',
    'rs1',
    'ln1_g',
    (t, e) => S('dh2', `${t} * D + ${e}`),
    (t, e) => S('dhs', `C * L * D + ${t} * D + ${e}`),
  );
  for (let ci = C - 1; ci >= 0; ci--) {
    bwd += loop(
      'L * D',
      `    let p = ${S('pre', `${ci}u * L * D + i`)};
    ${S('pre', `${ci}u * L * D + i`)} = select(0.0, ${S('dhs', `${ci + 1}u * L * D + i`)}, p > 0.0);`,
    );
    bwd += loop(
      'L * D',
      `    let t = i / D;
    let e = i % D;
    var acc = ${S('dhs', `${ci + 1}u * L * D + i`)};
    for (var k = 0u; k < 3u; k++) {
      let tp = i32(t) + 1 - i32(k);
      if (tp >= 0 && tp < i32(L)) {
        let src = ${ci}u * L * D + u32(tp) * D;
        for (var j = 0u; j < D; j++) { acc += ${S('pre', 'src + j')} * ${W(`conv${ci}_w`, '(k * D + e) * D + j')}; }
      }
    }
    ${S('dhs', `${ci}u * L * D + i`)} = acc;`,
    );
  }

  // ---- per-parameter gradients (update kernel) --------------------------------------------------------
  const overB = (body: string) => `for (var bb = b0; bb < b1; bb++) { ${body} }`;
  const overBT = (body: string) => overB(`for (var t = 0u; t < L; t++) { ${body} }`);
  const grads: Record<string, string> = {
    num_scale: overB(`g += inp[NUM + bb * LN + q / D] * ${SB('dhs', 'q')};`),
    num_bias: overB(`g += ${SB('dhs', 'q')};`),
    cat_embed: `let v = q / D;
      let e = q % D;
      ${overB(`for (var c = 0u; c < LC; c++) { if (u32(inp[CAT + bb * LC + c]) == v) { g += ${SB('dhs', '(LN + c) * D + e')}; } }`)}`,
    cat_pos: overB(`g += ${SB('dhs', 'LN * D + q')};`),
    ln1_g: overBT(`g += ${SB('da1', 't * D + q')} * ${SB('xh1', 't * D + q')};`),
    ln1_b: overBT(`g += ${SB('da1', 't * D + q')};`),
    attn_qkv_w: `let e = q / D3;
      let j = q % D3;
      ${overBT(`g += ${SB('a1', 't * D + e')} * ${SB('dqkv', 't * D3 + j')};`)}`,
    attn_qkv_b: overBT(`g += ${SB('dqkv', 't * D3 + q')};`),
    attn_out_w: `let e = q / D;
      let j = q % D;
      ${overBT(`g += ${SB('ctx', 't * D + e')} * ${SB('dh2', 't * D + j')};`)}`,
    attn_out_b: overBT(`g += ${SB('dh2', 't * D + q')};`),
    ln2_g: overBT(`g += ${SB('da2', 't * D + q')} * ${SB('xh2', 't * D + q')};`),
    ln2_b: overBT(`g += ${SB('da2', 't * D + q')};`),
    ff1_w: `let e = q / F;
      let k = q % F;
      ${overBT(`g += ${SB('a2', 't * D + e')} * ${SB('dpre1', 't * F + k')};`)}`,
    ff1_b: overBT(`g += ${SB('dpre1', 't * F + q')};`),
    ff2_w: `let k = q / D;
      let j = q % D;
      ${overB(`var s = 0.0; for (var t = 0u; t < L; t++) { s += max(${SB('f1', 't * F + k')}, 0.0); } g += s * ${SB('dh3', 'j')};`)}`,
    ff2_b: overB(`g += f32(L) * ${SB('dh3', 'q')};`),
    lnf_g: overB(`g += ${SB('dz', 'q')} * ${SB('xhf', 'q')};`),
    lnf_b: overB(`g += ${SB('dz', 'q')};`),
    cls_w: `let j = q / K;
      let k = q % K;
      ${overB(`g += ${SB('z', 'j')} * ${SB('dlog', 'k')};`)}`,
    cls_b: overB(`g += ${SB('dlog', 'q')};`),
    mos_w: overB(`g += ${SB('z', 'q')} * ${SB('ds', '0u')};`),
    mos_b: overB(`g += ${SB('ds', '0u')};`),
  };
  for (let ci = 0; ci < C; ci++) {
    grads[`conv${ci}_w`] = `let r = q / D;
      let j = q % D;
      let k = r / D;
      let e = r % D;
      ${overBT(`let tt = i32(t) + i32(k) - 1; if (tt >= 0 && tt < i32(L)) { g += ${SB('hs', `${ci}u * L * D + u32(tt) * D + e`)} * ${SB('pre', `${ci}u * L * D + t * D + j`)}; }`)}`;
    grads[`conv${ci}_b`] = overBT(`g += ${SB('pre', `${ci}u * L * D + t * D + q`)};`);
  }
  const chain = params.slots
    .filter((s) => s.size > 0)
    .map((s) => {
      const body = grads[s.name];
      if (body === undefined) throw new Error(`kernels: no gradient for ${s.name}`);
      return `if (p < ${s.offset + s.size}u) {
      let q = p - ${s.offset}u;
      ${body}
    }`;
    })
    .join(' else ');

  return `// PQFed fused training step (generated; docs/fused-engine-webgpu.md)
const WG: u32 = ${WG}u;
const SWG: u32 = ${sampleWg}u;
const L: u32 = ${L}u;
const LN: u32 = ${ln}u;
const LC: u32 = ${lc}u;
const D: u32 = ${d}u;
const D3: u32 = ${D3}u;
const DH: u32 = ${dh}u;
const H: u32 = ${H}u;
const F: u32 = ${F}u;
const K: u32 = ${K}u;
const C: u32 = ${C}u;
const P: u32 = ${P}u;
const NUM: u32 = ${io.num}u;
const CAT: u32 = ${io.cat}u;
const LAB: u32 = ${io.lab}u;
const MOSI: u32 = ${io.mos}u;
const PRED: u32 = ${io.predStride}u;
const LOSS: u32 = ${io.loss}u;
const GLOB: u32 = ${io.glob}u;
const LIN: u32 = ${io.lin}u;
const STRIDE: u32 = ${stride}u;
const CHUNK: u32 = ${gradChunking(maxBatch).chunk}u;
const SCALE: f32 = ${f(scale)};
const MOSW: f32 = ${f(c.mosWeight)};
const B1: f32 = ${f(ADAM.beta1)};
const B2: f32 = ${f(ADAM.beta2)};
const EPS: f32 = ${f(ADAM.epsilon)};

struct Uniforms {
  B: u32,
  useCW: u32,
  useLin: u32,
  apply: u32,
  mu: f32,
  lr: f32,
  c1: f32,
  c2: f32,
}

@group(0) @binding(0) var<storage, read_write> w: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> sc: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<uniform> u: Uniforms;
@group(0) @binding(5) var<storage, read_write> res: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;
@group(0) @binding(7) var<storage, read_write> adam: array<f32>;

fn sync() {
  storageBarrier();
  workgroupBarrier();
}

@compute @workgroup_size(${sampleWg})
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let sb = b * STRIDE;
${fwd}}

@compute @workgroup_size(${sampleWg})
fn fwdbwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let sb = b * STRIDE;
${fwd}${bwd}}

var<workgroup> red: array<f32, ${5 * WG}>;

@compute @workgroup_size(${WG})
fn loss(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  var ws = 0.0;
  var sq = 0.0;
  var px = 0.0;
  var li = 0.0;
  for (var bb = lid; bb < u.B; bb += WG) {
    var wt = 1.0;
    if (u.useCW == 1u) { wt = aux[min(u32(inp[LAB + bb]), K - 1u)]; }
    a += wt * sc[bb * STRIDE + ${off.ce}u];
    ws += wt;
    sq += sc[bb * STRIDE + ${off.sq}u];
  }
  for (var p = lid; p < P; p += WG) {
    if (u.mu > 0.0) { let q = w[p] - aux[GLOB + p]; px += q * q; }
    if (u.useLin == 1u) { li += aux[LIN + p] * w[p]; }
  }
  red[lid] = a;
  red[WG + lid] = ws;
  red[2u * WG + lid] = sq;
  red[3u * WG + lid] = px;
  red[4u * WG + lid] = li;
  workgroupBarrier();
  for (var n = WG / 2u; n > 0u; n = n / 2u) {
    if (lid < n) {
      for (var r = 0u; r < 5u; r++) { red[r * WG + lid] += red[r * WG + lid + n]; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let cls = red[0] / red[WG];
    let mse = red[2u * WG] / f32(u.B);
    res[LOSS] = cls + MOSW * mse + 0.5 * u.mu * red[3u * WG] - red[4u * WG];
    res[LOSS + 1u] = cls;
    res[LOSS + 2u] = mse;
    res[LOSS + 3u] = red[3u * WG];
    res[LOSS + 4u] = red[4u * WG];
  }
}

@compute @workgroup_size(${WG})
fn partial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  let b0 = gid.y * CHUNK;
  if (p >= P || b0 >= u.B) { return; }
  let b1 = min(u.B, b0 + CHUNK);
  var g = 0.0;
  ${chain}
  grad[gid.y * P + p] = g;
}

@compute @workgroup_size(${WG})
fn update(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= P) { return; }
  var g = 0.0;
  let chunks = (u.B + CHUNK - 1u) / CHUNK;
  for (var c = 0u; c < chunks; c++) { g += grad[c * P + p]; }
  if (u.mu > 0.0) { g += u.mu * (w[p] - aux[GLOB + p]); }
  if (u.useLin == 1u) { g -= aux[LIN + p]; }
  grad[p] = g;
  if (u.apply == 1u) {
    let m = B1 * adam[p] + (1.0 - B1) * g;
    let v = B2 * adam[P + p] + (1.0 - B2) * g * g;
    adam[p] = m;
    adam[P + p] = v;
    w[p] = w[p] - u.lr * ((m / u.c1) / (sqrt(v / u.c2) + EPS));
  }
}
`;
}
