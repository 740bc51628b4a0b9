/**
 * One secure round (SecAgg+, Bell et al. CCS 2020; docs/secure-aggregation.md), transport-neutral: it owns
 * the round's `SecAggServer`, takes each client's SecAgg message (bytes the transport already authenticated
 * as coming from `clientId`, whose connection proved `identityOf(clientId)`), sends the server's answers to
 * whom they are for, closes each phase when every member still expected has answered or at the phase's
 * deadline, and in the end hands the strategy the recovered sum: Σ nᵢ·clip(Δᵢ) / Σ nᵢ as ONE update of
 * weight Σ nᵢ (`addRecoveredSum`), which is what FedAvg, FedProx, FedAvgM and the adaptive server
 * optimisers need (src/core/secagg/strategies.ts).
 *
 * A phase that ends with fewer members than the threshold t fails the round (`too-many-dropouts`): no sum,
 * no `add`, the caller keeps its model and reports it as a missed quorum. A refused message is data (a
 * refusal with a protocol reason), never thrown, and changes nothing; the round goes on.
 *
 * Used by the aggregator's coordinator (src/aggregator/coordinator.ts); no Node or DOM API: the timers and
 * the sending come in as arguments, so tests (and the in-tab federation) drive it with their own.
 * @module
 */
import { SECAGG } from '../limits.ts';
import type { RefusalReason } from '../protocol.ts';
import { SecAggError, type SecAggRefusal } from '../secagg/errors.ts';
import { DEFAULT_GRAPH_PARAMS, type GraphParams } from '../secagg/graph.ts';
import { type ClientMessage, decodeMessage, encodeMessage } from '../secagg/messages.ts';
import type { RingParams } from '../secagg/ring.ts';
import { type SecAggResult, SecAggServer, type ServerPhase } from '../secagg/server.ts';
import { secAggRefusal } from '../secagg/strategies.ts';
import { type RoundAggregator, StrategyError, type StrategyName } from '../strategies/strategy.ts';

/** What an experiment chooses of secure aggregation (the aggregator's `secureAggregation` key, the in-tab option). */
export interface SecureAggregationSettings {
  /** C: every element of an update (a delta) is clipped to [−C, C] before it is quantized into the ring. */
  clip: number;
  /** δ: the largest share of a round's members that may drop out while the sum stays exact (graph degree). */
  dropoutFraction: number;
}

export const SECURE_AGGREGATION_DEFAULTS: Readonly<SecureAggregationSettings> = Object.freeze({
  clip: 1,
  /** 0.2: up to 10 members the graph is complete (any n − t may drop); 100 members get k = 58. */
  dropoutFraction: 0.2,
});

/** The neighbour graph's parameters for `settings`: σ, η, γ the defaults (graph.ts), δ = dropoutFraction. */
export function secureGraph(settings: SecureAggregationSettings): GraphParams {
  return { ...DEFAULT_GRAPH_PARAMS, delta: settings.dropoutFraction };
}

/** Why `strategy` cannot run under secure aggregation (one sentence), or null when it can. */
export function secureStrategyProblem(strategy: StrategyName): string | null {
  return (
    secAggRefusal(strategy) ??
    (strategy === 'feddyn'
      ? 'feddyn averages deltas unweighted over the participants; that sum is not wired under secure aggregation yet'
      : null)
  );
}

/** Timers, injected (Node's and the browser's `setTimeout` fit; tests pass a fake clock). */
export interface RoundTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** When each phase closes at the latest. */
export interface SecureRoundDeadlines {
  /** Milliseconds after `start()` by which the advertisement, share and input phases close. */
  advertiseMs: number;
  shareMs: number;
  inputMs: number;
  /** Milliseconds each of the two closing phases (consistency, unmask) waits after it opened. */
  closingMs: number;
}

export interface SecureRoundOptions {
  /** The session (16 bytes) and round number this run belongs to (inside every SecAgg message). */
  session: Uint8Array;
  round: number;
  /** d: the model size. */
  vectorLength: number;
  ring: RingParams;
  graph?: GraphParams;
  /** Fewest members the round goes on with after the advertisements (default 3, at least 2). */
  minMembers?: number;
  /** The round seed of the neighbour graph (default: fresh from the CSPRNG). */
  seed?: Uint8Array;
  /** The client ids selected for the round: only they may take part. */
  members: readonly string[];
  /** The identity key the client's connection proved (its advertisement must carry the same). */
  identityOf(clientId: string): Uint8Array | undefined;
  timers: RoundTimers;
  deadlines: SecureRoundDeadlines;
  /** Sends one SecAgg message (bytes) to one client; a closed connection is the transport's business. */
  send(to: string, payload: Uint8Array): void;
  /** The round's end, once: the recovered sum (already added to `aggregator`), or why there is none. */
  onEnd(outcome: SecureRoundOutcome): void;
  /** Where the recovered sum goes (the strategy's round, or the privacy ledger's around it). */
  aggregator: Pick<RoundAggregator, 'add'>;
  /**
   * Called with the recovered sum before it is added (a privacy ledger's step, a recorder): it may throw a
   * StrategyError to refuse it, which fails the round like a refused aggregate.
   */
  onRecovered?(result: SecAggResult): void;
  /** Called when a member's masked input was taken (progress: "k of n inputs received"). */
  onInput?(clientId: string): void;
}

