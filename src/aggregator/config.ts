/**
 * An experiment: one JSON file (`pqfed serve --config experiment.json`) that fixes everything a run
 * depends on, so that the same file and seed give the same federation. Every field is optional; missing
 * fields take the defaults below (the `npm start` classroom default on the embedded TON_IoT sample).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTILE, PROTOCOL } from '../core/limits.ts';
import { STRATEGY_NAMES, type StrategyName, type StrategyParams } from '../core/strategies/index.ts';
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
}

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
  batchSize: 64,
  learningRate: 3e-3,
  learningRateDecay: 'cosine',
  proxMu: 0.01,
  seed: 1,
  partition: { kind: 'dirichlet', alpha: 0.5 },
  shards: 30,
  autoStart: true,
  joinToken: null,
  allowedOrigins: [],
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

/** Reads and validates an experiment file; relative data paths are resolved against the file's folder. */
export function loadConfig(path: string): ExperimentConfig {
  if (!existsSync(path)) throw new ConfigError(`experiment config ${path}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`experiment config ${path}: expected JSON, ${(e as Error).message}`);
  }
  const base = resolve(path, '..');
  const c = parseConfig(raw);
  return { ...c, data: resolve(base, c.data), test: c.test === null ? null : resolve(base, c.test) };
}

/** Validates a config object (unknown keys are refused, so that a typo is not silently ignored). */
export function parseConfig(raw: unknown, base: ExperimentConfig = DEFAULT_EXPERIMENT): ExperimentConfig {
  const o = object(raw, 'config');
  const known = new Set(Object.keys(DEFAULT_EXPERIMENT));
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new ConfigError(`config: unknown key "${k}" (known: ${[...known].join(', ')})`);
  }
  const c: ExperimentConfig = structuredClone(base);
  if (o.dataset !== undefined) c.dataset = oneOf(o.dataset, 'dataset', DATASET_IDS);
  if (o.data !== undefined) c.data = string(o.data, 'data');
  if (o.test !== undefined) c.test = o.test === null ? null : string(o.test, 'test');
  if (o.labels !== undefined) c.labels = oneOf(o.labels, 'labels', ['fine', 'category', 'binary'] as const);
  if (o.testFraction !== undefined) c.testFraction = number(o.testFraction, 'testFraction', 0.01, 0.9);
  if (o.maxTrainRows !== undefined) c.maxTrainRows = integer(o.maxTrainRows, 'maxTrainRows', 0, 1e9);
  if (o.maxTestRows !== undefined) c.maxTestRows = integer(o.maxTestRows, 'maxTestRows', 0, 1e9);
  if (o.model !== undefined) {
    const m = object(o.model, 'model');
    for (const k of Object.keys(m)) {
      if (!(k in c.model)) throw new ConfigError(`config: unknown key "model.${k}"`);
    }
    if (m.dModel !== undefined) c.model.dModel = integer(m.dModel, 'model.dModel', 2, 1024);
    if (m.heads !== undefined) c.model.heads = integer(m.heads, 'model.heads', 1, 64);
    if (m.ffDim !== undefined) c.model.ffDim = integer(m.ffDim, 'model.ffDim', 1, 8192);
    if (m.convLayers !== undefined) c.model.convLayers = integer(m.convLayers, 'model.convLayers', 0, 16);
    if (m.mosWeight !== undefined) c.model.mosWeight = number(m.mosWeight, 'model.mosWeight', 0, 100);
  }
  if (o.strategy !== undefined) c.strategy = oneOf(o.strategy, 'strategy', STRATEGY_NAMES);
  if (o.strategyParams !== undefined) {
    const p = object(o.strategyParams, 'strategyParams');
    const params: StrategyParams = {};
    const ranges: Record<keyof StrategyParams, [number, number]> = {
      proxMu: [0, 1e3],
      serverLearningRate: [1e-9, 100],
      beta1: [0, 0.999999],
      beta2: [0, 0.999999],
      tau: [1e-12, 1],
      trimFraction: [0, 0.49],
      byzantine: [0, 1000],
      multiKrumSelect: [1, 10_000],
    };
    for (const [k, v] of Object.entries(p)) {
      const range = ranges[k as keyof StrategyParams];
      if (!range) throw new ConfigError(`config: unknown key "strategyParams.${k}"`);
      params[k as keyof StrategyParams] = number(v, `strategyParams.${k}`, range[0], range[1]);
    }
    c.strategyParams = params;
  }
  if (o.rounds !== undefined) c.rounds = integer(o.rounds, 'rounds', 1, PROTOCOL.maxRounds);
  if (o.clientsPerRound !== undefined) {
    const p = object(o.clientsPerRound, 'clientsPerRound');
    if (p.fraction !== undefined)
      c.clientsPerRound.fraction = number(p.fraction, 'clientsPerRound.fraction', 0.001, 1);
    if (p.min !== undefined)
      c.clientsPerRound.min = integer(p.min, 'clientsPerRound.min', 1, PROTOCOL.maxClients);
    if (p.max !== undefined)
      c.clientsPerRound.max = integer(p.max, 'clientsPerRound.max', 1, PROTOCOL.maxClients);
  }
  if (o.quorum !== undefined) c.quorum = integer(o.quorum, 'quorum', 1, PROTOCOL.maxClients);
  if (o.roundDeadlineSeconds !== undefined) {
    c.roundDeadlineSeconds = number(
      o.roundDeadlineSeconds,
      'roundDeadlineSeconds',
      0.1,
      PROTOCOL.maxDeadlineMs / 1000,
    );
  }
  if (o.onQuorumMiss !== undefined)
    c.onQuorumMiss = oneOf(o.onQuorumMiss, 'onQuorumMiss', ['retry', 'close'] as const);
  if (o.localEpochs !== undefined)
    c.localEpochs = integer(o.localEpochs, 'localEpochs', 1, PROTOCOL.maxLocalEpochs);
  if (o.batchSize !== undefined) c.batchSize = integer(o.batchSize, 'batchSize', 1, PROTOCOL.maxBatchSize);
  if (o.learningRate !== undefined) c.learningRate = number(o.learningRate, 'learningRate', 1e-7, 10);
  if (o.learningRateDecay !== undefined) {
    c.learningRateDecay = oneOf(o.learningRateDecay, 'learningRateDecay', ['none', 'cosine'] as const);
  }
  if (o.proxMu !== undefined) c.proxMu = number(o.proxMu, 'proxMu', 0, 1e3);
  if (o.seed !== undefined) c.seed = integer(o.seed, 'seed', 0, 2 ** 31 - 1);
  if (o.partition !== undefined) {
    const p = object(o.partition, 'partition');
    const kind = oneOf(p.kind, 'partition.kind', ['dirichlet', 'iid'] as const);
    c.partition =
      kind === 'iid' ? { kind } : { kind, alpha: number(p.alpha ?? 0.5, 'partition.alpha', 1e-3, 1e6) };
  }
  if (o.shards !== undefined) c.shards = integer(o.shards, 'shards', 1, PROTOCOL.maxClients);
  if (o.autoStart !== undefined) {
    if (typeof o.autoStart !== 'boolean') throw new ConfigError(`config: "autoStart" must be true or false`);
    c.autoStart = o.autoStart;
  }
  if (o.joinToken !== undefined) {
    c.joinToken = o.joinToken === null ? null : string(o.joinToken, 'joinToken');
    if (c.joinToken !== null && c.joinToken.length > PROTOCOL.maxTokenChars) {
      throw new ConfigError(`config: "joinToken" must be at most ${PROTOCOL.maxTokenChars} characters`);
    }
    const weak =
      c.joinToken === null ? null : weakSecret(c.joinToken, HOSTILE.minJoinTokenChars, '"joinToken"');
    if (weak) throw new ConfigError(`config: ${weak}`);
  }
  if (o.allowedOrigins !== undefined) {
    if (!Array.isArray(o.allowedOrigins))
      throw new ConfigError('config: "allowedOrigins" must be a list of origins');
    c.allowedOrigins = o.allowedOrigins.map((v, i) => {
      const origin = string(v, `allowedOrigins[${i}]`);
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
        throw new ConfigError(
          `config: "allowedOrigins[${i}]" must look like https://host[:port], got ${JSON.stringify(origin)}`,
        );
      }
      return origin;
    });
  }
  if (c.clientsPerRound.min > c.clientsPerRound.max) {
    throw new ConfigError(
      `config: clientsPerRound.min (${c.clientsPerRound.min}) must not exceed clientsPerRound.max (${c.clientsPerRound.max})`,
    );
  }
  if (c.quorum > c.clientsPerRound.max) {
    throw new ConfigError(
      `config: quorum (${c.quorum}) can never be met with at most ${c.clientsPerRound.max} clients per round`,
    );
  }
  if (c.model.dModel % c.model.heads !== 0) {
    throw new ConfigError(
      `config: model.dModel (${c.model.dModel}) must be a multiple of model.heads (${c.model.heads})`,
    );
  }
  return c;
}

function object(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`config: "${what}" must be an object, got ${v === null ? 'null' : typeof v}`);
  }
  return v as Json;
}

function string(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`config: "${what}" must be a non-empty string`);
  return v;
}

function number(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(
      `config: "${what}" must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function integer(v: unknown, what: string, min: number, max: number): number {
  const n = number(v, what, min, max);
  if (!Number.isInteger(n)) throw new ConfigError(`config: "${what}" must be an integer, got ${n}`);
  return n;
}

function oneOf<T extends string>(v: unknown, what: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new ConfigError(`config: "${what}" must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}
