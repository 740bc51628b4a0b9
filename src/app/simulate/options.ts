/**
 * The in-tab federation's settings: what the form and the URL (`/simulate?clients=4&rounds=3&configs=
 * fedavg:0.1,median:iid`) can set, their defaults and bounds, and how a configuration (strategy and
 * partition) is written. Pure; no DOM.
 */
import { PRIVACY_KEY_BOUNDS, type PrivacyKey, privateStrategyProblem } from '../../core/privacy/ledger.ts';
import { isStrategyName, STRATEGY_NAMES, type StrategyName } from '../../core/strategies/strategy.ts';
import type { KemSuite } from '../../crypto/suites.ts';
import type { Partition } from '../../data/shard.ts';
import { ENGINES, type EngineChoice } from '../../engine/choice.ts';
import { SECURE_MIN_CLIENTS, secureProblem } from './secure-federation.ts';

/** The embedded TON_IoT sample, same-origin (src/aggregator/experiment.ts's EMBEDDED_SAMPLE_URL). */
export const SAMPLE_URL = '/data/ton_iot_network.sample.csv.gz';

/** One configuration to compare: a strategy on a partition of the same training rows. */
export interface ConfigSpec {
  strategy: StrategyName;
  partition: Partition;
}

export type ModelSize = 'standard' | 'small';
export type SimBackend = 'wasm' | 'cpu' | 'webgpu';

export interface SimOptions {
  /** Virtual clients; every one trains in every round. */
  clients: number;
  rounds: number;
  configs: ConfigSpec[];
  /** Caps on the sample's training and test rows (seeded sample), as in the experiment config. */
  maxTrainRows: number;
  maxTestRows: number;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  model: ModelSize;
  backend: SimBackend;
  /**
   * The clients' training engine, as the client page's `?engine=`: auto (the fused WASM engine on the WASM
   * and CPU backends, tfjs on WebGPU), tfjs, fused-wasm or fused-webgpu (tfjs when it cannot run).
   */
  engine: EngineChoice;
  suite: KemSuite;
  /** Test hook: flip one byte of one client's sealed envelope in round 2 (the aggregator must refuse it). */
  tamper: boolean;
  /** Start at once (the URL's `run=1`). */
  autorun: boolean;
  /**
   * Client-level DP, as `pqfed serve`'s `privacy` key (a clip norm, and a noise multiplier or a target ε;
   * δ 1e-5 when absent); null: off. The aggregator adds the noise, or with secure aggregation the clients do.
   */
  privacy: PrivacyOptions | null;
  /** Secure aggregation (SecAgg+, the URL's `secagg=1`): the in-tab aggregator sees only the sum. */
  secureAggregation: boolean;
}

/** The in-tab federation's DP settings (the experiment's `privacy` key without adaptive clipping). */
export type PrivacyOptions = Pick<PrivacyKey, 'clipNorm' | 'noiseMultiplier' | 'targetEpsilon' | 'delta'>;

export const MODEL_SIZES: Record<
  ModelSize,
  { dModel: number; heads: number; ffDim: number; convLayers: number }
> = {
  /** The aggregator's default model (DEFAULT_EXPERIMENT.model). */
  standard: { dModel: 32, heads: 2, ffDim: 64, convLayers: 2 },
  /** About a quarter of the parameters: quick rounds on a slow machine. */
  small: { dModel: 16, heads: 2, ffDim: 32, convLayers: 1 },
};

export const DEFAULT_CONFIGS: readonly ConfigSpec[] = Object.freeze([
  { strategy: 'fedavg', partition: { kind: 'dirichlet', alpha: 0.1 } },
  { strategy: 'fedavg', partition: { kind: 'dirichlet', alpha: 1 } },
] as ConfigSpec[]);