/** How a secure round ended. */
export type SecureRoundOutcome =
  | { ok: true; result: SecAggResult }
  | { ok: false; phase: ServerPhase; reason: SecAggRefusal | 'aggregation' | 'aborted'; message: string };

/** One message the round took, or why not. */
export type SecureIntake =
  | { accepted: true }
  | { accepted: false; reason: RefusalReason; secAggReason: SecAggRefusal; message: string };

/** The protocol refusal (src/core/protocol.ts) each SecAgg refusal is answered with; keyed by the union. */
export const SECAGG_TO_REFUSAL: Readonly<Record<SecAggRefusal, RefusalReason>> = Object.freeze({
  malformed: 'malformed',
  'bad-length': 'wrong-length',
  'bad-signature': 'bad-signature',
  'wrong-round': 'wrong-context',
  'wrong-phase': 'stale',
  replay: 'duplicate',
  'unknown-client': 'not-selected',
  'inconsistent-survivors': 'malformed',
  'too-many-dropouts': 'stale',
  'bad-share': 'malformed',
  'bad-input': 'malformed',
  'bad-config': 'malformed',
});

/** The client id under which a recovered sum enters the strategy's round (one update for all members). */
export const SECURE_SUM_ID = 'secagg:sum';

/**
 * Adds the recovered sum to `aggregator` as one update: the weighted mean Σ nᵢ·clip(Δᵢ) / Σ nᵢ with weight
 * Σ nᵢ. A weighted-mean strategy then gives exactly the FedAvg step of the contributors.
 */
export function addRecoveredSum(aggregator: Pick<RoundAggregator, 'add'>, result: SecAggResult): void {
  if (!(result.totalWeight >= 1) || !Number.isSafeInteger(result.totalWeight)) {
    throw new StrategyError(`secure round: expected a total weight ≥ 1, got ${result.totalWeight}`);
  }
  aggregator.add({ clientId: SECURE_SUM_ID, delta: result.mean, numSamples: result.totalWeight });
}

export class SecureRound {
  private readonly server: SecAggServer;
  private readonly options: SecureRoundOptions;
  private readonly members: ReadonlySet<string>;
  private readonly advertised = new Set<string>();
  private readonly gone = new Set<string>();
  private timer: unknown = null;
  private startedAt = 0;
  private ended = false;
  private advancing = false;
  private readonly clock: () => number;

  constructor(options: SecureRoundOptions, clock: () => number = () => Date.now()) {
    const members = new Set(options.members);
    if (members.size > SECAGG.maxMembers) {
      throw new SecAggError(
        'bad-config',
        `secure round: at most ${SECAGG.maxMembers} members, got ${members.size}`,
      );
    }
    const d = options.deadlines;
    if (!(d.advertiseMs >= 0 && d.shareMs >= d.advertiseMs && d.inputMs >= d.shareMs && d.closingMs >= 0)) {
      throw new SecAggError(
        'bad-config',
        `secure round: expected deadlines advertise ≤ share ≤ input and closing ≥ 0 ms, got ${JSON.stringify(d)}`,
      );
    }
    this.options = options;
    this.members = members;
    this.clock = clock;
    this.server = new SecAggServer({
      session: options.session,
      round: options.round,
      vectorLength: options.vectorLength,
      ring: options.ring,
      graph: options.graph,
      minMembers: Math.max(2, Math.min(options.minMembers ?? 3, SECAGG.maxMembers)),
      seed: options.seed,
      identityOf: options.identityOf,
    });
  }

  /** The SecAgg phase: advertise, share, input, consistency, unmask, done or failed. */
  get phase(): ServerPhase {
    return this.server.phase;
  }

  /** Who advertised keys (the round's members once the advertisements closed). */
  get advertisers(): readonly string[] {
    return [...this.advertised];
  }

  /** Members that left (their connection closed) during the round. */
  get departed(): readonly string[] {
    return [...this.gone];
  }

  /** The degree k and threshold t, once the advertisements closed. */
  get degree() {
    return this.server.roundDegree;
  }

  /** Sends every member the round's config and starts the advertisement phase's deadline. */
  start(): void {
    this.startedAt = this.clock();
    const config = encodeMessage(this.server.config());
    for (const id of this.members) this.options.send(id, config);
    this.arm();
  }

