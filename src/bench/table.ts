/**
 * `pqfed bench --json` output (the contract in docs/DESIGN.md, plus the fields marked extra) and its tables:
 * Markdown for the README's "Performance" section (scripts/bench-table.ts) and aligned text for the
 * terminal (`pqfed bench` without --json). Ratios are taken only within one run.
 */

export interface BenchReport {
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    /** ISO 8601, when the run started. */
    date: string;
  };
  /** Extra: a --quick run (small, for tests; its figures are rough). */
  quick: boolean;
  /** Extra: wall seconds of the whole run. */
  seconds: number;
  training: {
    /** A tfjs backend, or `fused` (the fused WASM engine, extra; `threads` > 1: the data-parallel step). */
    backend: string;
    batch: number;
    samplesPerSec: number;
    /** Extra: timed steps, the model's parameters, WASM SIMD and threads. */
    steps?: number;
    params?: number;
    simd?: boolean;
    threads?: number;
  }[];
  trainingSkipped?: string;
  reference: {
    framework: string;
    /** At `batch`: the largest batch measured. */
    samplesPerSec: number;
    /** tfjs wasm samples/s ÷ `samplesPerSec`, at the same batch, in the same run. */
    ratio: number;
    batch?: number;
    threads?: number;
    params?: number;
    byBatch?: { batch: number; samplesPerSec: number; ratio: number }[];
  } | null;
  referenceSkipped?: string;
  /** Extra: the key-exchange suite of the crypto and wire figures. */
  suite?: string;
  /** Milliseconds per operation: handshakeServer, handshakeClient, openRound, verifyRound, sealUpdate, openUpdate. */
  crypto: Record<string, number> | null;
  cryptoSkipped?: string;
  aggregator: {
    clients: number;
    updatesPerSec: number;
    params?: number;
    wallSeconds?: number;
    joinSeconds?: number;
    clientSealMsPerUpdate?: number;
  } | null;
  aggregatorSkipped?: string;
  wire: {
    rawBytes: number;
    sealedBytes: number;
    params?: number;
    updateFrameBytes?: number;
    envelopeBytes?: number;
    roundBytes?: number;
  } | null;
  wireSkipped?: string;
}

export interface Table {
  header: string[];
  rows: string[][];
}

/** 12345.6 → "12,346"; 45.67 → "45.7"; 1.234 → "1.23". */
export function num(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 100)
    return Math.round(x)
      .toString()
      .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** A ratio: two decimals, three below 0.1. */
export function ratio(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return Math.abs(x) < 0.1 ? x.toFixed(3) : x.toFixed(2);
}

const bytes = (x: number) => `${num(x)} B`;
const ms = (x: number | undefined) => (x === undefined ? '–' : `${num(x)} ms`);

