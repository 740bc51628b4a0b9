/**
 * An experiment: one JSON file (`pqfed serve --config experiment.json`, `pqfed simulate --config …`) that
 * fixes everything a run depends on, so that the same file and seed give the same federation. Every key is
 * optional; missing keys take the defaults below (the `npm start` classroom default on the embedded TON_IoT
 * sample; `pqfed simulate` has its own defaults for some, see src/cli/simulate.ts), and command-line flags
 * override the file.
 *
 * `experimentFileSchema` (zod 4) is the one definition of what the file may hold: it validates files, flags
 * (src/cli/options.ts) and the admin API's changes, and `docs/experiment.schema.json` is generated from it
 * (`z.toJSONSchema`, `npx tsx scripts/experiment-schema.ts --write`) so editors complete and check the file.
 * src/aggregator/config-file.ts reads a file and places every problem at its line and column.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { HOSTILE, LIMITS, PROTOCOL, SECAGG } from '../core/limits.ts';
import { PRIVACY_KEY_BOUNDS as PK, privateStrategyProblem } from '../core/privacy/ledger.ts';
import {
  SECURE_AGGREGATION_DEFAULTS,
  type SecureAggregationSettings,
  secureStrategyProblem,
} from '../core/round/secure-round.ts';
import { GRAPH_PARAM_BOUNDS } from '../core/secagg/graph.ts';
import { STRATEGY_NAMES, type StrategyName, type StrategyParams } from '../core/strategies/index.ts';
import { KEM_SUITES, type KemSuite } from '../crypto/suites.ts';
import { DATASET_IDS, type DatasetId, type LabelLevel } from '../data/schema.ts';
import { weakSecret } from './secret-strength.ts';

export interface ExperimentConfig {
  dataset: DatasetId;
  /** CSV or .csv.gz of the experiment's data; default: the embedded TON_IoT sample. */
  data: string;
  /** Optional separate test file; without it the data is split (grouped, seeded) like `pqfed train`. */
  test: string | null;
  labels: LabelLevel;
  testFraction: number;
  /** Use at most this many training rows and test rows (seeded sample); 0 = all. */
  maxTrainRows: number;
  maxTestRows: number;
  model: { dModel: number; heads: number; ffDim: number; convLayers: number; mosWeight: number };
  strategy: StrategyName;
  strategyParams: StrategyParams;
  rounds: number;
  clientsPerRound: { fraction: number; min: number; max: number };
  /** Updates needed to aggregate a round. */
  quorum: number;
  roundDeadlineSeconds: number;
  /** A round that misses its quorum by the deadline: `retry` it with a new selection, or `close` it unchanged. */
  onQuorumMiss: 'retry' | 'close';
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  /** The clients' learning rate over the rounds: constant, or cosine decay to 5 % by the last round. */
  learningRateDecay: 'none' | 'cosine';
  /** FedProx μ (used when the strategy is fedprox). */
  proxMu: number;
  seed: number;
  /** How browser clients get a shard of the training data: Dirichlet(α) over classes, or IID. */
  partition: { kind: 'dirichlet'; alpha: number } | { kind: 'iid' };
  /** Number of shards the training data is cut into for browser clients. */
  shards: number;
  /** Start rounds as soon as enough clients are connected (otherwise wait for the admin's start). */
  autoStart: boolean;
  /** A class code or experiment token every client must send in its hello; null = open to anyone. */
  joinToken: string | null;
  /** Browser origins allowed to open the WebSocket besides the server's own (e.g. "https://lab.example"). */
  allowedOrigins: string[];
  /** Client-level differential privacy with server-side noise (docs/differential-privacy.md); null = off. */
  privacy: PrivacyFile | null;
  /** Secure aggregation, SecAgg+ (docs/secure-aggregation.md): the server sees only the sum; null = off. */
  secureAggregation: SecureAggregationSettings | null;
}

/** The settings of secure aggregation (the `secureAggregation` key; `true` = the round core's defaults). */
export type { SecureAggregationSettings };

