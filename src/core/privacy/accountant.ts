/**
 * A privacy accountant for rounds of the (Poisson-)subsampled Gaussian mechanism (rdp.ts): it keeps the RDP
 * spent so far at every order, adds each round's (composition is a sum), and reports ε at a chosen δ. Its
 * state is plain numbers so that a checkpoint restores the budget exactly. `noiseForTargetEpsilon` finds the
 * smallest noise multiplier that keeps a planned run within (ε, δ), as Opacus's `get_noise_multiplier`
 * (opacus/accountants/utils.py) does, by doubling then bisection, to a relative tolerance instead of
 * Opacus's absolute 0.01 on ε.
 *
 * Pure: no I/O, no clock.
 */
import {
  DEFAULT_RDP_ORDERS,
  deltaFromRdp,
  epsilonFromRdp,
  PrivacyError,
  subsampledGaussianRdp,
} from './rdp.ts';

/** What a checkpoint keeps of an accountant. */
export interface AccountantState {
  orders: number[];
  /** RDP spent at each order; null stands for +∞ (an order whose series did not converge; JSON has no ∞). */
  rdp: (number | null)[];
  /** Rounds composed so far. */
  rounds: number;
}

export class RdpAccountant {
  readonly orders: readonly number[];
  private readonly spent: Float64Array;
  private composed = 0;
  /** The last (q, z) computed and its RDP: rounds of a run mostly repeat it. */
  private cache: { q: number; z: number; rdp: Float64Array } | null = null;

  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    if (orders.length === 0) throw new PrivacyError('accountant: expected at least one RDP order, got none');
    this.orders = orders.slice();
    this.spent = new Float64Array(orders.length);
  }

  /** The RDP of one round with sampling rate `q` and noise multiplier `z`. */
  roundRdp(q: number, z: number): Float64Array {
    const c = this.cache;
    if (c && c.q === q && c.z === z) return c.rdp;
    const rdp = subsampledGaussianRdp(q, z, this.orders);
    this.cache = { q, z, rdp };
    return rdp;
  }

  /** Adds `count` rounds with sampling rate `q` and noise multiplier `z`. */
  compose(q: number, z: number, count = 1): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new PrivacyError(`accountant: round count must be an integer ≥ 0, got ${count}`);
    }
    const rdp = this.roundRdp(q, z);
    for (let k = 0; k < rdp.length; k++) this.spent[k] = this.spent[k]! + count * rdp[k]!;
    this.composed += count;
  }

  get rounds(): number {
    return this.composed;
  }

  /** ε spent so far at `delta`. */
  epsilon(delta: number): number {
    return epsilonFromRdp(this.orders, this.spent, delta).epsilon;
  }

  /** ε at `delta` if `count` more rounds with (q, z) ran (the accountant is unchanged). */
  epsilonAfter(q: number, z: number, delta: number, count = 1): number {
    const rdp = this.roundRdp(q, z);
    const next = this.spent.map((r, k) => r + count * rdp[k]!);
    return epsilonFromRdp(this.orders, next, delta).epsilon;
  }

  /** δ spent so far at `epsilon`. */
  delta(epsilon: number): number {
    return deltaFromRdp(this.orders, this.spent, epsilon);
  }

  exportState(): AccountantState {
    return {
      orders: [...this.orders],
      rdp: [...this.spent].map((r) => (r === Number.POSITIVE_INFINITY ? null : r)),
      rounds: this.composed,
    };
  }

  /** An accountant that resumes `state` exactly (its orders, its spent RDP, its round count). */
  static fromState(state: AccountantState): RdpAccountant {
    const ok =
      Array.isArray(state?.orders) &&
      Array.isArray(state.rdp) &&
      state.orders.length > 0 &&
      state.orders.length === state.rdp.length &&
      state.orders.every((a) => typeof a === 'number' && a > 1) &&
      state.rdp.every((r) => r === null || (typeof r === 'number' && r >= 0 && Number.isFinite(r))) &&
      Number.isSafeInteger(state.rounds) &&
      state.rounds >= 0;
    if (!ok) {
      throw new PrivacyError(
        'accountant state: expected {orders: numbers > 1, rdp: as many finite numbers ≥ 0 or null, rounds: integer ≥ 0}',
      );
    }
    const a = new RdpAccountant(state.orders);
    a.spent.set(state.rdp.map((r) => r ?? Number.POSITIVE_INFINITY));
    a.composed = state.rounds;
    return a;
  }
}

/** A planned run: `rounds` rounds sampling each client with probability `q`, to stay within (ε, δ). */
export interface NoisePlan {
  epsilon: number;
  delta: number;
  q: number;
  rounds: number;
  orders?: readonly number[];
  /** Relative tolerance on z (default 1e-4). */
  tolerance?: number;
}

/** Largest noise multiplier tried: a budget that needs more is refused as unreachable. */
export const MAX_NOISE_MULTIPLIER = 1e4;

/**
 * The smallest noise multiplier z (within `tolerance`, rounded up) whose `rounds` rounds at rate `q` spend at
 * most `epsilon` at `delta`. Throws a PrivacyError when even MAX_NOISE_MULTIPLIER does not reach it.
 */
export function noiseForTargetEpsilon(plan: NoisePlan): number {
  const { epsilon, delta, q, rounds } = plan;
  const orders = plan.orders ?? DEFAULT_RDP_ORDERS;
  const tol = plan.tolerance ?? 1e-4;
  if (!(epsilon > 0 && Number.isFinite(epsilon))) {
    throw new PrivacyError(`noiseForTargetEpsilon: ε must be a finite number > 0, got ${epsilon}`);
  }
  if (!(delta > 0 && delta < 1))
    throw new PrivacyError(`noiseForTargetEpsilon: δ must be in (0, 1), got ${delta}`);
  if (!(q > 0 && q <= 1)) throw new PrivacyError(`noiseForTargetEpsilon: q must be in (0, 1], got ${q}`);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new PrivacyError(`noiseForTargetEpsilon: rounds must be an integer ≥ 1, got ${rounds}`);
  }
  const eps = (z: number) => {
    const rdp = subsampledGaussianRdp(q, z, orders);
    for (let k = 0; k < rdp.length; k++) rdp[k] = rdp[k]! * rounds;
    return epsilonFromRdp(orders, rdp, delta).epsilon;
  };
  let hi = 1;
  while (eps(hi) > epsilon) {
    hi *= 2;
    if (hi > MAX_NOISE_MULTIPLIER) {
      throw new PrivacyError(
        `noiseForTargetEpsilon: (ε = ${epsilon}, δ = ${delta}) over ${rounds} rounds at q = ${q} needs a ` +
          `noise multiplier above ${MAX_NOISE_MULTIPLIER}`,
      );
    }
  }
  let lo = 0;
  if (hi === 1) {
    // The budget allows z ≤ 1: halve down to a bracket.
    lo = 0.5;
    while (lo > 1e-6 && eps(lo) <= epsilon) {
      hi = lo;
      lo /= 2;
    }
  } else lo = hi / 2;
  while (hi - lo > tol * hi) {
    const mid = (lo + hi) / 2;
    if (eps(mid) <= epsilon) hi = mid;
    else lo = mid;
  }
  return hi;
}