function backendName(t: BenchReport['training'][number]): string {
  if (t.backend === 'fused') {
    const n = t.threads ?? 1;
    return `fused engine (WASM SIMD, ${n} thread${n > 1 ? 's' : ''})`;
  }
  if (t.backend !== 'wasm') return `tfjs ${t.backend}`;
  const extra = [
    t.simd === undefined ? '' : t.simd ? 'SIMD' : 'no SIMD',
    t.threads ? `${t.threads} thread${t.threads > 1 ? 's' : ''}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return extra ? `tfjs wasm (${extra})` : 'tfjs wasm';
}

/** The training table: one row per backend and batch, with ratios to wasm and to PyTorch at that batch. */
export function trainingTable(r: BenchReport): Table {
  const params = r.training.find((t) => t.params)?.params ?? r.reference?.params;
  const header = [
    `training${params ? ` (${num(params)} parameters)` : ''}`,
    'batch',
    'samples/s',
    'ratio to wasm',
    'ratio to PyTorch',
  ];
  const rows: string[][] = [];
  const refAt = (batch: number) =>
    r.reference?.byBatch?.find((b) => b.batch === batch)?.samplesPerSec ??
    (r.reference && (r.reference.batch === undefined || r.reference.batch === batch)
      ? r.reference.samplesPerSec
      : undefined);
  const batches = [
    ...new Set([...r.training.map((t) => t.batch), ...(r.reference?.byBatch ?? []).map((b) => b.batch)]),
  ];
  for (const batch of batches.sort((a, b) => a - b)) {
    const ref = refAt(batch);
    if (r.reference && ref !== undefined) {
      const threads = r.reference.threads
        ? `, ${r.reference.threads} thread${r.reference.threads > 1 ? 's' : ''}`
        : '';
      rows.push([`${r.reference.framework}${threads} (reference)`, String(batch), num(ref), '', '1']);
    }
    const wasm = r.training.find((t) => t.backend === 'wasm' && t.batch === batch);
    for (const t of r.training.filter((x) => x.batch === batch)) {
      rows.push([
        backendName(t),
        String(batch),
        num(t.samplesPerSec),
        t === wasm ? '1' : wasm ? ratio(t.samplesPerSec / wasm.samplesPerSec) : '',
        ref ? ratio(t.samplesPerSec / ref) : '',
      ]);
    }
  }
  return { header, rows };
}

/** Costs per update: the client's and server's cryptography, the aggregator, the bytes on the wire. */
export function updateTable(r: BenchReport): Table {
  const params = r.wire?.params ?? r.aggregator?.params;
  const suite = r.suite === 'xwing' ? 'X-Wing' : r.suite === 'mlkem768' ? 'ML-KEM-768' : (r.suite ?? '');
  const header = [
    `per update${params ? ` (${num(params)} parameters` : ''}${suite ? `, ${suite} + ML-DSA-65` : ''}${params ? ')' : ''}`,
    'cost',
  ];
  const rows: string[][] = [];
  const c = r.crypto;
  if (c) {
    rows.push(
      ['client: check the round key and the model (2 signatures, SHA-256)', ms(c.verifyRound)],
      ['client: seal the update to the round key and sign it', ms(c.sealUpdate)],
      ['server: open one update (decapsulate, decrypt, verify)', ms(c.openUpdate)],
      ['server, once per round: a round key and 2 signatures', ms(c.openRound)],
      [
        'handshake, once per connection: server / client',
        `${ms(c.handshakeServer)} / ${ms(c.handshakeClient)}`,
      ],
    );
  }
  if (r.aggregator) {
    const one = c?.openUpdate ? ` (openUpdate alone, one thread: ${num(1000 / c.openUpdate)}/s)` : '';
    rows.push([
      `aggregator: updates verified, decrypted and aggregated, ${r.aggregator.clients} clients at once`,
      `${num(r.aggregator.updatesPerSec)}/s${one}`,
    ]);
  }
  if (r.wire) {
    rows.push([
      'on the wire: weights (4 B per parameter) → sealed update frame',
      `${bytes(r.wire.rawBytes)} → ${bytes(r.wire.sealedBytes)} (×${(r.wire.sealedBytes / r.wire.rawBytes).toFixed(3)})`,
    ]);
    if (r.wire.roundBytes)
      rows.push(['on the wire: the round message (server → client)', bytes(r.wire.roundBytes)]);
  }
  return { header, rows };
}

/** One line: when, where, how to regenerate. */
export function caption(r: BenchReport): string {
  const m = r.machine;
  return (
    `Measured ${m.date.slice(0, 10)} by \`npx pqfed bench${r.quick ? ' --quick' : ''}\` on ${m.cpus}× ${m.cpuModel}, ` +
    `${num(m.memoryGiB)} GiB, Node ${m.node.replace(/^v/, '')} (${m.platform.split(' ').slice(0, 2).join(' ')}), in ${num(r.seconds)} s. Ratios are within this run.`
  );
}

/** Why parts are missing, one sentence each. */
export function skippedNotes(r: BenchReport): string[] {
  const notes: [string, string | undefined][] = [
    ['training', r.trainingSkipped],
    ['PyTorch reference', r.referenceSkipped],
    ['crypto', r.cryptoSkipped],
    ['aggregator', r.aggregatorSkipped],
    ['wire', r.wireSkipped],
  ];
  return notes.filter(([, why]) => why).map(([part, why]) => `Not measured, ${part}: ${why}.`);
}

/** The crypto a client spends per round, in samples of wasm training at the largest batch (same run). */
export function cryptoInSamples(r: BenchReport): string | null {
  const c = r.crypto;
  const wasm = r.training.filter((t) => t.backend === 'wasm').at(-1);
  if (!c || c.verifyRound === undefined || c.sealUpdate === undefined || !wasm) return null;
  const clientMs = c.verifyRound + c.sealUpdate;
  return (
    `A client's cryptography per round (check the round, seal the update: ${num(clientMs)} ms) takes as long as ` +
    `training ${Math.round((clientMs / 1000) * wasm.samplesPerSec)} samples on tfjs wasm (batch ${wasm.batch}).`
  );
}

function markdownTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(t.header), line(t.header.map(() => '---')), ...t.rows.map(line)].join('\n');
}

function textTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(t.header), ...t.rows.map(line)].join('\n');
}

/** The README's generated block: caption, the training table, the per-update table, notes. */
export function benchMarkdown(r: BenchReport): string {
  const parts = [caption(r), markdownTable(trainingTable(r)), markdownTable(updateTable(r))];
  const notes = [cryptoInSamples(r), ...skippedNotes(r)].filter((x): x is string => Boolean(x));
  if (notes.length) parts.push(notes.join(' '));
  return `${parts.join('\n\n')}\n`;
}

/** The same, as aligned text for a terminal. */
export function benchText(r: BenchReport): string {
  const parts = [caption(r), textTable(trainingTable(r)), textTable(updateTable(r))];
  const notes = [cryptoInSamples(r), ...skippedNotes(r)].filter((x): x is string => Boolean(x));
  return [...parts, ...notes].join('\n\n');
}
