/**
 * `pqfed bench [--json] [--quick] [--clients N]` (flags: commands.ts): the benchmark suite, in one run.
 *
 * - training: samples/s of the default model on tfjs wasm and cpu, and on the fused WASM engine
 *   (src/engine/wasm-engine.ts), one thread each (src/bench/training.ts), and the fused engine's
 *   data-parallel step on 2 threads (src/engine/threads.ts; `threads: 2`) where the machine has 2 cores;
 * - reference: the same architecture in PyTorch, in the same run, when an interpreter can `import torch`
 *   (bench/reference_torch.py as a child process with a timeout); `ratio` = tfjs wasm ÷ PyTorch samples/s
 *   at the same batch; otherwise null and `referenceSkipped` says why;
 * - crypto: milliseconds per operation of a round for the default model (src/bench/crypto.ts);
 * - aggregator: verified, decrypted and aggregated updates/s of a real aggregator under a burst of sealed
 *   updates from many clients (src/bench/aggregator.ts);
 * - wire: an update's weights (4 bytes per parameter) and its sealed frame on the wire;
 * - secagg: the per-round cost of secure aggregation (SecAgg+) for 10, 100 and 1,000 members at the default
 *   model's length, client and server, CPU time and bytes (src/bench/secagg.ts; `--no-secagg` skips it,
 *   `--secagg-only` runs it alone). It runs last and takes several minutes on a shared 2-core machine.
 * A part that fails is reported as null with a `<part>Skipped` reason; the command itself still succeeds.
 * `--quick` makes every part small (tests); the default run takes a few minutes.
 */
import { cpus, platform, release, totalmem } from 'node:os';
import { EMBEDDED_SAMPLE } from '../aggregator/config.ts';
import { burstExperiment, runUpdateBurst } from '../bench/aggregator.ts';
import { measureHandshake, measureRoundCrypto, measureWireBytes, type WireBytes } from '../bench/crypto.ts';
import { runSecAggBench, type SecAggPlan } from '../bench/secagg.ts';
import { type BenchReport, benchText } from '../bench/table.ts';
import {
  findTorchPython,
  measureBackend,
  measureEngine,
  type TrainingFigure,
  torchReference,
  trainingModel,
} from '../bench/training.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { DEFAULT_SUITE } from '../crypto/suites.ts';
import { ENGINE_CHUNK, threadsUnavailable } from '../engine/threads.ts';
import { useBackend } from '../model/backend.ts';
import { initWeights } from '../model/model.ts';
import type { BenchOptions } from './commands.ts';
import { UsageError } from './errors.ts';
import { loadTable } from './import.ts';

export type { BenchReport } from '../bench/table.ts';

/** The readable report: the same tables as the README's, aligned. */
export const formatBench = (r: BenchReport): string => benchText(r);

interface Plan {
  batches: number[];
  /** wasm: about this long per timed run (sized by a short probe), unless `wasmSteps` fixes the steps. */
  seconds: number;
  wasmSteps?: number;
  /** cpu: fixed timed steps after one warm-up step (a cpu step at batch 256 takes about 10 s here). */
  cpuSteps: number;
  torchSeconds: number;
  cryptoSeconds: number;
  handshakeSeconds: number;
  clients: number;
  /** The secure-aggregation part; its vector length is the default model's unless given. */
  secagg: Omit<SecAggPlan, 'vectorLength'> & { vectorLength?: number };
}

const FULL: Plan = {
  batches: [64, 256],
  seconds: 8,
  cpuSteps: 2,
  torchSeconds: 8,
  cryptoSeconds: 0.5,
  handshakeSeconds: 2,
  clients: 100,
  secagg: { sizes: [10, 100, 1000], fullUpTo: 100 },
};

const QUICK: Plan = {
  batches: [32],
  seconds: 1,
  wasmSteps: 6,
  cpuSteps: 2,
  torchSeconds: 1,
  cryptoSeconds: 0.03,
  handshakeSeconds: 0.1,
  clients: 6,
  // A whole round of 4, and the focal and server modes at 10 members (k = 8), on a short vector.
  secagg: { sizes: [4, 10], fullUpTo: 4, vectorLength: 32 },
};

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const oneLine = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0]!;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function benchCommand(o: BenchOptions): Promise<BenchReport> {
  const quick = o.quick === true;
  if (o.secaggOnly && o.secagg === false)
    throw new UsageError('--secagg-only and --no-secagg leave nothing to run: give one of them');
  const plan = { ...(quick ? QUICK : FULL) };
  plan.clients = o.clients ?? plan.clients;
  const t0 = performance.now();
  // stdout carries the result only: anything a library prints goes to stderr while the bench runs.
  const log = console.log;
  console.log = console.error;
  try {
    return await runBench(plan, quick, t0, { secagg: o.secagg !== false, only: o.secaggOnly === true });
  } finally {
    console.log = log;
  }
}

