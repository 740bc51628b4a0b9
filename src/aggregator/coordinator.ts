/**
 * The round state machine of the aggregator, independent of sockets: clients join (`hello`), a round
 * selects some of them (seeded), sends them the global model, folds their updates into the strategy as they
 * arrive, and closes when every selected client has answered or failed, or at the deadline. A round that
 * reached its quorum is aggregated, evaluated on the held-out set and checkpointed; one that missed it is
 * retried with a new selection or closed unchanged, as configured — never left hanging. Updates for any
 * round but the open one are refused as stale and counted.
 *
 * Security (src/core/channel.ts): a client id is bound to the ML-DSA-65 key its connection proved in the
 * handshake, on first join and across restarts (the binding is checkpointed): another key claiming that id
 * gets an id of its own. Each round has a fresh signed key; an update is opened (decrypted, then its
 * signature checked against the connection's key and the client's id) before it is parsed, and any refusal
 * is counted by reason and never reaches the aggregate.
 *
 * Transport (WebSocket, sealing, frame parsing) lives in server.ts; this file sees validated messages only.
 * The intake of an update and the per-round fit settings are the round core's (src/core/round/), shared with
 * the in-tab federation; this file keeps what only a server has (selection, deadlines, quorum, checkpoints).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ServerChannels, ServerRound } from '../core/channel.ts';
import { displayName } from '../core/display-name.ts';
import { maxFrameBytes, PROTOCOL, SECAGG } from '../core/limits.ts';
import { logField } from '../core/log-field.ts';
import {
  beginRound,
  finiteOrNull,
  PrivacyLedger,
  type PrivacyState,
  privacySettings,
  withClipNorm,
} from '../core/privacy/ledger.ts';
import { PrivacyError } from '../core/privacy/rdp.ts';
import { type SecureRoundPrivacy, secureRoundPrivacy } from '../core/privacy/secure-round-privacy.ts';
import {
  type ClientMessage,
  type ExperimentInfo,
  encodeFrame,
  type Phase,
  REFUSAL_REASONS,
  type RefusalReason,
  type SecureRoundInfo,
  type ServerMessage,
} from '../core/protocol.ts';
import { Rng } from '../core/random.ts';
import type { Evaluation } from '../core/round/evaluation.ts';
import { roundFitSettings } from '../core/round/fit-settings.ts';
import {
  admitUpdate,
  type IntakeClient,
  type IntakeRound,
  type OpenedUpdate,
  openUpdate,
} from '../core/round/intake.ts';
import {
  SecureRound,
  type SecureRoundOutcome,
  secureGraph,
  secureRoundDeadlines,
  secureRoundLongestMs,
  secureStrategyProblem,
} from '../core/round/secure-round.ts';
import type { SecureRoundView } from '../core/round/secure-view.ts';
import {
  createStrategy,
  type RoundAggregator,
  type Strategy,
  StrategyError,
  type StrategyName,
  type StrategyParams,
} from '../core/strategies/index.ts';
import type { Checkpoint, RoundRecord } from './checkpoint.ts';
import { ConfigError, type ExperimentConfig } from './config.ts';
import { type Bindings, DurableStore, idsToPrune } from './durable-store.ts';
import { type SecureRoundReport, secureMinMembers, secureRing, secureRoundReport } from './secure-status.ts';
import { archiveSession } from './session-archive.ts';
import { boundList, boundRound, listedClients } from './status-lists.ts';

/** One connection as the coordinator sees it. */
export interface Peer {
  /** Sends one encoded frame (the transport seals it); resolves with the bytes put on the wire. */
  send(frame: Uint8Array): Promise<number>;
  close(code: number, reason: string): void;
  readonly address: string;
  /** The client key this connection proved in its handshake (null until the handshake is done). */
  readonly identity: { publicKey: Uint8Array; fingerprint: string } | null;
}

/** What the aggregator's evaluator makes (src/aggregator/evaluator.ts): a round's evaluation and its confusion matrix. */
export interface ServerEvaluation extends Evaluation {
  majorityBaseline: { accuracy: number; macroF1: number };
  confusion: number[][];
  classes: string[];
}

export type Evaluator = (weights: Float32Array) => Promise<ServerEvaluation>;

interface ClientState {
  id: string;
  peer: Peer;
  name: string;
  backend: string;
  numSamples: number;
  joinedAt: number;
  /** Fingerprint of the client's key. */
  key: string;
  rounds: number;
  lastLoss: number | null;
  state: 'idle' | 'training' | 'submitted';
  /** False until its welcome went out (after its new key binding reached the disk): not selectable. */
  welcomed: boolean;
}

interface OpenRound {
  round: number;
  attempt: number;
  version: number;
  selected: Set<string>;
  submitted: Set<string>;
  /** Updates being decrypted and verified. */
  opening: Set<string>;
  /** The round's key (null while it is being made). */
  crypto: ServerRound | null;
  failed: Map<string, string>;
  aggregator: RoundAggregator;
  startedAt: number;
  deadlineAt: number;
  timer: ReturnType<typeof setTimeout>;
  bytesUp: number;
  bytesDown: number;
  metrics: RoundRecord['clientMetrics'];
  /** Milliseconds spent making the round key and opening sealed updates. */
  cryptoMs: number;
  /** The round's SecAgg+ run when secure aggregation is on (null: plain sealed updates). */
  secure: SecureRound | null;
  /** Why the secure round ended without a sum (null while it runs or when it produced one). */
  secureFailure: string | null;
  /** DP under secure aggregation: the ring, the members' noise shares and the ledger's step (null: no DP). */
  securePrivacy: SecureRoundPrivacy | null;
}

export interface CoordinatorOptions {
  config: ExperimentConfig;
  experiment: Omit<ExperimentInfo, 'strategy' | 'rounds'>;
  initialWeights: Float32Array;
  evaluate: Evaluator;
  /** Makes each round's key and signatures, and opens sealed updates. */
  channels: Pick<ServerChannels, 'openRound'>;
  /** Where the checkpoint is written after each round; null keeps everything in memory. */
  dataDir: string | null;
  /** State to resume from (a loaded checkpoint). */
  resume?: Checkpoint | null;
  /** Client key bindings saved since (durable-store.ts); they replace the checkpoint's. */
  bindings?: Bindings | null;
  /** Rows of each shard of `experiment.shardSource`: a client's update weighs at most its shard's rows. */
  shardRows?: readonly number[];
  configDigest: string;
  log?: (line: string) => void;
}

