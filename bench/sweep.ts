/**
 * The strategy sweep for issue 15 ("federated as good as centralized"): runs every strategy × partition ×
 * seed through the real `pqfed simulate` (one child process per run: the CLI exactly as a user runs it, a real
 * aggregator and worker-thread clients over loopback through the post-quantum channel), plus the centralized
 * reference `pqfed train` once per seed. For a seed and a file, both commands make the same grouped split
 * (src/data/split.ts `groupedSplit`, seeded; no identical input vector on both sides), so every federated row
 * is compared with the centralized model on the same test rows. Writes, into --out:
 *   runs/<key>.json      each run's full report (a rerun with the same --out skips runs already there)
 *   runs/<key>.exp.json  the experiment file each federated run was given
 *   sweep.json           {args, plan, rows: [{label, macroF1: {mean, sd, min, max, n}, accuracy, perClassRecall,
 *                        majorityBaseline}], centralized}
 *   sweep.md             the same as markdown tables (src/bench/sweep.ts)
 *
 * The real sweep (about an hour on 2 cores with the fused engine; 6 strategies × 3 partitions × 3 seeds):
 *   npx tsx bench/sweep.ts --out bench/results/sweep-issue15 \
 *     --strategies fedavg,fedprox,fedadam,fedyogi,fedadagrad,fedavgm --alphas 0.1,0.5,iid --seeds 1,2,3 \
 *     --clients 10 --rounds 20
 * A smoke run (about 2 minutes on 2 cores):
 *   npx tsx bench/sweep.ts --out /tmp/sweep-smoke --strategies fedavg,fedyogi --alphas 0.5 --seeds 1 \
 *     --clients 2 --rounds 2 --sample-rows 400 --epochs 1
 * --set '{"batchSize": 64}' adds experiment-file keys to every federated run (a variant of the defaults), and
 * --tag NAME names that variant: it goes into the run keys (runs/NAME-<key>.json) and the row labels, so
 * variants share one --out and its centralized runs.
 * Options: --data FILE (default ../shared/data/ton_iot/ton_iot_network.dev.csv.gz), --dataset (toniot),
 * --params '{"fedyogi": {"serverLearningRate": 0.03}}' (strategyParams per strategy), --epochs N (centralized
 * epochs, default train's 6), --sample-rows N (train on a seeded sample of N data lines of the file, drawn
 * before import, split and dedup: for smoke runs only), --run-timeout-minutes M (default 180; a run past it
 * is killed and the sweep stops).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  markdownTable,
  parsePartitions,
  parseSeeds,
  parseStrategies,
  parseStrategyParams,
  type RunResult,
  runKey,
  type SweepPartition,
  type SweepRow,
  summarise,
  sweepPlan,
} from '../src/bench/sweep.ts';
import { Rng } from '../src/core/random.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PQFED = join(ROOT, 'bin', 'pqfed.js');

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    data: { type: 'string', default: resolve(ROOT, '../shared/data/ton_iot/ton_iot_network.dev.csv.gz') },
    dataset: { type: 'string', default: 'toniot' },
    strategies: { type: 'string', default: 'fedavg,fedprox,fedadam,fedyogi,fedadagrad,fedavgm' },
    alphas: { type: 'string', default: '0.1,0.5,iid' },
    seeds: { type: 'string', default: '1,2,3' },
    clients: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '20' },
    epochs: { type: 'string' },
    params: { type: 'string', default: '{}' },
    set: { type: 'string', default: '{}' },
    tag: { type: 'string', default: '' },
    'sample-rows': { type: 'string', default: '0' },
    'run-timeout-minutes': { type: 'string', default: '180' },
    'dp-clip': { type: 'string' },
    epsilons: { type: 'string' },
    'skip-centralized': { type: 'boolean', default: false },
  },
});
const say = (line: string) => process.stderr.write(`sweep: ${line}\n`);
if (!a.out) {
  say('--out DIR is required (see the docblock of bench/sweep.ts)');
  process.exit(2);
}
const out = resolve(a.out);
const runsDir = join(out, 'runs');
mkdirSync(runsDir, { recursive: true });
const strategies = parseStrategies(a.strategies);
const partitions = parsePartitions(a.alphas);
const seeds = parseSeeds(a.seeds);
const params = parseStrategyParams(a.params);
const variant = JSON.parse(a.set) as Record<string, unknown>;
if (typeof variant !== 'object' || variant === null || Array.isArray(variant)) {
  say(`--set must be a JSON object of experiment keys, got ${a.set}`);
  process.exit(2);
}
const tag = a.tag;
if (!/^[a-z0-9.-]*$/.test(tag)) {
  say(`--tag must be lower-case letters, digits, dots and dashes, got ${tag}`);
  process.exit(2);
}
if (Object.keys(variant).length > 0 && tag === '') {
  say('--set needs a --tag naming the variant (its runs must not be mistaken for the defaults)');
  process.exit(2);
}
/**
 * The runs' variants: the --set/--tag one, or with --epsilons one per ε (client-level DP, server noise):
 * privacy {clipNorm: --dp-clip, targetEpsilon: ε} (the ledger calibrates z so the planned rounds end at or
 * below ε at δ = 1e-5), and noise 0 for "inf" (clipping only); each tagged "<tag>eps-<ε>".
 */