async function runBench(
  plan: Plan,
  quick: boolean,
  t0: number,
  parts: { secagg: boolean; only: boolean },
): Promise<BenchReport> {
  const skipped: Record<string, string> = {};

  const cpu = cpus();
  const machine = {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: r1(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()} ${process.arch} ${release()}`,
    date: new Date().toISOString(),
  };
  const what = parts.only ? 'secure aggregation only' : quick ? 'quick run' : 'full run (a few minutes)';
  say(`${what} on ${machine.cpus}× ${machine.cpuModel}`);

  // ---- training: tfjs wasm and cpu, the fused engine, then PyTorch -------------------------------------------------------
  const model = await trainingModel();
  const training: TrainingFigure[] = [];
  const notRun = 'not run (--secagg-only)';
  for (const backend of parts.only ? [] : (['wasm', 'cpu'] as const)) {
    try {
      const cpuPart = backend === 'cpu';
      const steps = cpuPart ? plan.cpuSteps : plan.wasmSteps;
      const figures = await measureBackend(backend, plan.batches, {
        seconds: plan.seconds,
        ...(steps !== undefined && { steps }),
        warmup: cpuPart ? 1 : 2,
        minSteps: cpuPart ? 2 : 3,
        progress: say,
      });
      training.push(...figures.map((f) => ({ ...f, samplesPerSec: r1(f.samplesPerSec) })));
    } catch (e) {
      skipped[backend] = oneLine(e);
      say(`training on ${backend} skipped: ${skipped[backend]}`);
    }
  }

  // The fused engine's measurement, one thread and two.
  const engineRun = {
    seconds: plan.seconds,
    ...(plan.wasmSteps !== undefined && { steps: plan.wasmSteps }),
    warmup: 2,
    minSteps: 3,
    progress: say,
  };
  if (parts.only) skipped.fused = notRun;
  else
    try {
      const figures = await measureEngine(plan.batches, engineRun);
      training.push(...figures.map((f) => ({ ...f, samplesPerSec: r1(f.samplesPerSec) })));
    } catch (e) {
      skipped.fused = oneLine(e);
      say(`training on the fused engine skipped: ${skipped.fused}`);
    }
  const noThreads = parts.only ? notRun : cpu.length < 2 ? `${cpu.length} core` : threadsUnavailable();
  if (noThreads) skipped['fused-threads'] = noThreads;
  else {
    try {
      // a step splits at the engine's 32-row chunks: a batch under 64 rows would run on one thread
      const figures = await measureEngine(
        [...new Set(plan.batches.map((b) => Math.max(b, 2 * ENGINE_CHUNK)))],
        engineRun,
        2,
      );
      training.push(...figures.map((f) => ({ ...f, samplesPerSec: r1(f.samplesPerSec) })));
    } catch (e) {
      skipped['fused-threads'] = oneLine(e);
    }
  }
  if (skipped['fused-threads'])
    say(`training on the fused engine, 2 threads, skipped: ${skipped['fused-threads']}`);

  let reference: BenchReport['reference'] = null;
  let referenceSkipped: string | undefined;
  const wasm = training.filter((t) => t.backend === 'wasm');
  if (parts.only) referenceSkipped = notRun;
  else if (!wasm.length) referenceSkipped = 'no tfjs wasm figure to compare with';
  else {
    const found = await findTorchPython();
    if (found.python === null) referenceSkipped = found.why;
    else {
      try {
        say(`reference: PyTorch (${found.python}) on the same model…`);
        const batches = wasm.map((t) => t.batch);
        const torch = await torchReference({
          python: found.python,
          config: model.config,
          batches,
          seconds: plan.torchSeconds,
          timeoutMs: 60_000 + batches.length * plan.torchSeconds * 3000,
        });
        const byBatch = wasm.flatMap((t) => {
          const ref = torch.results.find((x) => x.batch === t.batch);
          return ref
            ? [
                {
                  batch: t.batch,
                  samplesPerSec: r1(ref.samplesPerSec),
                  ratio: r3(t.samplesPerSec / ref.samplesPerSec),
                },
              ]
            : [];
        });
        // The headline figure is at the largest batch measured (pqfed train's default is 256).
        const main = byBatch.at(-1);
        if (!main) throw new Error('reference_torch.py measured none of the batches asked for');
        if (torch.params !== model.params) {
          say(`reference: PyTorch has ${torch.params} parameters, tfjs ${model.params}: not the same model`);
        }
        reference = {
          framework: torch.framework,
          threads: torch.threads,
          params: torch.params,
          batch: main.batch,
          samplesPerSec: main.samplesPerSec,
          ratio: main.ratio,
          byBatch,
        };
        say(
          `reference: ${torch.framework}: ${byBatch.map((b) => `batch ${b.batch} ${b.samplesPerSec} samples/s`).join(', ')}`,
        );
      } catch (e) {
        referenceSkipped = oneLine(e);
      }
    }
  }
  if (referenceSkipped) say(`reference skipped: ${referenceSkipped}`);

  // ---- the default experiment's model (what `pqfed serve` runs) -----------------------------------------
  let experiment: ReturnType<typeof burstExperiment> | null = null;
  try {
    await useBackend('wasm'); // the aggregator evaluates the global model after the burst
    experiment = burstExperiment((await loadTable(EMBEDDED_SAMPLE, 'toniot')).table, plan.clients);
  } catch (e) {
    skipped.experiment = oneLine(e);
    say(`the default experiment could not be prepared: ${skipped.experiment}`);
  }
  // Without the experiment, crypto and wire fall back to the training model's size.
  const params = experiment ? initWeights(experiment.model, 1).weights.length : model.params;

  // ---- crypto ----------------------------------------------------------------------------------------
  const suite = DEFAULT_SUITE;
  const ids = { server: generateIdentity(), client: generateIdentity() };
  let crypto: BenchReport['crypto'] = null;
  if (parts.only) skipped.crypto = notRun;
  else
    try {
      say(`crypto: ${suite} + ML-DSA-65, ${params}-parameter model…`);
      const hs = await measureHandshake(suite, plan.handshakeSeconds, ids);
      const round = await measureRoundCrypto(suite, params, plan.cryptoSeconds, ids);
      crypto = {
        handshakeServer: r3(hs.serverHello + hs.serverFinish),
        handshakeClient: r3(hs.client),
        openRound: r3(round.openRoundMs),
        verifyRound: r3(round.verifyRoundMs),
        sealUpdate: r3(round.sealUpdateMs),
        openUpdate: r3(round.openUpdateMs),
      };
      say(
        `crypto: ${Object.entries(crypto)
          .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
          .join(', ')}`,
      );
    } catch (e) {
      skipped.crypto = oneLine(e);
      say(`crypto skipped: ${skipped.crypto}`);
    }

  // ---- wire ------------------------------------------------------------------------------------------
  let wire: (WireBytes & { params: number }) | null = null;
  if (parts.only) skipped.wire = notRun;
  else
    try {
      wire = { params, ...(await measureWireBytes(suite, params, ids)) };
      say(`wire: ${wire.rawBytes} B of weights → ${wire.sealedBytes} B sealed on the wire`);
    } catch (e) {
      skipped.wire = oneLine(e);
      say(`wire skipped: ${skipped.wire}`);
    }

  // ---- aggregator ------------------------------------------------------------------------------------
  let aggregator: BenchReport['aggregator'] = null;
  if (parts.only) skipped.aggregator = notRun;
  else if (!experiment) skipped.aggregator = `no experiment: ${skipped.experiment}`;
  else {
    try {
      const burst = await runUpdateBurst({
        experiment,
        clients: plan.clients,
        progress: say,
        timeoutMs: quick ? 120_000 : 600_000,
      });
      if (burst.updatesVerified !== plan.clients) {
        throw new Error(
          `${burst.updatesVerified} of ${plan.clients} updates verified; refused: ${burst.refused.join(' | ')}`,
        );
      }
      aggregator = {
        clients: burst.clients,
        updatesPerSec: r1(burst.updatesPerSec),
        params: burst.modelParams,
        wallSeconds: r3(burst.wallSeconds),
        joinSeconds: r3(burst.joinSeconds),
        clientSealMsPerUpdate: r3(burst.clientSealMsPerUpdate),
      };
      say(`aggregator: ${aggregator.updatesPerSec} updates/s (${plan.clients} clients at once)`);
    } catch (e) {
      skipped.aggregator = oneLine(e);
    }
  }
  if (skipped.aggregator) say(`aggregator skipped: ${skipped.aggregator}`);

  // ---- secure aggregation (last: the longest part) ---------------------------------------------------
  let secagg: BenchReport['secagg'] = null;
  if (!parts.secagg) skipped.secagg = 'not run (--no-secagg)';
  else {
    const vectorLength = plan.secagg.vectorLength ?? params;
    say(
      `secure aggregation: SecAgg+ rounds of ${plan.secagg.sizes.join(', ')} members, d = ${vectorLength}` +
        `${quick ? '' : ' (several minutes; --no-secagg skips it)'}…`,
    );
    try {
      secagg = runSecAggBench({ ...plan.secagg, vectorLength }, say);
    } catch (e) {
      skipped.secagg = oneLine(e);
      say(`secure aggregation skipped: ${skipped.secagg}`);
    }
  }

  const trainingSkipped = parts.only
    ? notRun
    : ['wasm', 'cpu', 'fused', 'fused-threads']
        .filter((b) => skipped[b])
        .map((b) => `${b}: ${skipped[b]}`)
        .join('; ');
  return {
    machine,
    quick,
    seconds: r1((performance.now() - t0) / 1000),
    training: training.map((t) => ({ ...t, params: model.params })),
    ...(trainingSkipped && { trainingSkipped }),
    reference,
    ...(referenceSkipped && { referenceSkipped }),
    suite,
    crypto,
    ...(skipped.crypto && { cryptoSkipped: skipped.crypto }),
    aggregator,
    ...(skipped.aggregator && { aggregatorSkipped: skipped.aggregator }),
    wire,
    ...(skipped.wire && { wireSkipped: skipped.wire }),
    secagg,
    ...(skipped.secagg && { secaggSkipped: skipped.secagg }),
    ...(parts.only && { secaggOnly: true }),
  };
}