export const EMBEDDED_SAMPLE = resolve(
  fileURLToPath(new URL('../../public/data/ton_iot_network.sample.csv.gz', import.meta.url)),
);

export const DEFAULT_EXPERIMENT: ExperimentConfig = {
  dataset: 'toniot',
  data: EMBEDDED_SAMPLE,
  test: null,
  labels: 'fine',
  testFraction: 0.2,
  maxTrainRows: 0,
  maxTestRows: 4000,
  model: { dModel: 32, heads: 2, ffDim: 64, convLayers: 2, mosWeight: 0.5 },
  strategy: 'fedavg',
  strategyParams: {},
  rounds: 50,
  clientsPerRound: { fraction: 1, min: 2, max: 100 },
  quorum: 2,
  roundDeadlineSeconds: 120,
  onQuorumMiss: 'retry',
  localEpochs: 1,
  /** 32: the issue-15 sweep (README, Federated results): macro-F1 0.899 against 0.888 at 128, same bytes. */
  batchSize: 32,
  learningRate: 3e-3,
  learningRateDecay: 'cosine',
  proxMu: 0.01,
  seed: 1,
  partition: { kind: 'dirichlet', alpha: 0.5 },
  shards: 30,
  autoStart: true,
  joinToken: null,
  allowedOrigins: [],
  privacy: null,
  secureAggregation: null,
};

/** One thing wrong with an experiment: where (a key path, and in a file its line and column) and what. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
  /** 1-based, where the problem was found in a file. */
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** Every problem found (a file reports them all at once). */
    readonly problems: ConfigProblem[] = [],
  ) {
    super(message);
  }
}

// ---- the schema: the one definition of an experiment file ---------------------------------------------

const show = (n: number) =>
  Math.abs(n) >= 1e6 && Number.isInteger(Math.log10(n)) ? `1e${Math.log10(n)}` : String(n);