const variants: { tag: string; set: Record<string, unknown>; epsilon?: number }[] = [];
if (a.epsilons) {
  const clip = Number(a['dp-clip']);
  if (!(clip > 0 && Number.isFinite(clip))) {
    say(`--epsilons needs --dp-clip C (a number > 0), got ${a['dp-clip']}`);
    process.exit(2);
  }
  for (const raw of a.epsilons.split(',')) {
    const t = raw.trim().toLowerCase();
    const eps = t === 'inf' ? Number.POSITIVE_INFINITY : Number(t);
    if (!(eps > 0)) {
      say(`--epsilons: expected numbers > 0 or "inf", got ${raw}`);
      process.exit(2);
    }
    const privacy = Number.isFinite(eps)
      ? { clipNorm: clip, targetEpsilon: eps, delta: 1e-5 }
      : { clipNorm: clip, noiseMultiplier: 0, delta: 1e-5 };
    variants.push({ tag: `${tag ? `${tag}-` : ''}eps-${t}`, set: { ...variant, privacy }, epsilon: eps });
  }
} else variants.push({ tag, set: variant });
const clients = Number(a.clients);
const rounds = Number(a.rounds);
const sampleRows = Number(a['sample-rows']);
const timeoutMs = Number(a['run-timeout-minutes']) * 60_000;
const plan = sweepPlan(strategies, partitions, seeds);

/** A seeded sample of `n` data lines (the header kept), for smoke runs: drawn before import and split. */
function sampledData(file: string, n: number): string {
  const target = join(out, `data-sample-${n}.csv.gz`);
  if (existsSync(target)) return target;
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  const header = lines[0]!;
  const body = lines.slice(1).filter((l) => l.trim() !== '');
  const rng = new Rng(20261127);
  for (let i = body.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [body[i], body[j]] = [body[j]!, body[i]!];
  }
  writeFileSync(target, gzipSync(`${[header, ...body.slice(0, n)].join('\n')}\n`));
  say(`sampled ${Math.min(n, body.length)} of ${body.length} data lines into ${target}`);
  return target;
}

const data = sampleRows > 0 ? sampledData(resolve(a.data), sampleRows) : resolve(a.data);

/** Runs `pqfed <args> --json`, passing its progress through; resolves with its JSON report. */
function pqfed(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [PQFED, ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (code !== 0) {
        fail(new Error(`pqfed ${args[0]} exited with ${code ?? signal}; stdout: ${text.slice(0, 500)}`));
        return;
      }
      ok(JSON.parse(text) as Record<string, unknown>);
    });
  });
}

