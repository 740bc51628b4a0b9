/**
 * Aggregation strategies of the aggregator, in the spirit of Flower's `Strategy`: pure maths over
 * Float32Array (no tfjs, no DOM, no Node APIs).
 *
 * A round runs as `strategy.begin(round, global)` → `add(update)` for every client result (and
 * `fail(failure)` for every client that dropped out) → `finish()`, which returns the new global weights.
 * Client results are deltas (local weights − the global weights the round started from).
 *
 * Every `add` is validated here (length, finiteness, sample count, one update per client), in depth behind
 * the aggregator's own frame checks; a violation throws a `StrategyError` and leaves the round unchanged.
 * Sums are accumulated in Float64 and the result is rounded once to Float32.
 *
 * This module also holds the round bookkeeping shared by every strategy (`RoundBase`, `BufferedRound`).
 */

import { LIMITS } from '../limits.ts';

export type StrategyName =
  | 'fedavg'
  | 'fedprox'
  | 'fedadam'
  | 'fedyogi'
  | 'fedadagrad'
  | 'fedavgm'
  | 'feddyn'
  | 'median'
  | 'trimmed-mean'
  | 'krum'
  | 'multi-krum';

export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze([
  'fedavg',
  'fedprox',
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fedavgm',
  'feddyn',
  'median',
  'trimmed-mean',
  'krum',
  'multi-krum',
] as const);

/** One client's result for a round: delta = local weights − global weights the round started from. */
export interface ClientUpdate {
  clientId: string;
  delta: Float32Array;
  numSamples: number;
}

export interface ClientFailure {
  clientId: string;
  reason: string;
}

/** Options sent to the clients for their local training this round. */
export interface FitConfig {
  proxMu: number;
  /** FedDyn's α: the client adds −⟨g_k, w⟩ + (α/2)·‖w − w_global‖² and keeps g_k (absent: no FedDyn term). */
  dynAlpha?: number;
}

export interface RoundAggregator {
  /** Takes one update. Streaming strategies fold it in at once and keep no reference to `delta`. */
  add(update: ClientUpdate): void;
  /** Records a failure (kept for the report; no effect on the maths). */
  fail(failure: ClientFailure): void;
  readonly accepted: number;
  readonly failures: readonly ClientFailure[];
  /** New global weights (a new array; `global` is not modified). Throws StrategyError when nothing was added. */
  finish(): Float32Array;
}

export interface Strategy {
  readonly name: StrategyName;
  fitConfig(round: number): FitConfig;
  /** Starts a round from `global` (length = model size; every delta must have that length). */
  begin(round: number, global: Float32Array): RoundAggregator;
  /** Server-side state that must survive a restart (FedAdam's moments and step, FedAvgM's momentum); {} when stateless. */
  exportState(): Record<string, Float32Array | number>;
  importState(state: Record<string, Float32Array | number>): void;
  /** The number of clients in the federation, told before each round (FedDyn's m); ignored by the others. */
  setPopulation?(clients: number): void;
}

export class StrategyError extends Error {
  override name = 'StrategyError';
}

export interface StrategyParams {
  proxMu?: number;
  serverLearningRate?: number;
  beta1?: number;
  beta2?: number;
  tau?: number;
  serverMomentum?: number;
  dynAlpha?: number;
  trimFraction?: number;
  byzantine?: number;
  multiKrumSelect?: number;
}

export function isStrategyName(s: string): s is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(s);
}

/** A client id as it appears in messages: quoted, at most 64 characters. */
export function quoteId(id: string): string {
  return JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);
}

/** Round numbers are integers ≥ 0. */
export function checkRound(who: string, round: number): void {
  if (!Number.isSafeInteger(round) || round < 0) {
    throw new StrategyError(`${who}: round must be an integer ≥ 0, got ${round}`);
  }
}

/** The global weights a round starts from: 1..LIMITS.maxModelParams finite float32 values. */
export function checkGlobal(who: string, global: Float32Array): void {
  if (!(global instanceof Float32Array)) {
    throw new StrategyError(`${who}: global weights must be a Float32Array, got ${typeName(global)}`);
  }
  if (global.length < 1 || global.length > LIMITS.maxModelParams) {
    throw new StrategyError(
      `${who}: global weights must have 1..${LIMITS.maxModelParams} values, got ${global.length}`,
    );
  }
  const bad = firstNonFinite(global);
  if (bad >= 0) {
    throw new StrategyError(
      `${who}: global weights must be finite, got ${global[bad]} at index ${bad} of ${global.length}`,
    );
  }
}

/** Validates one update against the model size; throws a StrategyError saying what was expected. */
export function checkUpdate(who: string, update: ClientUpdate, modelSize: number): void {
  const { clientId, delta, numSamples } = update;
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new StrategyError(`${who}: clientId must be a non-empty string, got ${typeName(clientId)}`);
  }
  const id = quoteId(clientId);
  if (!(delta instanceof Float32Array)) {
    throw new StrategyError(`${who}: delta from client ${id} must be a Float32Array, got ${typeName(delta)}`);
  }
  if (delta.length !== modelSize) {
    throw new StrategyError(
      `${who}: delta from client ${id} must have ${modelSize} values (the model size), got ${delta.length}`,
    );
  }
  if (!Number.isSafeInteger(numSamples) || numSamples < 1) {
    throw new StrategyError(
      `${who}: numSamples from client ${id} must be a positive finite integer, got ${numSamples}`,
    );
  }
  const bad = firstNonFinite(delta);
  if (bad >= 0) {
    throw new StrategyError(
      `${who}: delta from client ${id} must be finite, got ${delta[bad]} at index ${bad} of ${delta.length}`,
    );
  }
}