/** An integer in [min, max]; every failed check says the same sentence. */
function int(min: number, max: number) {
  const error = `must be an integer from ${show(min)} to ${show(max)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A finite number in [min, max]. */
function num(min: number, max: number) {
  const error = `must be a number from ${show(min)} to ${show(max)}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

function oneOf<const T extends string>(values: readonly T[]) {
  return z.enum(values as [T, ...T[]], { error: `must be one of ${values.join(', ')}` });
}

const text = (max = 4096) => {
  const error = `must be a non-empty string of at most ${max} characters`;
  return z.string({ error }).min(1, { error }).max(max, { error });
};

const ORIGIN = /^https?:\/\/[^/\s]+$/;

export const LABEL_LEVELS = ['fine', 'category', 'binary'] as const satisfies readonly LabelLevel[];

/** Dirichlet concentration α: any finite number > 0 (small α = skewed shards). */
export const alphaSchema = z
  .number({ error: 'must be a number > 0' })
  .positive({ error: 'must be a number > 0' })
  .describe('Dirichlet concentration α over classes (> 0; small = skewed); default 0.5');

const d = (serve: unknown, simulate?: unknown) =>
  simulate === undefined ? `; default ${serve}` : `; default ${serve} (pqfed simulate: ${simulate})`;

/** The `privacy` key: DP-FedAvg's clip norm and noise, or a target ε (docs/differential-privacy.md). */
const privacySchema = z
  .strictObject({
    clipNorm: num(PK.clipNorm.min, PK.clipNorm.max).describe(
      "C: every update is clipped to this L2 norm (the first round's, with adaptive clipping); required",
    ),
    noiseMultiplier: num(PK.noiseMultiplier.min, PK.noiseMultiplier.max).describe(
      'z: the server adds Gaussian noise of std z·C to the sum of updates; absent: calibrated from targetEpsilon',
    ),
    targetEpsilon: num(PK.targetEpsilon.min, PK.targetEpsilon.max).describe(
      'Stop before ε at delta would exceed this; absent: no stop (ε is still reported)',
    ),
    delta: num(PK.delta.min, PK.delta.max).describe('δ of the (ε, δ) guarantee; default 1e-5'),
    clipQuantile: num(0.01, 0.99).describe(
      'Adaptive clipping (Andrew et al. 2021): the quantile of update norms C follows; absent: C fixed',
    ),
    clipLearningRate: num(0.001, 1).describe(
      'Adaptive clipping: geometric step η_C of C per round; default 0.2',
    ),
  })
  .partial();

/** The `secureAggregation` key: true, false, or its settings (docs/secure-aggregation.md). */
const secureAggregationSchema = z.union(
  [
    z.boolean(),
    z
      .strictObject({
        clip: num(1e-6, 1e6).describe(
          'C: every element of an update is clipped to [−C, C] before quantization; default 1',
        ),
        dropoutFraction: num(GRAPH_PARAM_BOUNDS.delta.min, GRAPH_PARAM_BOUNDS.delta.max).describe(
          'δ: share of members that may drop out with the sum still exact (sets the neighbour graph); default 0.2',
        ),
      })
      .partial(),
  ],
  { error: 'must be true, false or {"clip", "dropoutFraction"}' },
);

/** The `privacy` key as written (every field optional; checked across keys by `crossProblems`). */
export type PrivacyFile = z.infer<typeof privacySchema>;

export const experimentFileSchema = z
  .strictObject({
    $schema: z.string().describe('The JSON Schema of this file, for editors (ignored by pqfed)'),
    dataset: oneOf(DATASET_IDS).describe(`Dataset of the data file${d('toniot', 'required')}`),
    data: text().describe(
      `CSV or .csv.gz file, relative to this file${d('the embedded TON_IoT sample', 'required')}`,
    ),
    test: text()
      .nullable()
      .describe('Separate test file, relative to this file; null = split the data (grouped, seeded)'),
    labels: oneOf(LABEL_LEVELS).describe(`Label level${d('fine')}`),
    testFraction: num(0.01, 0.9).describe(`Share of the data held out for testing${d(0.2)}`),
    maxTrainRows: int(0, 1e9).describe(`At most this many training rows (seeded sample), 0 = all${d(0)}`),
    maxTestRows: int(0, 1e9).describe(`At most this many test rows, 0 = all${d(4000, 0)}`),
    model: z
      .strictObject({
        dModel: int(2, 1024).describe('Width of the attention block; default 32'),
        heads: int(1, 64).describe('Attention heads (dModel must be a multiple); default 2'),
        ffDim: int(1, 8192).describe('Feed-forward width; default 64'),
        convLayers: int(0, 16).describe('Convolutional stem layers; default 2'),
        mosWeight: num(0, 100).describe('Weight of the QoE (MOS) loss; default 0.5'),
      })
      .partial()
      .describe('The multi-task model'),
    strategy: oneOf(STRATEGY_NAMES).describe(`Aggregation strategy${d('fedavg')}`),
    strategyParams: z
      .strictObject({
        proxMu: num(0, 1e3).describe('FedProx μ'),
        serverLearningRate: num(1e-9, 100).describe(
          'Server learning rate η (fedadam, fedyogi: default 0.01; fedadagrad: 0.1; fedavgm: 1)',
        ),
        beta1: num(0, 0.999999).describe('First-moment decay β1 (fedadam, fedyogi, fedadagrad); default 0.9'),
        beta2: num(0, 0.999999).describe('Second-moment decay β2 (fedadam, fedyogi); default 0.99'),
        tau: num(1e-12, 1).describe('Adaptivity τ (fedadam, fedyogi, fedadagrad); default 0.001'),
        serverMomentum: num(0, 0.999999).describe('Server momentum β (fedavgm); default 0.9'),
        dynAlpha: num(1e-6, 1e3).describe('Dynamic regularisation α (feddyn); default 0.01'),
        trimFraction: num(0, 0.49).describe('Trimmed mean: share cut at each end'),
        byzantine: int(0, 1000).describe('Krum: tolerated Byzantine clients'),
        multiKrumSelect: int(1, 10_000).describe('Multi-Krum: updates averaged'),
      })
      .partial()
      .describe("The strategy's parameters (the strategy's own defaults where absent)"),
    rounds: int(1, PROTOCOL.maxRounds).describe(`Rounds${d(50, 20)}`),
    clientsPerRound: z
      .strictObject({
        fraction: num(0.001, 1).describe(`Share of ready clients selected per round${d(1, 0.5)}`),
        min: int(1, PROTOCOL.maxClients).describe(`At least this many${d(2, 1)}`),
        max: int(1, PROTOCOL.maxClients).describe(`At most this many${d(100, 'clients')}`),
      })
      .partial(),
    quorum: int(1, PROTOCOL.maxClients).describe(`Updates needed to aggregate a round${d(2, 1)}`),
    roundDeadlineSeconds: num(0.1, PROTOCOL.maxDeadlineMs / 1000).describe(`Round deadline${d(120, 600)}`),
    onQuorumMiss: oneOf(['retry', 'close'] as const).describe(
      `A round that misses its quorum: retry with a new selection, or close it unchanged${d('retry')}`,
    ),
    localEpochs: int(1, PROTOCOL.maxLocalEpochs).describe(`Local epochs per round${d(1)}`),
    batchSize: int(1, PROTOCOL.maxBatchSize).describe(`Local batch size${d(32)}`),
    learningRate: num(1e-7, 10).describe(`Clients' Adam learning rate${d(0.003)}`),
    learningRateDecay: oneOf(['none', 'cosine'] as const).describe(
      `Learning rate over the rounds (cosine: to 5 % by the last)${d('cosine')}`,
    ),
    proxMu: num(0, 1e3).describe(`FedProx μ (strategy fedprox)${d(0.01)}`),
    seed: int(0, 2 ** 31 - 1).describe(`Seed of the split, shards, selection and model${d(1)}`),
    partition: z
      .discriminatedUnion(
        'kind',
        [
          z.strictObject({ kind: z.literal('dirichlet'), alpha: alphaSchema.optional() }),
          z.strictObject({ kind: z.literal('iid') }),
        ],
        { error: 'must be one of dirichlet, iid' },
      )
      .describe(`How the training rows are cut into shards${d('{"kind": "dirichlet", "alpha": 0.5}')}`),
    shards: int(1, PROTOCOL.maxClients).describe(`Shards for browser clients${d('clients, else 30')}`),
    clients: int(1, LIMITS.maxSimulatedClients).describe(
      `Devices of the run: pqfed simulate starts this many clients; pqfed serve cuts this many shards unless "shards" is given${d('none', 10)}`,
    ),
    suite: oneOf(KEM_SUITES).describe(`Key-exchange suite of the channel${d('xwing')}`),
    autoStart: z
      .boolean({ error: 'must be true or false' })
      .describe(`Start rounds as soon as enough clients are connected${d(true, false)}`),
    joinToken: text(PROTOCOL.maxTokenChars)
      .nullable()
      .describe('Class code every client must send (never in a URL); null = open'),
    allowedOrigins: z
      .array(z.string().regex(ORIGIN, { error: 'must look like https://host[:port]' }), {
        error: 'must be a list of origins',
      })
      .describe("Browser origins allowed to open /ws besides the server's own"),
    privacy: privacySchema
      .nullable()
      .describe(
        'Client-level differential privacy, server-side noise (docs/differential-privacy.md); null = off',
      ),
    secureAggregation: secureAggregationSchema.describe(
      'Secure aggregation, SecAgg+ with ML-KEM-768 and ML-DSA-65 (docs/secure-aggregation.md): the server learns only the sum of the updates; default false',
    ),
  })
  .partial()
  .describe('A PQFed experiment (pqfed serve --config, pqfed simulate --config)');

/** What an experiment file holds (every key optional). */
export type ExperimentFile = z.infer<typeof experimentFileSchema>;
/** The keys of an experiment file that are not part of the aggregator's config. */
export interface RunSettings {
  clients?: number;
  suite?: KemSuite;
}

/** `a.b[0]` */
export function keyPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const shown = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

function knownKeys(path: readonly PropertyKey[], raw: unknown): string[] {
  let s: z.ZodType = experimentFileSchema;
  let depth = 0;
  const unwrap = () => {
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    // a tagged union: the variant the value's tag names (`partition` by its `kind`)
    if (s instanceof z.ZodDiscriminatedUnion) {
      const tag = valueAt(raw, path.slice(0, depth)) as Record<string, unknown> | undefined;
      const key = s._zod.def.discriminator;
      const options = s.options as z.ZodObject[];
      s =
        options.find((o) => (o.shape[key] as z.ZodLiteral).value === tag?.[key]) ?? (options[0] as z.ZodType);
    }
  };
  for (const p of path) {
    unwrap();
    if (!(s instanceof z.ZodObject)) return [];
    s = (s.shape as Record<string, z.ZodType>)[String(p)]!;
    if (!s) return [];
    depth++;
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return row[b.length]!;
}

/** Every problem of an experiment object, in the order zod found them; unknown keys one by one. */
export function experimentProblems(raw: unknown): {
  value: ExperimentFile | null;
  problems: ConfigProblem[];
} {
  const r = experimentFileSchema.safeParse(raw);
  if (r.success) return { value: r.data, problems: [] };
  const problems: ConfigProblem[] = [];
  for (const issue of r.error.issues) {
    const path = issue.path as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(path, raw);
      for (const key of issue.keys) {
        const near = known
          .map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const)
          .sort((a, b) => a[1] - b[1])[0];
        const hint =
          near && near[1] <= Math.max(1, Math.floor(key.length / 3))
            ? `; did you mean "${near[0]}"?`
            : ` (known: ${known.filter((k) => k !== '$schema').join(', ')})`;
        problems.push({ path: [...path, key], message: `unknown key${hint}` });
      }
      continue;
    }
    if (path.length === 0) {
      problems.push({ path, message: `must be a JSON object, got ${shown(raw)}` });
      continue;
    }
    const v = valueAt(raw, path);
    problems.push({
      path,
      message: v === undefined ? `is missing: it ${issue.message}` : `${issue.message}, got ${shown(v)}`,
    });
  }
  return { value: null, problems };
}