export const DEFAULT_OPTIONS: Readonly<SimOptions> = Object.freeze({
  clients: 4,
  rounds: 5,
  configs: [...DEFAULT_CONFIGS],
  maxTrainRows: 4000,
  maxTestRows: 800,
  localEpochs: 1,
  batchSize: 64,
  learningRate: 3e-3,
  seed: 1,
  model: 'standard',
  backend: 'wasm',
  engine: 'auto',
  suite: 'xwing',
  tamper: false,
  autorun: false,
  privacy: null,
  secureAggregation: false,
});

/** Integer and number bounds of every numeric setting (the form uses them as min/max too). */
export const BOUNDS = {
  clients: { min: 1, max: 64 },
  rounds: { min: 1, max: 200 },
  maxTrainRows: { min: 100, max: 200_000 },
  maxTestRows: { min: 50, max: 50_000 },
  localEpochs: { min: 1, max: 20 },
  batchSize: { min: 8, max: 1024 },
  learningRate: { min: 1e-5, max: 1 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  alpha: { min: 0.001, max: 1000 },
  configs: { max: 8 },
} as const;

export const STRATEGY_LABELS: Record<StrategyName, string> = {
  fedavg: 'FedAvg',
  fedprox: 'FedProx',
  fedadam: 'FedAdam',
  fedyogi: 'FedYogi',
  fedadagrad: 'FedAdagrad',
  fedavgm: 'FedAvgM',
  feddyn: 'FedDyn',
  median: 'Median',
  'trimmed-mean': 'Trimmed mean',
  krum: 'Krum',
  'multi-krum': 'Multi-Krum',
};

export class OptionError extends Error {
  override name = 'OptionError';
}

/** The URL parameter of each DP setting: the names of `pqfed serve`'s flags. */
export const PRIVACY_PARAM = {
  clipNorm: 'dp-clip',
  noiseMultiplier: 'dp-noise',
  targetEpsilon: 'target-epsilon',
  delta: 'delta',
} as const satisfies Record<keyof PrivacyOptions, string>;

const PRIVACY_KEYS = Object.keys(PRIVACY_PARAM) as (keyof PrivacyOptions)[];

/** One DP number, in the range the experiment file accepts for it. */
export function checkPrivacyNumber(key: keyof PrivacyOptions, raw: string | number): number {
  const v = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
  const { min, max } = PRIVACY_KEY_BOUNDS[key];
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new OptionError(`${PRIVACY_PARAM[key]}: expected a number in [${min}, ${max}], got ${String(raw)}`);
  }
  return v;
}

/**
 * What DP needs besides its numbers' ranges, as the aggregator's experiment check says it: a clip norm, a
 * noise multiplier or a target ε, and strategies that take the noisy mean. Empty when DP is off or fine.
 */
export function privacyProblems(privacy: PrivacyOptions | null, configs: readonly ConfigSpec[]): string[] {
  if (!privacy) return [];
  const out: string[] = [];
  if (privacy.clipNorm === undefined) {
    out.push(`${PRIVACY_PARAM.clipNorm}: differential privacy needs a clip norm C, got none`);
  }
  if (privacy.noiseMultiplier === undefined && privacy.targetEpsilon === undefined) {
    out.push(
      `${PRIVACY_PARAM.noiseMultiplier} / ${PRIVACY_PARAM.targetEpsilon}: differential privacy needs a noise multiplier or a target ε (or both), got neither`,
    );
  }
  for (const strategy of new Set(configs.map((c) => c.strategy))) {
    const problem = privateStrategyProblem(strategy);
    if (problem) out.push(`"strategy" ${problem}`);
  }
  return out;
}

/** What secure aggregation refuses in these options: strategies that need single updates, too few clients. */
export function secureAggregationProblems(
  o: Pick<SimOptions, 'secureAggregation' | 'configs' | 'clients'>,
): string[] {
  if (!o.secureAggregation) return [];
  const out = new Set<string>();
  for (const c of o.configs) {
    const problem = secureProblem(c.strategy, SECURE_MIN_CLIENTS);
    if (problem) out.add(problem);
  }
  const few = secureProblem('fedavg', o.clients);
  if (few) out.add(few);
  return [...out];
}