export interface StatusClient {
  id: string;
  name: string;
  backend: string;
  state: ClientState['state'];
  numSamples: number;
  rounds: number;
  lastLoss: number | null;
  /** Fingerprint of the client's ML-DSA-65 key. */
  key: string;
}

export class Coordinator extends EventEmitter {
  /** Changes only with `newSession()`. */
  session: string;
  private config: ExperimentConfig;
  /** The rounds the admin asked for (`stop()` lowers config.rounds; a new session restores this). */
  private plannedRounds: number;
  private strategy: Strategy;
  /** Client-level DP (server-side noise): the clip norm, the noise and the budget spent; null when off. */
  private privacy: PrivacyLedger | null;
  private global: Float32Array;
  private version: number;
  private completed: number;
  private history: RoundRecord[];
  private readonly clients = new Map<string, ClientState>();
  private readonly byPeer = new Map<Peer, ClientState>();
  /** Client id → fingerprint of the key it registered with; and back. */
  private readonly keyOf = new Map<string, string>();
  private readonly idOfKey = new Map<string, string>();
  /** Client id → its shard of `experiment.shardSource` (assigned in join order, kept across restarts). */
  private readonly shardOf = new Map<string, number>();
  /** Client id → rounds it contributed to (kept beside the history, so a join does not scan it). */
  private readonly contributions = new Map<string, number>();
  /** Connected clients with data (numSamples > 0): a join checks this count, not a sorted list. */
  private readyCount = 0;
  /** Client id → rounds completed when it last joined (for pruning bindings). */
  private readonly lastSeen = new Map<string, number>();
  private readonly store: DurableStore;
  private current: OpenRound | null = null;
  private phase: Phase = 'waiting';
  private started: boolean;
  private paused = false;
  private attempt = 0;
  private evaluating: Promise<void> | null = null;
  private lastEvaluation: ServerEvaluation | null = null;
  /** The last secure round's members, survivors and departures (null before the first). */
  private lastSecure: SecureRoundReport | null = null;
  /** What the server saw in the last recovered secure round of this session, for the class (secure-view.ts). */
  private lastSecureView: SecureRoundView | null = null;
  readonly refusals: Partial<Record<RefusalReason | string, number>> = {};
  private readonly log: (line: string) => void;
  private closed = false;

  constructor(private readonly opts: CoordinatorOptions) {
    super();
    this.config = structuredClone(opts.config);
    this.plannedRounds = this.config.rounds;
    this.log = opts.log ?? (() => {});
    this.store = new DurableStore(opts.dataDir, this.log);
    this.strategy = createStrategy(this.config.strategy, this.strategyParams());
    const r = opts.resume;
    if (r) {
      if (r.weights.length !== opts.initialWeights.length) {
        throw new StrategyError(
          `checkpoint: model has ${r.weights.length} weights, the experiment's model has ${opts.initialWeights.length}`,
        );
      }
      this.session = r.session;
      this.global = r.weights;
      this.version = r.version;
      this.completed = r.round;
      this.history = r.history;
      for (const h of r.history) this.countContributions(h.contributed);
      if (r.strategy === this.config.strategy) this.strategy.importState(r.strategyState);
    } else {
      this.session = randomBytes(16).toString('hex');
      this.global = opts.initialWeights.slice();
      this.version = 0;
      this.completed = 0;
      this.history = [];
    }
    const b = opts.bindings;
    for (const [id, key] of Object.entries(b?.clientKeys ?? r?.clientKeys ?? {})) {
      this.register(id, key);
      this.lastSeen.set(id, b?.lastSeen[id] ?? this.completed);
    }
    for (const [id, shard] of Object.entries(b?.clientShards ?? r?.clientShards ?? {}))
      this.shardOf.set(id, shard);
    this.privacy = this.makePrivacy(r?.privacy ?? null);
    this.started = this.config.autoStart;
    if (this.completed >= this.config.rounds) this.phase = 'finished';
  }

  private makePrivacy(state: PrivacyState | null): PrivacyLedger | null {
    const p = this.config.privacy;
    return p ? new PrivacyLedger(privacySettings(p), () => this.config.rounds, state) : null;
  }

  private strategyParams(): StrategyParams {
    return { ...this.config.strategyParams, proxMu: this.config.strategyParams.proxMu ?? this.config.proxMu };
  }

  private countContributions(ids: readonly string[]): void {
    for (const id of ids) this.contributions.set(id, (this.contributions.get(id) ?? 0) + 1);
  }

  private register(id: string, key: string): void {
    this.keyOf.set(id, key);
    this.idOfKey.set(key, id);
  }

  /** The current global model (a copy). */
  globalWeights(): Float32Array {
    return this.global.slice();
  }

  get modelVersion(): number {
    return this.version;
  }

  get roundsCompleted(): number {
    return this.completed;
  }

  // ---- connections -------------------------------------------------------------------------------------

  /** A frame from `peer` that the parser (or the channel) refused: counted, logged, answered, not fatal. */
  refuseFrame(peer: Peer, reason: RefusalReason | string, message: string): void {
    const c = this.byPeer.get(peer);
    this.count(reason);
    this.log(
      `refused ${reason} from ${c ? c.id : peer.address}: ${logField(message, PROTOCOL.maxMessageChars)}`,
    );
    if ((REFUSAL_REASONS as readonly string[]).includes(reason)) {
      void this.sendTo(peer, { type: 'refused', reason: reason as RefusalReason, message });
    }
  }

  /** True when this server needs no join token, or `token` is the one it was started with. */
  acceptsJoinToken(token: string | undefined): boolean {
    const expected = this.config.joinToken;
    return expected === null || sameSecret(token ?? '', expected);
  }

  /** True once `peer`'s `hello` was accepted (it has a client id). */
  hasJoined(peer: Peer): boolean {
    return this.byPeer.has(peer);
  }

  /** Counts a refusal by reason (shown in /api/status). */
  count(reason: string): void {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1;
  }

  private refuse(peer: Peer, reason: RefusalReason, message: string, round?: number): Promise<number> {
    const c = this.byPeer.get(peer);
    this.count(reason);
    this.log(
      `refused ${reason} from ${c ? c.id : peer.address}: ${logField(message, PROTOCOL.maxMessageChars)}`,
    );
    const msg: ServerMessage = { type: 'refused', reason, message };
    if (round !== undefined) msg.round = round;
    return this.sendTo(peer, msg);
  }