/** One line: every problem, `"key" message`, joined with "; ". */
export function problemsLine(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `"${keyPath(p.path)}" ${p.message}`).join('; ');
}

/** `base` with the keys of `f` applied (objects key by key; `strategyParams` and `partition` whole). */
export function applyExperiment(base: ExperimentConfig, f: ExperimentFile): ExperimentConfig {
  const c: ExperimentConfig = structuredClone(base);
  const {
    $schema: _s,
    model,
    clientsPerRound,
    partition,
    clients,
    suite: _suite,
    privacy,
    secureAggregation,
    ...plain
  } = f;
  for (const [k, v] of Object.entries(plain)) {
    if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = structuredClone(v);
  }
  if (model) Object.assign(c.model, model);
  if (clientsPerRound) Object.assign(c.clientsPerRound, clientsPerRound);
  if (partition) {
    c.partition =
      partition.kind === 'iid' ? { kind: 'iid' } : { kind: 'dirichlet', alpha: partition.alpha ?? 0.5 };
  }
  if (clients !== undefined && f.shards === undefined) c.shards = clients;
  // Key by key, so that `--dp-noise` on the command line keeps the file's clip norm.
  if (privacy !== undefined)
    c.privacy = privacy === null ? null : { ...c.privacy, ...structuredClone(privacy) };
  if (secureAggregation === false) c.secureAggregation = null;
  else if (secureAggregation !== undefined) {
    c.secureAggregation = {
      ...SECURE_AGGREGATION_DEFAULTS,
      ...c.secureAggregation,
      ...(secureAggregation === true ? {} : secureAggregation),
    };
  }
  return c;
}