  /**
   * One SecAgg message from `clientId` (authenticated by the transport). Cheap checks first (a member of
   * the round, still in it, a round not over), then the codec and the state machine (signatures).
   */
  receive(clientId: string, payload: Uint8Array): SecureIntake {
    if (!this.members.has(clientId)) {
      return refused('unknown-client', `secure round ${this.options.round}: ${clientId} was not selected`);
    }
    if (this.ended) {
      return refused('wrong-phase', `secure round ${this.options.round} is over (${this.server.phase})`);
    }
    if (this.gone.has(clientId)) {
      return refused('wrong-phase', `secure round ${this.options.round}: ${clientId} already left it`);
    }
    let type: ClientMessage['type'];
    try {
      const m = decodeMessage(payload);
      if (
        m.type === 'config' ||
        m.type === 'keys' ||
        m.type === 'relay' ||
        m.type === 'survivors' ||
        m.type === 'consistency-sigs'
      ) {
        throw new SecAggError('malformed', `secure round: expected a client message, got "${m.type}"`);
      }
      type = m.type;
      this.server.receive(clientId, m);
    } catch (e) {
      if (e instanceof SecAggError) return refused(e.reason, e.message);
      throw e;
    }
    if (type === 'advertise') this.advertised.add(clientId);
    if (type === 'masked-input') this.options.onInput?.(clientId);
    this.maybeAdvance();
    return { accepted: true };
  }

  /** `clientId`'s connection closed: no phase waits for it any more. */
  leave(clientId: string): void {
    if (!this.members.has(clientId) || this.gone.has(clientId) || this.ended) return;
    this.gone.add(clientId);
    this.maybeAdvance();
  }

  /** Ends the round now without a sum (an admin stop, a new session). */
  abort(why: string): void {
    if (this.ended) return;
    this.end({ ok: false, phase: this.server.phase, reason: 'aborted', message: why });
  }

  /** Members the current phase still waits for (connected ones). */
  waitingFor(): string[] {
    if (this.ended) return [];
    const waiting =
      this.server.phase === 'advertise'
        ? [...this.members].filter((id) => !this.advertised.has(id))
        : this.server.waitingFor();
    return waiting.filter((id) => !this.gone.has(id));
  }

  private maybeAdvance(): void {
    if (this.advancing) return;
    this.advancing = true;
    try {
      while (!this.ended && this.waitingFor().length === 0) this.advance();
    } finally {
      this.advancing = false;
    }
  }

  /** Closes the current phase (everyone answered, or its deadline passed). */
  private advance(): void {
    this.disarm();
    let outgoing: ReturnType<SecAggServer['advance']>;
    const phase = this.server.phase;
    try {
      outgoing = this.server.advance();
    } catch (e) {
      // The round ends either way (never left hanging); a fault that is not a refusal is then rethrown.
      const reason = e instanceof SecAggError ? e.reason : 'bad-share';
      this.end({ ok: false, phase, reason, message: e instanceof Error ? e.message : String(e) });
      if (!(e instanceof SecAggError)) throw e;
      return;
    }
    for (const o of outgoing) if (!this.gone.has(o.to)) this.options.send(o.to, encodeMessage(o.message));
    if (this.server.phase === 'done') {
      const result = this.server.result!;
      try {
        this.options.onRecovered?.(result);
        addRecoveredSum(this.options.aggregator, result);
      } catch (e) {
        this.end({
          ok: false,
          phase: 'unmask',
          reason: 'aggregation',
          message: e instanceof Error ? e.message : String(e),
        });
        if (!(e instanceof StrategyError)) throw e;
        return;
      }
      return this.end({ ok: true, result });
    }
    this.arm();
  }

  /** The current phase's deadline timer. */
  private arm(): void {
    const d = this.options.deadlines;
    const elapsed = this.clock() - this.startedAt;
    const at: Partial<Record<ServerPhase, number>> = {
      advertise: d.advertiseMs - elapsed,
      share: d.shareMs - elapsed,
      input: d.inputMs - elapsed,
      consistency: d.closingMs,
      unmask: d.closingMs,
    };
    const ms = at[this.server.phase];
    if (ms === undefined) return;
    this.timer = this.options.timers.set(
      () => {
        this.timer = null;
        if (!this.ended) this.advance();
        this.maybeAdvance();
      },
      Math.max(0, ms),
    );
  }

  private disarm(): void {
    if (this.timer !== null) this.options.timers.clear(this.timer);
    this.timer = null;
  }

  private end(outcome: SecureRoundOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.disarm();
    this.options.onEnd(outcome);
  }
}

function refused(reason: SecAggRefusal, message: string): SecureIntake {
  return { accepted: false, reason: SECAGG_TO_REFUSAL[reason], secAggReason: reason, message };
}

/**
 * The phase deadlines of a secure round whose clients have `deadlineMs` to train: the advertisements
 * close by a quarter of it, the shares by half (both run while the clients train), the masked inputs at
 * the deadline itself, and each closing phase (consistency, unmask) waits at most a quarter more. Every
 * phase closes earlier when every member still connected has answered.
 */
export function secureRoundDeadlines(deadlineMs: number): SecureRoundDeadlines {
  const d = Math.max(0, deadlineMs);
  return { advertiseMs: d / 4, shareMs: d / 2, inputMs: d, closingMs: d / 4 };
}

/** The longest a secure round of `deadlineMs` can run: the input deadline and both closing phases. */
export function secureRoundLongestMs(deadlineMs: number): number {
  const d = secureRoundDeadlines(deadlineMs);
  return d.inputMs + 2 * d.closingMs;
}