/** "FedAvg α=0.1", "Median IID". */
export function configLabel(c: ConfigSpec): string {
  const p = c.partition.kind === 'iid' ? 'IID' : `α=${c.partition.alpha}`;
  return `${STRATEGY_LABELS[c.strategy]} ${p}`;
}

/** "fedavg:0.1", "median:iid": the URL's form of a configuration. */
export function formatConfigSpec(c: ConfigSpec): string {
  return `${c.strategy}:${c.partition.kind === 'iid' ? 'iid' : c.partition.alpha}`;
}

/** Parses "strategy:alpha" or "strategy:iid" (a bare strategy takes α = 0.5, the simulate default). */
export function parseConfigSpec(text: string): ConfigSpec {
  const [name = '', part, ...rest] = text.trim().toLowerCase().split(':');
  if (rest.length > 0)
    throw new OptionError(`configuration "${text}": expected strategy:alpha or strategy:iid`);
  if (!isStrategyName(name)) {
    throw new OptionError(
      `configuration "${text}": the strategy must be one of ${STRATEGY_NAMES.join(', ')}, got "${name}"`,
    );
  }
  if (part === 'iid') return { strategy: name, partition: { kind: 'iid' } };
  const alpha = part === undefined || part === '' ? 0.5 : Number(part);
  return { strategy: name, partition: { kind: 'dirichlet', alpha: checkAlpha(alpha, text) } };
}

export function checkAlpha(alpha: number, what: string): number {
  if (!Number.isFinite(alpha) || alpha < BOUNDS.alpha.min || alpha > BOUNDS.alpha.max) {
    throw new OptionError(
      `configuration "${what}": α must be a number in [${BOUNDS.alpha.min}, ${BOUNDS.alpha.max}], got ${alpha}`,
    );
  }
  return alpha;
}

/** A comma-separated list of configurations (1 to BOUNDS.configs.max). */
export function parseConfigList(text: string): ConfigSpec[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new OptionError('configurations: expected at least one, got none');
  if (items.length > BOUNDS.configs.max) {
    throw new OptionError(`configurations: at most ${BOUNDS.configs.max}, got ${items.length}`);
  }
  return items.map(parseConfigSpec);
}

type NumericKey =
  | 'clients'
  | 'rounds'
  | 'maxTrainRows'
  | 'maxTestRows'
  | 'localEpochs'
  | 'batchSize'
  | 'seed';

const INTEGER_KEYS: readonly NumericKey[] = [
  'clients',
  'rounds',
  'maxTrainRows',
  'maxTestRows',
  'localEpochs',
  'batchSize',
  'seed',
];

/** The URL parameter of each setting (the form's field names are the same). */
const PARAM: Record<NumericKey, string> = {
  clients: 'clients',
  rounds: 'rounds',
  maxTrainRows: 'train-rows',
  maxTestRows: 'test-rows',
  localEpochs: 'epochs',
  batchSize: 'batch',
  seed: 'seed',
};

export function checkInteger(key: NumericKey, raw: string | number): number {
  const v = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
  const { min, max } = BOUNDS[key];
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new OptionError(`${PARAM[key]}: expected an integer in [${min}, ${max}], got ${String(raw)}`);
  }
  return v;
}