/** Checks across keys, on the resolved config (a file, flags and defaults together). */
export function crossProblems(c: ExperimentConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const { min, max } = c.clientsPerRound;
  if (min > max) {
    out.push({
      path: ['clientsPerRound', 'min'],
      message: `(${min}) must not exceed clientsPerRound.max (${max})`,
    });
  }
  if (c.quorum > max) {
    out.push({
      path: ['quorum'],
      message: `(${c.quorum}) can never be met with at most ${max} clients per round (clientsPerRound.max)`,
    });
  }
  const weak = c.joinToken === null ? null : weakSecret(c.joinToken, HOSTILE.minJoinTokenChars, '');
  if (weak) out.push({ path: ['joinToken'], message: weak.trim() });
  out.push(...privacyProblems(c));
  out.push(...secureAggregationProblems(c));
  if (c.model.dModel % c.model.heads !== 0) {
    out.push({
      path: ['model', 'dModel'],
      message: `(${c.model.dModel}) must be a multiple of model.heads (${c.model.heads})`,
    });
  }
  return out;
}

/** What a `privacy` key needs besides its fields' ranges: a clip norm, a noise or a target, a mean strategy. */
function privacyProblems(c: ExperimentConfig): ConfigProblem[] {
  const p = c.privacy;
  if (!p) return [];
  const out: ConfigProblem[] = [];
  if (p.clipNorm === undefined) {
    out.push({
      path: ['privacy', 'clipNorm'],
      message: 'is missing: differential privacy needs a clip norm C',
    });
  }
  if (p.noiseMultiplier === undefined && p.targetEpsilon === undefined) {
    out.push({ path: ['privacy'], message: 'needs noiseMultiplier or targetEpsilon (or both)' });
  }
  const strategy = privateStrategyProblem(c.strategy);
  if (strategy) out.push({ path: ['strategy'], message: strategy });
  return out;
}