  private async sendTo(peer: Peer, msg: ServerMessage): Promise<number> {
    try {
      return await peer.send(encodeFrame(msg));
    } catch {
      return 0;
    }
  }

  async handle(peer: Peer, msg: ClientMessage, wireBytes: number): Promise<void> {
    if (this.closed) return;
    switch (msg.type) {
      case 'hello':
        return this.hello(peer, msg);
      case 'sealed-update':
        return this.update(peer, msg, wireBytes);
      case 'secagg':
        return this.secagg(peer, msg, wireBytes);
      case 'ready':
        return this.ready(peer, msg.numSamples);
      case 'leave':
        peer.close(1000, 'bye');
        return this.disconnected(peer);
    }
  }

  private hello(peer: Peer, msg: Extract<ClientMessage, { type: 'hello' }>): void {
    if (this.byPeer.has(peer))
      return void this.refuse(peer, 'duplicate', 'hello: this connection has already joined');
    if (!this.acceptsJoinToken(msg.token)) {
      const why = 'hello: this server needs the join token (class code) it was started with';
      void this.refuse(peer, 'unauthorized', why).then(() => peer.close(1008, 'unauthorized'));
      return;
    }
    if (this.clients.size >= PROTOCOL.maxClients) {
      const why = `hello: the server has its maximum of ${PROTOCOL.maxClients} clients`;
      void this.refuse(peer, 'server-full', why).then(() => peer.close(1013, 'server full'));
      return;
    }
    const key = peer.identity?.fingerprint;
    if (!key) return void this.refuse(peer, 'unregistered', 'hello: the handshake has not finished');
    const bound = this.keyOf.size;
    const id = this.clientIdFor(peer, key, msg.clientId);
    // A student may type the name: only sanitized text is kept, logged and shown (core/display-name.ts).
    const name = displayName(msg.name, 'unnamed device');
    let changed = this.keyOf.size !== bound;
    this.lastSeen.set(id, this.completed);
    const c: ClientState = {
      id,
      peer,
      name,
      backend: displayName(msg.backend, 'unknown'),
      numSamples: msg.numSamples,
      joinedAt: Date.now(),
      key,
      rounds: this.contributions.get(id) ?? 0,
      lastLoss: null,
      state: 'idle',
      welcomed: false,
    };
    this.clients.set(id, c);
    this.byPeer.set(peer, c);
    this.log(
      `join ${id} (${logField(name)}, ${logField(c.backend)}, ${msg.numSamples} samples, key ${key}) from ${peer.address}`,
    );
    const source = this.opts.experiment.shardSource;
    let shard: number | undefined;
    if (source) {
      shard = this.shardOf.get(id);
      if (shard === undefined || shard >= source.count) {
        shard = this.shardOf.size % source.count;
        this.shardOf.set(id, shard);
        changed = true;
      }
    }
    // A new binding is on disk before the welcome goes out (a crash right after cannot lose it); the
    // bindings of every hello that arrived meanwhile are written together (one write, durable-store.ts).
    if (changed) void this.store.saveBindingsSoon(() => this.bindings()).then(() => this.welcome(c, shard));
    else this.welcome(c, shard);
  }

  /** Sends `c` its welcome; from now on it can be selected. */
  private welcome(c: ClientState, shard: number | undefined): void {
    if (this.closed || this.clients.get(c.id) !== c) return; // left (or replaced) meanwhile
    const { peer, id } = c;
    c.welcomed = true;
    // Ready = welcomed with data: only welcomed clients can be selected (readyIds).
    if (c.numSamples > 0) this.readyCount++;
    void this.sendTo(peer, {
      type: 'welcome',
      session: this.session,
      clientId: id,
      round: this.completed,
      phase: this.phase,
      experiment: { ...this.opts.experiment, strategy: this.config.strategy, rounds: this.config.rounds },
      ...(shard !== undefined && { shard }),
    });
    if (this.current) {
      void this.sendTo(peer, {
        type: 'status',
        phase: this.phase,
        round: this.current.round,
        message: `round ${this.current.round} is in progress; you join the next one`,
      });
    }
    this.emit('join', id);
    this.maybeStartRound();
  }

  /**
   * The id a joining key gets: the id it registered before (whatever it claims now); else the id it
   * claims, unless that id belongs to another key; else a fresh one. A key that is already connected
   * elsewhere (a reconnect noticed before the old socket timed out) takes its id over from the old socket.
   */
  private clientIdFor(peer: Peer, key: string, claimed: string | undefined): string {
    let id = this.idOfKey.get(key);
    if (id !== undefined && claimed !== undefined && claimed !== id) {
      this.log(
        `hello from ${peer.address}: claims ${logField(claimed, PROTOCOL.maxIdChars)}, but its key is registered as ${id}`,
      );
    }
    if (id === undefined && claimed !== undefined && /^c-[0-9a-f]{8,32}$/.test(claimed)) {
      if (this.keyOf.has(claimed)) {
        this.count('id-claim-refused');
        this.log(
          `hello from ${peer.address}: refused the claim to ${claimed}, which is registered to another key; ` +
            'it joins under an id of its own',
        );
      } else id = claimed;
    }
    id ??= `c-${randomBytes(6).toString('hex')}`;
    const old = this.clients.get(id);
    if (old) {
      this.log(`${id} reconnected; closing its previous connection from ${old.peer.address}`);
      old.peer.close(4000, 'replaced by a newer connection');
      this.disconnected(old.peer);
    }
    this.register(id, key);
    return id;
  }

  /**
   * The client's data is ready with `numSamples` rows (a browser joins with 0 while it builds its shard):
   * from now on it can be selected. Never changes the weight of a round the client is training.
   */
  private ready(peer: Peer, numSamples: number): void {
    const c = this.byPeer.get(peer);
    if (!c) return void this.refuse(peer, 'unregistered', 'ready: send hello first');
    if (this.current?.selected.has(c.id)) {
      return void this.refuse(
        peer,
        'duplicate',
        `ready: ${c.id} is training round ${this.current.round}; its data can change after it`,
        this.current.round,
      );
    }
    if (c.welcomed) this.readyCount += Number(numSamples > 0) - Number(c.numSamples > 0);
    c.numSamples = numSamples;
    this.log(`${c.id} is ready with ${numSamples} samples`);
    this.maybeStartRound();
  }