export function checkLearningRate(raw: string | number): number {
  const v = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
  const { min, max } = BOUNDS.learningRate;
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new OptionError(`lr: expected a number in [${min}, ${max}], got ${String(raw)}`);
  }
  return v;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new OptionError(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/**
 * Settings from the page's URL; a bad parameter is reported in `errors` (and its default kept), never
 * silently ignored.
 */
export function optionsFromQuery(query: URLSearchParams): { options: SimOptions; errors: string[] } {
  const options: SimOptions = { ...DEFAULT_OPTIONS, configs: [...DEFAULT_OPTIONS.configs] };
  const errors: string[] = [];
  /** f's value, or undefined (and the message in `errors`) when it refuses the parameter. */
  const attempt = <T>(raw: string | null, f: (raw: string) => T): T | undefined => {
    if (raw === null) return undefined;
    try {
      return f(raw);
    } catch (e) {
      if (!(e instanceof OptionError)) throw e;
      errors.push(e.message);
      return undefined;
    }
  };
  for (const key of INTEGER_KEYS) {
    options[key] = attempt(query.get(PARAM[key]), (raw) => checkInteger(key, raw)) ?? options[key];
  }
  options.learningRate = attempt(query.get('lr'), checkLearningRate) ?? options.learningRate;
  options.configs = attempt(query.get('configs'), parseConfigList) ?? options.configs;
  options.model =
    attempt(query.get('model'), (raw) => oneOf('model', raw, ['standard', 'small'] as const)) ??
    options.model;
  options.backend =
    attempt(query.get('backend'), (raw) => oneOf('backend', raw, ['wasm', 'cpu', 'webgpu'] as const)) ??
    options.backend;
  options.engine = attempt(query.get('engine'), (raw) => oneOf('engine', raw, ENGINES)) ?? options.engine;
  options.suite =
    attempt(query.get('suite'), (raw) => oneOf('suite', raw, ['xwing', 'mlkem768'] as const)) ??
    options.suite;
  options.tamper = query.get('tamper') === '1';
  options.secureAggregation = query.get('secagg') === '1';
  options.autorun = query.get('run') === '1';
  // DP is on when any of its parameters is given.
  if (PRIVACY_KEYS.some((key) => query.get(PRIVACY_PARAM[key]) !== null)) {
    const privacy: PrivacyOptions = {};
    for (const key of PRIVACY_KEYS) {
      const v = attempt(query.get(PRIVACY_PARAM[key]), (raw) => checkPrivacyNumber(key, raw));
      if (v !== undefined) privacy[key] = v;
    }
    errors.push(...privacyProblems(privacy, options.configs));
    options.privacy = privacy;
  }
  errors.push(...secureAggregationProblems(options));
  return { options, errors };
}

/** The URL query that reproduces `o` (defaults left out). */
export function queryFor(o: SimOptions): string {
  const q = new URLSearchParams();
  for (const key of INTEGER_KEYS) if (o[key] !== DEFAULT_OPTIONS[key]) q.set(PARAM[key], String(o[key]));
  if (o.learningRate !== DEFAULT_OPTIONS.learningRate) q.set('lr', String(o.learningRate));
  const configs = o.configs.map(formatConfigSpec).join(',');
  if (configs !== DEFAULT_OPTIONS.configs.map(formatConfigSpec).join(',')) q.set('configs', configs);
  if (o.model !== DEFAULT_OPTIONS.model) q.set('model', o.model);
  if (o.backend !== DEFAULT_OPTIONS.backend) q.set('backend', o.backend);
  if (o.engine !== DEFAULT_OPTIONS.engine) q.set('engine', o.engine);
  if (o.suite !== DEFAULT_OPTIONS.suite) q.set('suite', o.suite);
  if (o.tamper) q.set('tamper', '1');
  if (o.secureAggregation) q.set('secagg', '1');
  for (const key of PRIVACY_KEYS) {
    const v = o.privacy?.[key];
    if (v !== undefined) q.set(PRIVACY_PARAM[key], String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The clients' learning rate in `round` of `rounds` (cosine decay to 5 %): the round core's, for the page. */
export { roundLearningRate } from '../../core/round/fit-settings.ts';

/** How many workers train at once: one per logical core the browser reports, at most one per client. */
export function poolSize(clients: number, hardwareConcurrency: number | undefined): number {
  const cores = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 2;
  return Math.max(1, Math.min(clients, cores));
}

/** The worker slot of each client: round-robin, so every slot hosts ⌈n / slots⌉ or ⌊n / slots⌋ clients. */
export function slotOf(client: number, slots: number): number {
  return client % slots;
}