/** What secure aggregation cannot carry: strategies that need single updates, and (for now) more. */
function secureAggregationProblems(c: ExperimentConfig): ConfigProblem[] {
  if (!c.secureAggregation) return [];
  const out: ConfigProblem[] = [];
  const refusal = secureStrategyProblem(c.strategy);
  if (refusal) out.push({ path: ['strategy'], message: `cannot run with secureAggregation: ${refusal}` });
  if (c.clientsPerRound.max < SECAGG.minMembers) {
    out.push({
      path: ['clientsPerRound', 'max'],
      message: `(${c.clientsPerRound.max}) must be at least ${SECAGG.minMembers} with secureAggregation (the sum of 2 reveals each to the other)`,
    });
  }
  if (c.privacy?.clipQuantile !== undefined) {
    out.push({
      path: ['privacy', 'clipQuantile'],
      message:
        'cannot be combined with secureAggregation: adaptive clipping needs the count of unclipped updates, which the sum hides; use a fixed clipNorm (the noise is then distributed, docs/differential-privacy.md)',
    });
  }
  return out;
}

/** Validates a config object (unknown keys are refused, so that a typo is not silently ignored). */
export function parseConfig(raw: unknown, base: ExperimentConfig = DEFAULT_EXPERIMENT): ExperimentConfig {
  const { value, problems } = experimentProblems(raw);
  if (!value) throw new ConfigError(`config: ${problemsLine(problems)}`, problems);
  const c = applyExperiment(base, value);
  const cross = crossProblems(c);
  if (cross.length) throw new ConfigError(`config: ${problemsLine(cross)}`, cross);
  return c;
}

/** Where the JSON Schema generated from `experimentFileSchema` is committed (editors read it via `$schema`). */
export const EXPERIMENT_SCHEMA_PATH = 'docs/experiment.schema.json';

/** The experiment file's JSON Schema (draft 2020-12), generated from the zod schema: the text committed. */
export function experimentJsonSchemaText(): string {
  const schema = z.toJSONSchema(experimentFileSchema, { target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'PQFed experiment' }, null, 2)}\n`;
}