/** Index of the first NaN or ±Infinity, or −1. */
export function firstNonFinite(xs: Float32Array): number {
  for (let i = 0; i < xs.length; i++) {
    // x − x is 0 for finite x and NaN for NaN and ±Infinity.
    const x = xs[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/**
 * Rounds `global + step` to a new Float32Array. Throws when a coordinate overflows float32 (|x| > 3.4e38),
 * so a finite but huge update never turns into Infinity in the model.
 */
export function addToGlobal(who: string, global: Float32Array, step: Float64Array): Float32Array {
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + step[i]!;
  const bad = firstNonFinite(out);
  if (bad >= 0) {
    throw new StrategyError(
      `${who}: new weight at index ${bad} must fit in float32, got ${global[bad]! + step[bad]!}`,
    );
  }
  return out;
}

/** Stateless strategies export {} and accept only {} back. */
export function importNoState(who: string, state: Record<string, Float32Array | number>): void {
  const keys = Object.keys(state);
  if (keys.length > 0) {
    throw new StrategyError(
      `${who}: has no server state, expected {} to import, got keys ${keys.join(', ')}`,
    );
  }
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return `${typeof x} ${String(x)}`;
}

/**
 * Bookkeeping shared by every round: validation of each update, one update per client, the failure list,
 * and a single `finish`. Subclasses supply `fold` (take a validated update) and `compute` (the maths).
 */
export abstract class RoundBase implements RoundAggregator {
  /** A private copy of the global weights, so the caller may reuse its array during the round. */
  protected readonly global: Float32Array;
  private readonly seen = new Set<string>();
  private readonly failed: ClientFailure[] = [];
  private finished = false;

  protected constructor(
    protected readonly who: string,
    protected readonly round: number,
    global: Float32Array,
  ) {
    checkRound(who, round);
    checkGlobal(who, global);
    this.global = global.slice();
  }

  get accepted(): number {
    return this.seen.size;
  }

  get failures(): readonly ClientFailure[] {
    return this.failed.slice();
  }

  add(update: ClientUpdate): void {
    if (this.finished) {
      throw new StrategyError(
        `${this.who}: round ${this.round} is already finished, got a late update from ${quoteId(String(update.clientId))}`,
      );
    }
    checkUpdate(this.who, update, this.global.length);
    if (this.seen.has(update.clientId)) {
      throw new StrategyError(
        `${this.who}: expected one update per client in round ${this.round}, got a second one from ${quoteId(update.clientId)}`,
      );
    }
    this.fold(update);
    this.seen.add(update.clientId);
  }

  fail(failure: ClientFailure): void {
    if (typeof failure?.clientId !== 'string' || typeof failure.reason !== 'string') {
      throw new StrategyError(
        `${this.who}: a failure needs a string clientId and reason, got ${typeName(failure)}`,
      );
    }
    this.failed.push({ clientId: failure.clientId, reason: failure.reason });
  }

  finish(): Float32Array {
    if (this.finished) throw new StrategyError(`${this.who}: round ${this.round} was already finished`);
    if (this.seen.size === 0) {
      throw new StrategyError(
        `${this.who}: round ${this.round} needs at least 1 accepted update to aggregate, got 0 ` +
          `(${this.failed.length} failure(s) recorded)`,
      );
    }
    this.finished = true;
    return this.compute();
  }

  protected abstract fold(update: ClientUpdate): void;
  protected abstract compute(): Float32Array;
}

/**
 * A round that keeps a private Float32 copy of every delta until `finish`: the robust statistics (median,
 * trimmed mean, Krum) need all of them at once, so memory grows as clients × model size. Copies, not
 * references, so the caller may reuse its buffers. `numSamples` is validated but not used: a Byzantine
 * client could claim any sample count.
 */
export abstract class BufferedRound extends RoundBase {
  protected readonly deltas: Float32Array[] = [];

  protected fold(update: ClientUpdate): void {
    this.deltas.push(update.delta.slice());
  }

  /**
   * For every coordinate j, sorts the n values Δ_1[j]..Δ_n[j] ascending (in a reused Float64 buffer) and
   * stores `reduce(sorted)` at j of the returned array.
   */
  protected reduceSortedColumns(reduce: (sorted: Float64Array) => number): Float64Array {
    const deltas = this.deltas;
    const out = new Float64Array(this.global.length);
    const column = new Float64Array(deltas.length);
    for (let j = 0; j < out.length; j++) {
      for (let k = 0; k < deltas.length; k++) column[k] = deltas[k]![j]!;
      column.sort();
      out[j] = reduce(column);
    }
    return out;
  }
}