  /** A connection closed (or was killed): a selected client that has not answered counts as failed. */
  disconnected(peer: Peer): void {
    const c = this.byPeer.get(peer);
    if (!c) return;
    this.byPeer.delete(peer);
    this.clients.delete(c.id);
    if (c.welcomed && c.numSamples > 0) this.readyCount--;
    this.log(`leave ${c.id}`);
    const r = this.current;
    if (r?.selected.has(c.id) && !r.submitted.has(c.id) && !r.failed.has(c.id)) {
      r.failed.set(c.id, 'disconnected');
      r.aggregator.fail({ clientId: c.id, reason: 'disconnected' });
      // A secure round decides its own end (a member that left after its masked input is still in the sum).
      if (r.secure) r.secure.leave(c.id);
      else this.checkComplete(r);
    }
    this.emit('leave', c.id);
  }

  private async update(
    peer: Peer,
    msg: Extract<ClientMessage, { type: 'sealed-update' }>,
    wireBytes: number,
  ): Promise<void> {
    const c = this.byPeer.get(peer);
    if (!c) {
      const key = peer.identity ? `key ${peer.identity.fingerprint}` : 'connection';
      return void this.refuse(
        peer,
        'unregistered',
        `update: this ${key} is not a registered client; send hello first`,
      );
    }
    const r = this.current;
    if (!r || msg.round !== r.round || !r.crypto) {
      const open = r ? `round ${r.round} is open` : 'no round is open';
      return void this.refuse(
        peer,
        'stale',
        `update for round ${msg.round} refused as stale: ${open}`,
        msg.round,
      );
    }
    if (!r.selected.has(c.id)) {
      return void this.refuse(
        peer,
        'not-selected',
        `update: ${c.id} was not selected for round ${r.round}`,
        r.round,
      );
    }
    if (r.secure) {
      return void this.refuse(
        peer,
        'wrong-context',
        `update: round ${r.round} is a secure round (SecAgg+): a plain sealed update is refused; send the masked input as secagg frames`,
        r.round,
      );
    }
    if (r.submitted.has(c.id) || r.failed.has(c.id) || r.opening.has(c.id)) {
      return void this.refuse(
        peer,
        'duplicate',
        `update: ${c.id} already answered round ${r.round}`,
        r.round,
      );
    }
    // Decrypt and verify (against this connection's key and this client's id), and only then parse.
    const intake: IntakeRound = {
      round: r.round,
      version: r.version,
      modelSize: this.opts.experiment.modelSize,
      maxFrameBytes: maxFrameBytes(this.opts.experiment.modelSize),
    };
    r.opening.add(c.id);
    const openedAt = performance.now();
    let opened: OpenedUpdate;
    try {
      opened = await openUpdate(r.crypto, msg.envelope, intake, {
        clientId: c.id,
        publicKey: c.peer.identity!.publicKey,
      });
    } finally {
      r.opening.delete(c.id);
      r.cryptoMs += performance.now() - openedAt;
    }
    if (!opened.accepted) return void this.refuse(peer, opened.reason, opened.message, r.round);
    if (this.current !== r || this.byPeer.get(peer) !== c) {
      return void this.refuse(
        peer,
        'stale',
        `update for round ${r.round} arrived after the round closed`,
        r.round,
      );
    }
    // Its weight: at most what it declared when it joined, and at most the rows of the shard the server
    // assigned it, or PROTOCOL.maxSamplesPerClient.
    const who: IntakeClient = {
      clientId: c.id,
      declaredSamples: c.numSamples,
      sampleCap: this.sampleCap(c.id),
    };
    const u = admitUpdate(opened.plain, intake, who, r.aggregator);
    if (!u.accepted) return void this.refuse(peer, u.reason, u.message, r.round);
    const numSamples = u.numSamples;
    r.submitted.add(c.id);
    r.bytesUp += wireBytes;
    r.metrics.push({ clientId: c.id, numSamples, ...u.metrics });
    c.state = 'submitted';
    c.lastLoss = u.metrics.loss;
    void this.sendTo(peer, { type: 'ack', round: r.round });
    this.emit('update', { clientId: c.id, round: r.round });
    this.checkComplete(r);
  }

  /** One SecAgg+ message of a secure round (docs/secure-aggregation.md): cheap checks, then the round core. */
  private secagg(peer: Peer, msg: Extract<ClientMessage, { type: 'secagg' }>, wireBytes: number): void {
    const c = this.byPeer.get(peer);
    if (!c) return void this.refuse(peer, 'unregistered', 'secagg: send hello first');
    const r = this.current;
    if (!r || msg.round !== r.round) {
      const open = r ? `round ${r.round} is open` : 'no round is open';
      return void this.refuse(
        peer,
        'stale',
        `secagg for round ${msg.round} refused as stale: ${open}`,
        msg.round,
      );
    }
    if (!r.secure) {
      return void this.refuse(
        peer,
        'wrong-context',
        `secagg: round ${r.round} is not a secure round; send a sealed update`,
        r.round,
      );
    }
    if (!r.selected.has(c.id)) {
      return void this.refuse(
        peer,
        'not-selected',
        `secagg: ${c.id} was not selected for round ${r.round}`,
        r.round,
      );
    }
    const took = r.secure.receive(c.id, msg.payload);
    if (!took.accepted) {
      this.count(`secagg-${took.secAggReason}`);
      return void this.refuse(peer, took.reason, took.message, r.round);
    }
    r.bytesUp += wireBytes;
    // Everything the aggregator takes in a secure round, for observers (tests record what the server holds).
    this.emit('secagg', { clientId: c.id, round: r.round, payload: msg.payload });
  }