/** The run's report: from runs/<key>.json when a previous sweep made it, else by running it. */
async function cached(key: string, run: () => Promise<Record<string, unknown>>) {
  const file = join(runsDir, `${key}.json`);
  if (existsSync(file)) {
    say(`${key}: already in ${file}`);
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  }
  const t0 = Date.now();
  say(`${key}: running`);
  const report = await run();
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  say(`${key}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return report;
}

interface SimulateJson {
  rows: { train: number; test: number };
  final: { accuracy: number; macroF1: number; perClassRecall: Record<string, number> } & {
    majorityBaseline: { accuracy: number; macroF1: number };
  };
}
interface TrainJson {
  rows: { train: number; test: number };
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { recall: number }>;
  majorityBaseline: { accuracy: number; macroF1: number };
}

const t0 = Date.now();
const centralRuns: RunResult[] = [];
/** Train and test row counts of the centralized run per seed: every federated run must have the same split. */
const splitOf = new Map<number, string>();
for (const { seed } of a['skip-centralized'] ? [] : plan.centralized) {
  const r = (await cached(runKey('centralized', null, seed), () =>
    pqfed([
      'train',
      '--dataset',
      a.dataset,
      '--data',
      data,
      '--seed',
      String(seed),
      ...(a.epochs ? ['--epochs', a.epochs] : []),
    ]),
  )) as unknown as TrainJson;
  splitOf.set(seed, `${r.rows.train} train / ${r.rows.test} test rows`);
  centralRuns.push({
    seed,
    accuracy: r.accuracy,
    macroF1: r.macroF1,
    perClassRecall: Object.fromEntries(Object.entries(r.perClass).map(([c, m]) => [c, m.recall])),
    majorityBaseline: r.majorityBaseline,
  });
}

/** What the DP runs spent: ε at δ, z and C of each run (from `privacy` in its report). */
interface PrivacyJson {
  epsilon: number | null;
  noiseMultiplier?: number | null;
  clipNorm?: number;
}
const fedRuns = new Map<
  string,
  {
    strategy: (typeof strategies)[number];
    partition: SweepPartition;
    tag: string;
    runs: RunResult[];
    privacy: PrivacyJson[];
  }
>();
for (const v of variants) {
  for (const { strategy, partition, seed } of plan.federated) {
    const key = `${v.tag ? `${v.tag}-` : ''}${runKey(strategy, partition, seed)}`;
    const r = (await cached(key, () => {
      const expFile = join(runsDir, `${key}.exp.json`);
      const experiment = {
        dataset: a.dataset,
        data,
        strategy,
        strategyParams: params[strategy] ?? {},
        seed,
        rounds,
        clients,
        partition,
        ...v.set,
      };
      writeFileSync(expFile, `${JSON.stringify(experiment, null, 2)}\n`);
      return pqfed(['simulate', '--config', expFile]);
    })) as unknown as SimulateJson & { privacy: PrivacyJson };
    const split = `${r.rows.train} train / ${r.rows.test} test rows`;
    if (splitOf.has(seed) && split !== splitOf.get(seed)) {
      throw new Error(
        `${key}: expected the centralized split of seed ${seed} (${splitOf.get(seed)}), got ${split}`,
      );
    }
    const group = `${v.tag}/${runKey(strategy, partition, 0)}`;
    if (!fedRuns.has(group)) fedRuns.set(group, { strategy, partition, tag: v.tag, runs: [], privacy: [] });
    fedRuns.get(group)!.runs.push({
      seed,
      accuracy: r.final.accuracy,
      macroF1: r.final.macroF1,
      perClassRecall: r.final.perClassRecall,
      majorityBaseline: r.final.majorityBaseline,
    });
    fedRuns.get(group)!.privacy.push(r.privacy);
  }
}

const rows: (SweepRow & { privacy?: PrivacyJson[] })[] = [
  ...(centralRuns.length ? [summarise('centralized', null, centralRuns)] : []),
  ...[...fedRuns.values()].map((g) => {
    const row = summarise(g.strategy, g.partition, g.runs);
    const dp = g.privacy.some((p) => p && 'noiseMultiplier' in p) ? { privacy: g.privacy } : {};
    return { ...(g.tag ? { ...row, label: `${row.label} [${g.tag}]` } : row), ...dp };
  }),
];
/** With DP: ε reached and z per row (the mean over its seeds; ε null = ∞). */
const privacyLines = rows
  .filter((r) => r.privacy)
  .map((r) => {
    const ps = r.privacy!;
    const eps = ps.map((p) => p.epsilon);
    const z = ps.map((p) => p.noiseMultiplier ?? 0);
    const epsText = eps.every((e) => e === null)
      ? '∞'
      : eps.map((e) => (e === null ? '∞' : e.toFixed(3))).join(', ');
    return `| ${r.label} | ${epsText} | ${z.map((x) => x.toFixed(4)).join(', ')} | ${ps[0]!.clipNorm ?? '–'} |`;
  });
const args = { ...a, data, clients, rounds, seeds, sampleRows, variant, variants };
const name =
  variants.length > 1 || variants[0]!.tag ? `sweep-${variants.map((v) => v.tag).join('+')}` : 'sweep';
writeFileSync(join(out, `${name}.json`), `${JSON.stringify({ args, plan, rows }, null, 1)}\n`);
const md =
  `# Strategy sweep\n\n${clients} clients, ${rounds} rounds, seeds ${seeds.join(', ')}, data ${data}` +
  `${sampleRows > 0 ? ` (sample of ${sampleRows} lines)` : ''}; centralized: \`pqfed train\` on the same split.\n\n` +
  markdownTable(rows) +
  (privacyLines.length
    ? `\n| configuration | ε reached at δ = 1e-5 (per seed) | noise multiplier z (per seed) | clip C |\n| --- | --- | --- | --- |\n${privacyLines.join('\n')}\n`
    : '');
writeFileSync(join(out, `${name}.md`), md);
process.stdout.write(md);
say(
  `${variants.length * plan.federated.length + centralRuns.length} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s; wrote ${out}/${name}.{json,md}`,
);