  /** Starts the SecAgg+ run of `r` once its model went out: every selected client gets the round's config. */
  private startSecure(r: OpenRound, deadlineMs: number): SecureRound {
    const settings = this.config.secureAggregation!;
    const timers = {
      set: (fn: () => void, ms: number) =>
        setTimeout(() => {
          try {
            fn();
          } catch (e) {
            // A fault in a phase's close must not end the process: the round fails, the model is kept.
            this.count('secagg-fault');
            this.log(
              `round ${r.round}: secure round fault: ${(e as Error).name}: ${logField((e as Error).message)}`,
            );
            r.secure?.abort('internal fault');
          }
        }, ms),
      clear: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const secure = new SecureRound({
      session: Uint8Array.from(Buffer.from(this.session, 'hex')),
      round: r.round,
      vectorLength: this.opts.experiment.modelSize,
      ring: r.securePrivacy?.ring ?? secureRing(settings, this.opts.shardRows),
      graph: secureGraph(settings),
      minMembers: secureMinMembers(this.config.quorum),
      members: [...r.selected],
      identityOf: (id) => this.clients.get(id)?.peer.identity?.publicKey,
      timers,
      deadlines: secureRoundDeadlines(deadlineMs),
      send: (to, payload) => {
        const c = this.clients.get(to);
        if (!c || this.current !== r) return;
        void this.sendTo(c.peer, { type: 'secagg', round: r.round, payload }).then((n) => {
          r.bytesDown += n;
        });
      },
      onEnd: (outcome) => this.onSecureEnd(r, outcome),
      onInput: (id) => {
        const c = this.clients.get(id);
        if (c) c.state = 'submitted';
        this.emit('update', { clientId: id, round: r.round });
      },
      aggregator: r.aggregator,
      ...(r.securePrivacy && { onRecovered: r.securePrivacy.onRecovered }),
    });
    r.secure = secure;
    return secure;
  }

  /**
   * What the round frame of a secure round tells its clients (protocol.ts `SecureRoundInfo`): with DP each
   * member's Skellam share (`noiseVariance`, ring units², planned at ring scale `noiseScale`); else nothing
   * beyond "secure".
   */
  private secureRoundInfo(r: OpenRound): SecureRoundInfo {
    return r.securePrivacy?.info ?? {};
  }

  /** The secure round ended: its contributors are the round's updates (or none: a missed quorum). */
  private onSecureEnd(r: OpenRound, outcome: SecureRoundOutcome): void {
    this.lastSecure = secureRoundReport(r.round, r.selected.size, r.secure!, outcome);
    if (outcome.ok && r.secure?.view) this.lastSecureView = r.secure.view;
    if (this.current !== r) return;
    if (outcome.ok) {
      for (const id of outcome.result.contributors) {
        r.submitted.add(id);
        r.failed.delete(id);
        const c = this.clients.get(id);
        if (c) {
          c.state = 'submitted';
          void this.sendTo(c.peer, { type: 'ack', round: r.round });
        }
      }
      this.log(
        `round ${r.round}: secure sum of ${outcome.result.contributors.length} updates recovered ` +
          `(${outcome.result.dropped.length} dropped after sharing keys; error ≤ ${outcome.result.errorBound.toExponential(2)})`,
      );
    } else {
      r.secureFailure = `${outcome.reason} in phase ${outcome.phase}: ${outcome.message}`;
      this.count('secagg-round-failed');
      this.log(
        `round ${r.round}: the secure round failed (${logField(r.secureFailure)}); no sum, the model is kept`,
      );
    }
    void this.closeRound('complete');
  }

  // ---- rounds ------------------------------------------------------------------------------------------

  private maybeStartRound(): void {
    if (this.closed || this.current || this.evaluating || !this.started || this.paused) return;
    if (this.completed >= this.config.rounds) {
      this.phase = 'finished';
      return;
    }
    this.phase = 'waiting';
    if (this.readyCount < Math.max(this.config.clientsPerRound.min, this.fewestSelected())) return;
    this.startRound();
  }

  /** A secure round needs SECAGG.minMembers members at least; a plain one any selection. */
  private fewestSelected(): number {
    return this.config.secureAggregation ? SECAGG.minMembers : 0;
  }

  /** Connected clients that have data to train on, sorted (selection is seeded over this order). */
  private readyIds(): string[] {
    return [...this.clients.values()]
      .filter((c) => c.numSamples > 0 && c.welcomed)
      .map((c) => c.id)
      .sort();
  }

  private startRound(): void {
    const round = this.completed + 1;
    const { fraction, min, max } = this.config.clientsPerRound;
    const ids = this.readyIds();
    const k = Math.min(
      ids.length,
      max,
      Math.max(min, this.fewestSelected(), Math.ceil(fraction * ids.length)),
    );
    const rng = new Rng((this.config.seed * 1_000_003 + round * 7919 + this.attempt) >>> 0);
    const selected = rng.shuffle(ids).slice(0, k);
    // The round that would take ε above the target does not start (q = selected / ready clients).
    const overBudget = this.privacy?.refusal(selected.length, ids.length) ?? null;
    if (overBudget) {
      this.log(overBudget);
      this.config.rounds = this.completed;
      this.store.saveCheckpoint(() => this.checkpoint());
      return this.finish();
    }
    // DP under secure aggregation: the members add the noise (planned here), the server none.
    let securePrivacy: SecureRoundPrivacy | null = null;
    if (this.privacy && this.config.secureAggregation) {
      try {
        securePrivacy = secureRoundPrivacy(this.privacy, selected.length, ids.length, {
          dimension: this.opts.experiment.modelSize,
          minMembers: secureMinMembers(this.config.quorum),
          graph: secureGraph(this.config.secureAggregation),
        });
      } catch (e) {
        if (!(e instanceof PrivacyError)) throw e;
        this.log(`round ${round}: no private secure round can be planned: ${e.message}; the session stopped`);
        this.config.rounds = this.completed;
        this.store.saveCheckpoint(() => this.checkpoint());
        return this.finish();
      }
    }
    const deadlineMs = Math.round(this.config.roundDeadlineSeconds * 1000);
    this.strategy.setPopulation?.(this.keyOf.size); // FedDyn's m: every client registered so far
    const r: OpenRound = {
      round,
      attempt: this.attempt,
      version: this.version,
      selected: new Set(selected),
      submitted: new Set(),
      opening: new Set(),
      crypto: null,
      failed: new Map(),
      aggregator: securePrivacy
        ? this.strategy.begin(round, this.global)
        : beginRound(this.privacy, this.strategy, round, this.global, selected.length, ids.length),
      startedAt: Date.now(),
      deadlineAt: Date.now() + deadlineMs,
      // A secure round closes itself phase by phase; this timer is only its backstop.
      timer: setTimeout(
        () => void this.closeRound('deadline'),
        this.config.secureAggregation ? secureRoundLongestMs(deadlineMs) + 1000 : deadlineMs,
      ),
      bytesUp: 0,
      bytesDown: 0,
      metrics: [],
      cryptoMs: 0,
      secure: null,
      secureFailure: null,
      securePrivacy,
    };
    this.current = r;
    this.phase = 'training';
    const fitSettings = withClipNorm(
      roundFitSettings(this.config, round, this.strategy.fitConfig(round)),
      this.privacy,
    );
    this.log(
      `round ${round}${r.attempt ? ` (retry ${r.attempt})` : ''}: ${selected.length} of ${ids.length} clients, ` +
        `deadline ${this.config.roundDeadlineSeconds} s`,
    );
    this.emit('round-start', { round, selected });
    const weights = this.global;
    const keyedAt = performance.now();
    void this.opts.channels
      .openRound({ session: this.session, round, version: r.version, weights })
      .then((crypto) => {
        r.cryptoMs += performance.now() - keyedAt;
        if (this.current !== r) return crypto.close();
        r.crypto = crypto;
        const secure = this.config.secureAggregation ? this.startSecure(r, deadlineMs) : null;
        const frame = encodeFrame({
          type: 'round',
          round,
          version: r.version,
          deadlineMs: Math.max(0, r.deadlineAt - Date.now()),
          fit: fitSettings,
          seal: crypto.seal,
          ...(secure && { secagg: this.secureRoundInfo(r) }),
          weights,
        });
        // The round frames go out first: a client runs SecAgg+ only for a round it has.
        return this.broadcast(r, selected, frame).then(() => {
          if (this.current === r) secure?.start();
        });
      })
      .catch((e: Error) => {
        // Making a key and two signatures does not fail short of a bug; the deadline then closes the round.
        this.log(`round ${round}: could not make the round key: ${e.name}: ${e.message}`);
      });
  }

  /** Sends the round's model to the selected clients one after another; each send waits for that socket's
   * buffer to drain below PROTOCOL.maxBufferedBytes (backpressure), so a slow client costs only itself. */
  private async broadcast(r: OpenRound, selected: string[], frame: Uint8Array): Promise<void> {
    for (const id of selected) {
      const c = this.clients.get(id);
      if (!c || this.current !== r) continue;
      c.state = 'training';
      try {
        r.bytesDown += await c.peer.send(frame);
      } catch (e) {
        if (!r.failed.has(id) && !r.submitted.has(id)) {
          r.failed.set(id, `send failed: ${(e as Error).message}`);
          r.aggregator.fail({ clientId: id, reason: 'send failed' });
          if (r.secure) r.secure.leave(id);
          else this.checkComplete(r);
        }
      }
    }
  }

  private checkComplete(r: OpenRound): void {
    if (this.current === r && r.submitted.size + r.failed.size >= r.selected.size)
      void this.closeRound('complete');
  }

  private async closeRound(why: 'complete' | 'deadline' | 'stopped'): Promise<void> {
    const r = this.current;
    if (!r) return;
    clearTimeout(r.timer);
    r.crypto?.close();
    this.current = null;
    r.secure?.abort(why === 'stopped' ? 'stopped by the admin' : 'the round ended');
    for (const id of r.selected) {
      if (!r.submitted.has(id) && !r.failed.has(id)) {
        const reason = r.secureFailure
          ? 'secure round failed'
          : why === 'stopped'
            ? 'stopped'
            : 'missed the deadline';
        r.failed.set(id, reason);
        r.aggregator.fail({ clientId: id, reason: 'deadline' });
      }
      const c = this.clients.get(id);
      if (c) c.state = 'idle';
    }
    const seconds = (Date.now() - r.startedAt) / 1000;
    const failed = [...r.failed].map(([clientId, reason]) => ({ clientId, reason }));
    if (why === 'stopped') {
      this.log(`round ${r.round} stopped by the admin; the global model is unchanged`);
      return;
    }
    if (r.submitted.size >= this.config.quorum) {
      this.phase = 'evaluating';
      const done = this.aggregateAndEvaluate(r, seconds, failed);
      this.evaluating = done;
      try {
        await done;
      } catch (e) {
        // A fault while aggregating (a strategy refusing its own inputs) must neither wedge the federation
        // in 'evaluating' nor end the process: the model is kept and the round closes unchanged.
        this.count('aggregation-failed');
        this.log(
          `round ${r.round}: aggregation failed (${(e as Error).name}: ${logField((e as Error).message)}); ` +
            'the global model is kept and the round closed unchanged',
        );
        this.record(r, seconds, failed, null, 'closed');
      } finally {
        this.evaluating = null;
      }
    } else if (this.config.onQuorumMiss === 'retry') {
      this.attempt++;
      this.log(
        `round ${r.round} missed its quorum (${r.submitted.size} of ${this.config.quorum} updates by the ` +
          `${why === 'deadline' ? 'deadline' : 'end'}); retrying with a new selection`,
      );
      this.emit('round-retry', { round: r.round, failed });
      this.phase = 'waiting';
      setTimeout(() => this.maybeStartRound(), 200).unref?.();
      return;
    } else {
      this.log(
        `round ${r.round} missed its quorum (${r.submitted.size} of ${this.config.quorum}); closed unchanged`,
      );
      this.record(r, seconds, failed, null, 'closed');
    }
    this.attempt = 0;
    // Stopped by the admin while this round was being evaluated: the end was already announced.
    if (this.phase === 'finished') return;
    this.phase = this.completed >= this.config.rounds ? 'finished' : this.paused ? 'paused' : 'waiting';
    if (this.phase === 'finished') this.finish();
    this.maybeStartRound();
  }

  private finish(): void {
    this.phase = 'finished';
    this.log(`experiment finished after ${this.completed} rounds`);
    for (const c of this.clients.values()) {
      void this.sendTo(c.peer, {
        type: 'status',
        phase: 'finished',
        round: this.completed,
        message: `the experiment is finished after ${this.completed} rounds`,
      });
    }
    this.emit('finished');
  }

  private async aggregateAndEvaluate(
    r: OpenRound,
    seconds: number,
    failed: RoundRecord['failed'],
  ): Promise<void> {
    const next = r.aggregator.finish();
    for (let i = 0; i < next.length; i++) {
      if (!Number.isFinite(next[i]!)) {
        // Defence in depth: updates were checked finite, but never let a non-finite model out.
        this.log(`round ${r.round}: the aggregate has a non-finite weight at ${i}; the model is kept`);
        this.record(r, seconds, failed, null, 'closed');
        return;
      }
    }
    // The aggregate is adopted even when its evaluation fails (the evaluator's tfjs out of memory, say): the
    // strategy's state already moved with it, and the metrics are only a report. That round's metrics are
    // then NaN ("not evaluated"), never the previous round's.
    let evaluation: ServerEvaluation | null = null;
    try {
      evaluation = await this.opts.evaluate(next);
    } catch (e) {
      this.count('evaluation-failed');
      this.log(
        `round ${r.round}: the evaluation failed (${(e as Error).name}: ${logField((e as Error).message)}); ` +
          'the aggregated model is adopted without metrics',
      );
    }
    this.global = next;
    this.version = r.round;
    if (evaluation) this.lastEvaluation = evaluation;
    this.record(r, seconds, failed, evaluation, 'aggregated', evaluation === null);
  }

  private record(
    r: OpenRound,
    seconds: number,
    failed: RoundRecord['failed'],
    e: ServerEvaluation | null,
    outcome: RoundRecord['outcome'],
    notEvaluated = false,
  ): void {
    const prev = this.lastEvaluation;
    const ev = notEvaluated ? null : (e ?? prev);
    const entry: RoundRecord = {
      round: r.round,
      participants: outcome === 'aggregated' ? r.submitted.size : 0,
      accuracy: ev?.accuracy ?? Number.NaN,
      macroF1: ev?.macroF1 ?? Number.NaN,
      mosMAE: ev?.mosMAE ?? Number.NaN,
      loss: ev?.loss ?? Number.NaN,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      seconds,
      outcome,
      selected: [...r.selected],
      contributed: outcome === 'aggregated' ? [...r.submitted] : [],
      failed,
      clientMetrics: r.metrics,
      perClassRecall: ev?.perClassRecall ?? {},
      majorityBaseline: ev?.majorityBaseline ?? { accuracy: Number.NaN, macroF1: Number.NaN },
      strategy: this.strategy.name,
      cryptoSeconds: r.cryptoMs / 1000,
      ...(this.privacy && { epsilon: finiteOrNull(this.privacy.epsilon) }),
    };
    this.countContributions(entry.contributed);
    for (const id of entry.contributed) {
      const c = this.clients.get(id);
      if (c) c.rounds++;
    }
    this.history.push(entry);
    this.completed = r.round;
    this.pruneBindings();
    this.store.saveBindings(() => this.bindings());
    this.store.saveCheckpoint(() => this.checkpoint());
    this.log(
      `round ${r.round} ${outcome}: ${entry.participants} updates, accuracy ${fmt(entry.accuracy)}, ` +
        `macro-F1 ${fmt(entry.macroF1)}, MOS MAE ${fmt(entry.mosMAE)}, ${seconds.toFixed(1)} s`,
    );
    this.emit('round-end', entry);
  }

  /** The most samples an update from `id` may weigh. */
  private sampleCap(id: string): number {
    const shard = this.shardOf.get(id);
    const rows = shard === undefined ? undefined : this.opts.shardRows?.[shard];
    return rows !== undefined && rows > 0 ? rows : PROTOCOL.maxSamplesPerClient;
  }

  /** Drops stale key bindings (policy: durable-store.ts `idsToPrune`). */
  private pruneBindings(): void {
    const contributed = new Set(this.history.flatMap((h) => h.contributed));
    const drop = idsToPrune(this.lastSeen, this.completed, new Set(this.clients.keys()), contributed, {
      oneOffIdleRounds: PROTOCOL.oneOffKeyIdleRounds,
      idleRounds: PROTOCOL.clientKeyIdleRounds,
      maxKeys: PROTOCOL.maxClientKeys,
    });
    for (const id of drop) {
      const key = this.keyOf.get(id);
      this.keyOf.delete(id);
      if (key !== undefined && this.idOfKey.get(key) === id) this.idOfKey.delete(key);
      this.shardOf.delete(id);
      this.lastSeen.delete(id);
    }
    if (drop.length) this.log(`pruned ${drop.length} idle client key bindings; ${this.keyOf.size} kept`);
  }

  /** The client key bindings as saved on every change (durable-store.ts). */
  bindings(): Bindings {
    return {
      configDigest: this.opts.configDigest,
      clientKeys: Object.fromEntries(this.keyOf),
      clientShards: Object.fromEntries(this.shardOf),
      lastSeen: Object.fromEntries(this.lastSeen),
    };
  }

  /** Client id → network address of each connected client (admin only: `GET /api/admin/clients`). */
  clientAddresses(): Record<string, string> {
    return Object.fromEntries([...this.clients.values()].map((c) => [c.id, c.peer.address]));
  }

  checkpoint(): Checkpoint {
    return {
      session: this.session,
      round: this.completed,
      version: this.version,
      strategy: this.strategy.name,
      history: this.history,
      weights: this.global,
      strategyState: this.strategy.exportState(),
      configDigest: this.opts.configDigest,
      clientKeys: Object.fromEntries(this.keyOf),
      clientShards: Object.fromEntries(this.shardOf),
      ...(this.privacy && { privacy: this.privacy.exportState() }),
    };
  }

  // ---- admin -------------------------------------------------------------------------------------------

  start(): void {
    this.started = true;
    this.paused = false;
    if (this.phase === 'paused') this.phase = 'waiting';
    this.maybeStartRound();
  }

  pause(): void {
    this.paused = true;
    if (!this.current && !this.evaluating) this.phase = 'paused';
  }

  /** Ends the experiment now: an open round is dropped without aggregating. */
  stop(): void {
    this.config.rounds = this.completed;
    void this.closeRound('stopped');
    this.finish();
  }

  /** Changes settings for the rounds that follow (never the open one). */
  reconfigure(
    change: Partial<Pick<ExperimentConfig, 'rounds' | 'clientsPerRound' | 'strategy' | 'strategyParams'>>,
  ): void {
    const refusal =
      change.strategy !== undefined && this.config.secureAggregation
        ? secureStrategyProblem(change.strategy)
        : null;
    if (refusal) {
      throw new ConfigError(`config: "strategy" cannot run with secureAggregation: ${refusal}`, [
        { path: ['strategy'], message: refusal },
      ]);
    }
    if (change.rounds !== undefined) this.config.rounds = this.plannedRounds = change.rounds;
    if (change.clientsPerRound)
      this.config.clientsPerRound = { ...this.config.clientsPerRound, ...change.clientsPerRound };
    if (change.strategyParams) this.config.strategyParams = change.strategyParams;
    if (change.strategy !== undefined || change.strategyParams) {
      this.config.strategy = (change.strategy ?? this.config.strategy) as StrategyName;
      this.strategy = createStrategy(this.config.strategy, this.strategyParams());
    }
    if (this.phase === 'finished' && this.completed < this.config.rounds) this.phase = 'waiting';
    this.maybeStartRound();
  }

  /**
   * "New class" (admin `new-session`, `pqfed serve --new-session`): drops a round in progress, archives this
   * session's history (session-archive.ts; with a data directory), and starts afresh: a new session id,
   * round 0, the experiment's initial model, a fresh strategy state, the planned number of rounds, started
   * as the experiment says (`autoStart`). The checkpoint is rewritten at once, so a restart resumes the new
   * session. Connected clients are asked to reconnect, and join the new session; client ids stay bound to
   * their keys and shards. The server key (and its fingerprint) is not the coordinator's: it stays.
   */
  newSession(): { previous: string; session: string; archived: string | null } {
    if (this.evaluating) throw new SessionBusyError('a round is being evaluated; try again in a few seconds');
    const previous = this.session;
    if (this.current) {
      const r = this.current;
      clearTimeout(r.timer);
      r.crypto?.close();
      // Not the open round any more before its secure part ends: that end closes nothing.
      this.current = null;
      r.secure?.abort('a new session started');
    }
    const archived = this.opts.dataDir
      ? archiveSession(this.opts.dataDir, {
          session: previous,
          rounds: this.completed,
          strategy: this.strategy.name,
          configDigest: this.opts.configDigest,
          history: this.history,
        })
      : null;
    this.session = randomBytes(16).toString('hex');
    this.global = this.opts.initialWeights.slice();
    this.version = 0;
    this.completed = 0;
    this.history = [];
    this.contributions.clear();
    this.lastEvaluation = null;
    this.lastSecureView = null;
    this.attempt = 0;
    this.config.rounds = this.plannedRounds;
    this.strategy = createStrategy(this.config.strategy, this.strategyParams());
    this.privacy = this.makePrivacy(null);
    this.started = this.config.autoStart;
    this.paused = false;
    this.phase = 'waiting';
    // Idle-key pruning counts rounds of this session: every kept binding starts it as just seen.
    for (const id of this.lastSeen.keys()) this.lastSeen.set(id, 0);
    this.store.saveCheckpoint(() => this.checkpoint());
    this.log(
      `new session ${this.session} (the previous one, ${previous}, is archived${archived ? ` in ${archived}` : ''})`,
    );
    for (const c of [...this.clients.values()]) {
      c.peer.close(4001, 'a new session started: join again');
      this.disconnected(c.peer);
    }
    this.emit('new-session', { previous, session: this.session });
    return { previous, session: this.session, archived };
  }

  /** Stops timers; the process can exit. */
  close(): void {
    this.closed = true;
    this.store.close();
    const r = this.current;
    if (r) clearTimeout(r.timer);
    this.current = null;
    r?.secure?.abort('the aggregator closed');
  }

  /** Resolves when no round evaluation is running. */
  async idle(): Promise<void> {
    while (this.evaluating) await this.evaluating;
  }

  /**
   * The experiment's state. `listed` bounds the per-client lists (src/aggregator/status-lists.ts; the
   * public /api/status passes PROTOCOL.statusListedClients); without it everything is listed (the export).
   */
  status(serverKeyFingerprint: string | null, opts: { listed?: number } = {}) {
    const r = this.current;
    const limit = opts.listed ?? Number.POSITIVE_INFINITY;
    const all = [...this.clients.values()];
    const shown = listedClients(all, limit);
    const listed = new Set(shown.map((c) => c.id));
    const byState: Record<ClientState['state'], number> = { idle: 0, training: 0, submitted: 0 };
    for (const c of all) byState[c.state]++;
    const bound = (ids: Iterable<string>) => boundList(ids, (id) => id, listed, limit);
    return {
      session: this.session,
      round: this.completed,
      phase: this.phase,
      clients: this.clients.size,
      strategy: this.strategy.name,
      serverKeyFingerprint,
      rounds: this.config.rounds,
      modelVersion: this.version,
      currentRound: r
        ? {
            round: r.round,
            attempt: r.attempt,
            selected: bound(r.selected),
            submitted: bound(r.submitted),
            failed: bound(r.failed.keys()),
            selectedCount: r.selected.size,
            submittedCount: r.submitted.size,
            failedCount: r.failed.size,
            deadlineAt: new Date(r.deadlineAt).toISOString(),
          }
        : null,
      clientCounts: { total: all.length, listed: shown.length, ...byState },
      clientList: shown.map(
        (c): StatusClient => ({
          id: c.id,
          name: c.name,
          backend: c.backend,
          state: c.state,
          numSamples: c.numSamples,
          rounds: c.rounds,
          lastLoss: c.lastLoss,
          key: c.key,
        }),
      ),
      refusals: { ...this.refusals },
      checkpoint: this.store.status(),
      privacy: this.privacy
        ? privacyStatus(this.privacy, this.config.secureAggregation !== null)
        : { ...NO_PRIVACY, secureAggregation: this.config.secureAggregation !== null },
      secureAggregation: {
        enabled: this.config.secureAggregation !== null,
        ...(this.config.secureAggregation && { settings: { ...this.config.secureAggregation } }),
        phase: r?.secure?.phase ?? null,
        lastRound: this.lastSecure,
        view: this.lastSecureView,
      },
      evaluation: this.lastEvaluation,
      config: {
        dataset: this.config.dataset,
        rounds: this.config.rounds,
        clientsPerRound: this.config.clientsPerRound,
        quorum: this.config.quorum,
        roundDeadlineSeconds: this.config.roundDeadlineSeconds,
        localEpochs: this.config.localEpochs,
        batchSize: this.config.batchSize,
        learningRate: this.config.learningRate,
        seed: this.config.seed,
        strategyParams: this.strategyParams(),
      },
      history: this.history.map((h) => boundRound(h, listed, limit)),
    };
  }
}

/** The coordinator cannot do that now (e.g. a new session while a round is being evaluated); try again. */
export class SessionBusyError extends Error {
  override name = 'SessionBusyError';
}

/** Constant-time comparison of two secrets (through their digests, so lengths do not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `privacy` in the status when DP is off: no guarantee (ε null). */
const NO_PRIVACY = { secureAggregation: false, epsilon: null, delta: null } as const;

/** The ledger's status for JSON: an infinite ε (no noise) is null, "no finite guarantee". */
/** The ledger's status; under secure aggregation the clients add the noise (Skellam shares) from round 1. */
function privacyStatus(p: PrivacyLedger, secure: boolean) {
  const s = p.status();
  return {
    ...s,
    epsilon: finiteOrNull(s.epsilon),
    secureAggregation: secure,
    mechanism: secure ? ('skellam' as const) : ('gaussian' as const),
  };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');

export type CoordinatorStatus = ReturnType<Coordinator['status']>;
