/**
 * The server side of SecAgg+ (Bell et al., CCS 2020), as a transport-neutral state machine. The server
 * relays keys, sealed shares and signatures between members, collects masked inputs, and in the end
 * learns only the sum of the survivors' weighted updates: every masked input it holds is uniform in
 * Z_{2^32}^{d+1} on its own, and no member ever reveals both secrets (self-mask seed and mask-key seed) of
 * the same member.
 *
 * Driving it: `config()` gives the message to broadcast; `receive(from, message)` (or `receiveBytes`) takes
 * one client message, `from` being the client id the transport authenticated; it validates everything
 * (round, phase, sender, sizes, signature) before storing anything and throws SecAggError otherwise,
 * leaving the state unchanged. `advance()` closes the current phase (when everyone expected has answered
 * — `waitingFor()` is empty — or at the round's deadline) and returns the messages to send, each addressed
 * to one client id. After the unmasking phase `advance()` returns nothing and `result` holds the sum. A
 * phase that ends with fewer members than the threshold fails the round: `advance()` throws
 * SecAggError('too-many-dropouts'), `phase` becomes `failed`, and no partial sum exists.
 * @module
 */
import { bytesEqual } from '../../crypto/bytes.ts';
import { SIGNATURE_CONTEXT, verify } from '../../crypto/identity.ts';
import { randomBytes } from '../../crypto/random.ts';
import { SECAGG } from '../limits.ts';
import { SecAggError } from './errors.ts';
import {
  checkGraphParams,
  DEFAULT_GRAPH_PARAMS,
  type Degree,
  type GraphParams,
  NeighbourGraph,
  secAggDegree,
} from './graph.ts';
import {
  type AdvertiseMessage,
  type Advertisement,
  advertiseSignedBytes,
  bitmapHas,
  bitmapOf,
  type ClientMessage,
  type ConfigMessage,
  type ConsistencyMessage,
  decodeMessage,
  type EntryDigest,
  entryDigest,
  type MaskedInputMessage,
  maskedInputSignedBytes,
  type ServerMessage,
  type ShareKeysMessage,
  shareKeysSignedBytes,
  survivorsSignedBytes,
  type UnmaskMessage,
  unmaskSignedBytes,
} from './messages.ts';
import {
  decapsulate,
  maskEncapsulate,
  maskKeyPair,
  pairSeed,
  type RoundContext,
  selfMaskCommitment,
} from './pairwise.ts';
import { applyMask } from './prg.ts';
import { decodeSum, meanErrorBound, type RingParams, ringScale } from './ring.ts';
import { recoverSecret } from './shamir.ts';

export type ServerPhase = 'advertise' | 'share' | 'input' | 'consistency' | 'unmask' | 'done' | 'failed';

export interface SecAggServerOptions {
  /** The session (16 bytes) and round this SecAgg+ run belongs to. */
  session: Uint8Array;
  round: number;
  /** Length d of the update vectors. */
  vectorLength: number;
  ring: RingParams;
  graph?: GraphParams;
  /** Fewest members the round goes on with after the advertisement phase (default 3). */
  minMembers?: number;
  /** The round seed that draws the neighbour graph (default: fresh from the CSPRNG). */
  seed?: Uint8Array;
  /**
   * The identity key the transport authenticated for a client id, when it knows one: an advertisement
   * with another key is refused (`bad-signature`).
   */
  identityOf?: (clientId: string) => Uint8Array | undefined;
}

/** A message to send, addressed to one client id. */
export interface Outgoing {
  to: string;
  message: ServerMessage;
}

/** What the round produced: the sum of the survivors' weighted updates and who is in it. */
export interface SecAggResult {
  /** Σ n_i · clip(w_i) over the contributors (float64, within `errorBound` · totalWeight per element). */
  weightedSum: Float64Array;
  /** Σ n_i over the contributors. */
  totalWeight: number;
  /** weightedSum / totalWeight: the FedAvg mean. */
  mean: Float32Array;
  /** Largest per-element error of `mean` from quantization (ring.ts). */
  errorBound: number;
  /** Client ids whose updates are in the sum. */
  contributors: string[];
  /** Client ids that shared keys but sent no masked input (their pairwise masks were removed). */
  dropped: string[];
  /** The ring scale S of the round. */
  scale: number;
}

interface Stored {
  shareKeys: ShareKeysMessage;
  digests: EntryDigest[];
}

const PHASE_OF: Record<ClientMessage['type'], ServerPhase> = {
  advertise: 'advertise',
  'share-keys': 'share',
  'masked-input': 'input',
  consistency: 'consistency',
  unmask: 'unmask',
};

export class SecAggServer {
  private state: ServerPhase = 'advertise';
  private readonly ctx: RoundContext;
  private readonly options: SecAggServerOptions;
  private readonly graphParams: GraphParams;
  private readonly seed: Uint8Array;
  private readonly minMembers: number;
  private failure?: SecAggError;
  private outcome?: SecAggResult;

  private readonly ads = new Map<string, Advertisement>();
  private members: string[] = [];
  private readonly indexOf = new Map<string, number>();
  private degree?: Degree;
  private graph?: NeighbourGraph;
  private readonly shared = new Map<number, Stored>();
  /** Members whose masked input arrived; their vectors are folded into `inputSum` at once (O(d) memory, not O(n·d)). */
  private readonly inputs = new Set<number>();
  private inputSum: Uint32Array | null = null;
  private survivors: Uint8Array = new Uint8Array(0);
  private readonly consistency = new Map<number, Uint8Array>();
  private readonly unmasked = new Map<number, UnmaskMessage['shares']>();

  constructor(options: SecAggServerOptions) {
    if (!(options.session instanceof Uint8Array) || options.session.length !== 16) {
      throw new SecAggError(
        'bad-config',
        `server: expected a 16-byte session, got ${options.session?.length}`,
      );
    }
    if (!Number.isInteger(options.round) || options.round < 0 || options.round > 0xffff_ffff) {
      throw new SecAggError('bad-config', `server: expected a round in [0, 2^32), got ${options.round}`);
    }
    if (
      !Number.isInteger(options.vectorLength) ||
      options.vectorLength < 1 ||
      options.vectorLength > SECAGG.maxVectorLength
    ) {
      throw new SecAggError(
        'bad-config',
        `server: expected a vector length in [1, ${SECAGG.maxVectorLength}], got ${options.vectorLength}`,
      );
    }
    this.options = options;
    this.ctx = { session: options.session.slice(), round: options.round };
    this.graphParams = checkGraphParams({ ...(options.graph ?? DEFAULT_GRAPH_PARAMS) });
    ringScale(options.ring, 2);
    this.minMembers = options.minMembers ?? 3;
    if (!Number.isInteger(this.minMembers) || this.minMembers < 2 || this.minMembers > SECAGG.maxMembers) {
      throw new SecAggError(
        'bad-config',
        `server: expected a minimum of 2 to ${SECAGG.maxMembers} members, got ${this.minMembers}`,
      );
    }
    this.seed = options.seed?.slice() ?? randomBytes(32);
    if (this.seed.length !== 32)
      throw new SecAggError('bad-config', `server: expected a 32-byte seed, got ${this.seed.length}`);
  }

  get phase(): ServerPhase {
    return this.state;
  }

  /** The round's sum once `phase` is `done`. */
  get result(): SecAggResult | undefined {
    return this.outcome;
  }

  /** Why the round failed, once `phase` is `failed`. */
  get error(): SecAggError | undefined {
    return this.failure;
  }

  /** The round's degree and threshold, once the advertisement phase has closed. */
  get roundDegree(): Degree | undefined {
    return this.degree;
  }

  /** The config message every client gets first. */
  config(): ConfigMessage {
    return {
      type: 'config',
      ...this.ctx,
      seed: this.seed,
      vectorLength: this.options.vectorLength,
      ring: { ...this.options.ring },
      graph: { ...this.graphParams },
      minMembers: this.minMembers,
    };
  }

  /** Client ids expected in the current phase that have not answered yet. */
  waitingFor(): string[] {
    switch (this.state) {
      case 'share':
        return this.members.filter((_, i) => !this.shared.has(i + 1));
      case 'input':
        return [...this.shared.keys()].filter((i) => !this.inputs.has(i)).map((i) => this.members[i - 1]!);
      case 'consistency':
        return [...this.inputs.keys()]
          .filter((i) => !this.consistency.has(i))
          .map((i) => this.members[i - 1]!);
      case 'unmask':
        return [...this.consistency.keys()]
          .filter((i) => !this.unmasked.has(i))
          .map((i) => this.members[i - 1]!);
      default:
        return [];
    }
  }

  /** Decodes and takes one client message from the client the transport authenticated as `from`. */
  receiveBytes(from: string, bytes: Uint8Array): void {
    const m = decodeMessage(bytes);
    if (!(m.type in PHASE_OF))
      throw new SecAggError('malformed', `server: expected a client message, got "${m.type}"`);
    this.receive(from, m as ClientMessage);
  }

  /** Takes one client message; throws SecAggError (state unchanged) when it is refused. */
  receive(from: string, m: ClientMessage): void {
    if (!bytesEqual(m.session, this.ctx.session) || m.round !== this.ctx.round) {
      throw new SecAggError(
        'wrong-round',
        `server: expected round ${this.ctx.round} of this session, got round ${m.round}`,
      );
    }
    const phase = PHASE_OF[m.type];
    if (phase !== this.state) {
      throw new SecAggError(
        'wrong-phase',
        `server: in phase ${this.state}, got "${m.type}" (phase ${phase})`,
      );
    }
    switch (m.type) {
      case 'advertise':
        return this.onAdvertise(from, m);
      case 'share-keys':
        return this.onShareKeys(from, m);
      case 'masked-input':
        return this.onMaskedInput(from, m);
      case 'consistency':
        return this.onConsistency(from, m);
      case 'unmask':
        return this.onUnmask(from, m);
    }
  }

  /** Closes the current phase; returns the messages to send. Throws (and fails the round) below threshold. */
  advance(): Outgoing[] {
    try {
      switch (this.state) {
        case 'advertise':
          return this.closeAdvertise();
        case 'share':
          return this.closeShare();
        case 'input':
          return this.closeInput();
        case 'consistency':
          return this.closeConsistency();
        case 'unmask':
          this.outcome = this.unmask();
          this.state = 'done';
          return [];
        default:
          throw new SecAggError('wrong-phase', `server: the round is ${this.state}; nothing to advance`);
      }
    } catch (e) {
      if (this.state !== 'done' && this.state !== 'failed') {
        this.failure =
          e instanceof SecAggError
            ? e
            : new SecAggError('bad-share', `server: the round failed: ${String(e)}`, { cause: e });
        this.state = 'failed';
        this.outcome = undefined;
      }
      throw e;
    }
  }

  // ---- receiving ---------------------------------------------------------------------------------------

  private member(from: string, claimed: number): number {
    const index = this.indexOf.get(from);
    if (index === undefined)
      throw new SecAggError('unknown-client', `server: "${from}" is not a member of this round`);
    if (claimed !== index) {
      throw new SecAggError(
        'unknown-client',
        `server: "${from}" is member ${index}, its message claims ${claimed}`,
      );
    }
    return index;
  }

  private identityKey(index: number): Uint8Array {
    return this.ads.get(this.members[index - 1]!)!.identityKey;
  }

  private onAdvertise(from: string, m: AdvertiseMessage): void {
    const a = m.advertisement;
    if (a.clientId !== from) {
      throw new SecAggError('unknown-client', `server: "${from}" advertised keys as "${a.clientId}"`);
    }
    if (this.ads.has(from)) throw new SecAggError('replay', `server: "${from}" already advertised its keys`);
    if (this.ads.size >= SECAGG.maxMembers) {
      throw new SecAggError('bad-length', `server: the round is full (${SECAGG.maxMembers} members)`);
    }
    const pinned = this.options.identityOf?.(from);
    if (pinned && !bytesEqual(pinned, a.identityKey)) {
      throw new SecAggError(
        'bad-signature',
        `server: "${from}" advertised an identity key other than its connection's`,
      );
    }
    for (const other of this.ads.values()) {
      if (bytesEqual(other.identityKey, a.identityKey)) {
        throw new SecAggError('replay', `server: "${from}" reuses the identity key of "${other.clientId}"`);
      }
    }
    if (
      !verify(
        a.identityKey,
        advertiseSignedBytes(this.ctx, a),
        a.signature,
        SIGNATURE_CONTEXT.secaggAdvertise,
      )
    ) {
      throw new SecAggError(
        'bad-signature',
        `server: the advertisement of "${from}" is not signed by its identity key`,
      );
    }
    this.ads.set(from, a);
  }

  private onShareKeys(from: string, m: ShareKeysMessage): void {
    const index = this.member(from, m.from);
    if (this.shared.has(index))
      throw new SecAggError('replay', `server: member ${index} already sent its shares`);
    const neighbours = this.graph!.neighbours(index);
    if (m.entries.length !== neighbours.length || m.entries.some((e, i) => e.to !== neighbours[i])) {
      throw new SecAggError(
        'unknown-client',
        `server: member ${index} must send one entry to each of its ${neighbours.length} neighbours, in order`,
      );
    }
    for (const e of m.entries) {
      if ((e.maskCipherText !== null) !== index < e.to) {
        throw new SecAggError(
          'malformed',
          `server: member ${index}'s entry for ${e.to} must carry a mask ciphertext only when ${index} < ${e.to}`,
        );
      }
    }
    const digests = m.entries.map((e) => ({ to: e.to, digest: entryDigest(e) }));
    if (
      !verify(
        this.identityKey(index),
        shareKeysSignedBytes(this.ctx, index, digests),
        m.signature,
        SIGNATURE_CONTEXT.secaggShares,
      )
    ) {
      throw new SecAggError(
        'bad-signature',
        `server: the shares of member ${index} are not signed by its identity key`,
      );
    }
    this.shared.set(index, { shareKeys: m, digests });
  }

  private onMaskedInput(from: string, m: MaskedInputMessage): void {
    const index = this.member(from, m.index);
    if (!this.shared.has(index))
      throw new SecAggError(
        'unknown-client',
        `server: member ${index} shared no keys; its input cannot be unmasked`,
      );
    if (this.inputs.has(index))
      throw new SecAggError('replay', `server: member ${index} already sent its masked input`);
    if (m.vector.length !== this.options.vectorLength + 1) {
      throw new SecAggError(
        'bad-length',
        `server: expected a masked vector of ${this.options.vectorLength + 1} elements, got ${m.vector.length}`,
      );
    }
    if (
      !verify(
        this.identityKey(index),
        maskedInputSignedBytes(this.ctx, index, m.vector),
        m.signature,
        SIGNATURE_CONTEXT.secaggInput,
      )
    ) {
      throw new SecAggError(
        'bad-signature',
        `server: the masked input of member ${index} is not signed by its identity key`,
      );
    }
    this.inputSum ??= new Uint32Array(m.vector.length);
    const sum = this.inputSum;
    for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + m.vector[j]!) >>> 0;
    this.inputs.add(index);
  }

  private onConsistency(from: string, m: ConsistencyMessage): void {
    const index = this.member(from, m.index);
    if (!bitmapHas(this.survivors, index))
      throw new SecAggError('unknown-client', `server: member ${index} is not a survivor`);
    if (this.consistency.has(index))
      throw new SecAggError('replay', `server: member ${index} already signed the survivor list`);
    const signed = survivorsSignedBytes(this.ctx, this.members.length, this.survivors);
    if (!verify(this.identityKey(index), signed, m.signature, SIGNATURE_CONTEXT.secaggSurvivors)) {
      throw new SecAggError(
        'inconsistent-survivors',
        `server: member ${index} did not sign this round's survivor list`,
      );
    }
    this.consistency.set(index, m.signature);
  }

  private onUnmask(from: string, m: UnmaskMessage): void {
    const index = this.member(from, m.index);
    if (!this.consistency.has(index))
      throw new SecAggError('unknown-client', `server: member ${index} did not sign the survivor list`);
    if (this.unmasked.has(index))
      throw new SecAggError('replay', `server: member ${index} already sent its shares`);
    const group = new Set([index, ...this.graph!.neighbours(index)]);
    const seen = new Set<number>();
    for (const s of m.shares) {
      if (!group.has(s.of) || !this.shared.has(s.of)) {
        throw new SecAggError(
          'unknown-client',
          `server: member ${index} sent a share of ${s.of}, whose shares it does not hold`,
        );
      }
      if (seen.has(s.of))
        throw new SecAggError('replay', `server: member ${index} sent two shares of ${s.of}`);
      seen.add(s.of);
      const survivor = bitmapHas(this.survivors, s.of);
      if ((s.kind === 'self') !== survivor) {
        throw new SecAggError(
          'inconsistent-survivors',
          `server: member ${index} sent a ${s.kind} share of ${s.of}, which is ${survivor ? '' : 'not '}a survivor`,
        );
      }
    }
    if (
      !verify(
        this.identityKey(index),
        unmaskSignedBytes(this.ctx, index, m.shares),
        m.signature,
        SIGNATURE_CONTEXT.secaggUnmask,
      )
    ) {
      throw new SecAggError(
        'bad-signature',
        `server: the shares of member ${index} are not signed by its identity key`,
      );
    }
    this.unmasked.set(index, m.shares);
  }

  // ---- closing phases ----------------------------------------------------------------------------------

  private need(count: number, what: string): void {
    const t = this.degree?.t ?? this.minMembers;
    if (count < t)
      throw new SecAggError(
        'too-many-dropouts',
        `server: ${what}: expected at least ${t}, got ${count}; the round ends without a sum`,
      );
  }

  private closeAdvertise(): Outgoing[] {
    if (this.ads.size < this.minMembers) {
      throw new SecAggError(
        'too-many-dropouts',
        `server: expected at least ${this.minMembers} members, got ${this.ads.size}; the round ends without a sum`,
      );
    }
    this.members = [...this.ads.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.members.forEach((id, i) => {
      this.indexOf.set(id, i + 1);
    });
    const n = this.members.length;
    this.degree = secAggDegree(n, this.graphParams);
    this.graph = new NeighbourGraph(this.seed, this.degree);
    this.state = 'share';
    return this.members.map((to, i) => ({
      to,
      message: {
        type: 'keys',
        ...this.ctx,
        members: n,
        index: i + 1,
        neighbours: this.graph!.neighbours(i + 1).map((j) => ({
          index: j,
          advertisement: this.ads.get(this.members[j - 1]!)!,
        })),
      },
    }));
  }

  private closeShare(): Outgoing[] {
    this.need(this.shared.size, 'members that shared keys');
    this.state = 'input';
    const out: Outgoing[] = [];
    for (const to of [...this.shared.keys()].sort((a, b) => a - b)) {
      const shares = [];
      for (const from of this.graph!.neighbours(to)) {
        const stored = this.shared.get(from);
        if (!stored) continue;
        const entry = stored.shareKeys.entries.find((e) => e.to === to)!;
        shares.push({ from, entry, digests: stored.digests, signature: stored.shareKeys.signature });
      }
      out.push({ to: this.members[to - 1]!, message: { type: 'relay', ...this.ctx, to, shares } });
    }
    return out;
  }

  private closeInput(): Outgoing[] {
    this.need(this.inputs.size, 'members that sent a masked input');
    const n = this.members.length;
    this.survivors = bitmapOf(n, this.inputs.keys());
    this.state = 'consistency';
    return [...this.inputs.keys()].map((i) => ({
      to: this.members[i - 1]!,
      message: { type: 'survivors', ...this.ctx, members: n, survivors: this.survivors },
    }));
  }

  private closeConsistency(): Outgoing[] {
    this.need(this.consistency.size, 'members that signed the survivor list');
    this.state = 'unmask';
    return [...this.consistency.keys()].map((i) => ({
      to: this.members[i - 1]!,
      message: {
        type: 'consistency-sigs',
        ...this.ctx,
        signatures: [i, ...this.graph!.neighbours(i)]
          .filter((j) => this.consistency.has(j))
          .map((j) => ({ index: j, signature: this.consistency.get(j)! })),
      },
    }));
  }

  /** Rebuilds the secrets it needs and removes every mask; throws without a partial sum. */
  private unmask(): SecAggResult {
    const t = this.degree!.t;
    const n = this.members.length;
    const graph = this.graph!;
    const sharesOf = new Map<number, { x: number; share: Uint8Array }[]>();
    for (const [holder, shares] of this.unmasked) {
      for (const s of shares) {
        const list = sharesOf.get(s.of) ?? [];
        list.push({ x: holder, share: s.share });
        sharesOf.set(s.of, list);
      }
    }
    const rebuild = (of: number, what: string): Uint8Array => {
      const list = sharesOf.get(of) ?? [];
      if (list.length < t) {
        throw new SecAggError(
          'too-many-dropouts',
          `server: ${what} of member ${of}: expected ${t} shares, got ${list.length}; the round ends without a sum`,
        );
      }
      return recoverSecret(list, t);
    };
    const length = this.options.vectorLength + 1;
    const sum = new Uint32Array(length);
    const survivorList = [...this.inputs.keys()].sort((a, b) => a - b);
    const droppedList = [...this.shared.keys()].filter((i) => !this.inputs.has(i)).sort((a, b) => a - b);
    // Rebuild every secret first: a failure leaves no partial sum behind.
    const selfSeeds = survivorList.map((i) => {
      const b = rebuild(i, 'the self-mask seed');
      const ad = this.ads.get(this.members[i - 1]!)!;
      if (!bytesEqual(selfMaskCommitment(this.ctx, ad.clientId, b), ad.selfCommitment)) {
        throw new SecAggError(
          'bad-share',
          `server: the self-mask seed rebuilt for member ${i} does not match its commitment`,
        );
      }
      return b;
    });
    const maskSeeds = droppedList.map((u) => {
      const m = rebuild(u, 'the mask-key seed');
      const pair = maskKeyPair(m);
      if (!bytesEqual(pair.publicKey, this.ads.get(this.members[u - 1]!)!.maskKey)) {
        throw new SecAggError(
          'bad-share',
          `server: the mask-key seed rebuilt for member ${u} does not give its mask key`,
        );
      }
      return { m, secretKey: pair.secretKey };
    });
    if (this.inputSum) sum.set(this.inputSum);
    selfSeeds.forEach((b) => {
      applyMask(sum, b, 'self', -1);
    });
    droppedList.forEach((u, k) => {
      const { m, secretKey } = maskSeeds[k]!;
      for (const j of graph.neighbours(u)) {
        if (!this.inputs.has(j)) continue;
        let seed: Uint8Array;
        if (u < j) {
          const enc = maskEncapsulate(m, this.ctx, u, j, this.ads.get(this.members[j - 1]!)!.maskKey);
          seed = pairSeed(enc.sharedSecret, this.ctx, u, j, enc.cipherText);
          // j (the higher index) subtracted this mask: add it back.
          applyMask(sum, seed, 'pairwise', 1);
        } else {
          const ct = this.shared.get(j)!.shareKeys.entries.find((e) => e.to === u)!.maskCipherText!;
          seed = pairSeed(decapsulate(ct, secretKey), this.ctx, j, u, ct);
          // j (the lower index) added this mask: take it away.
          applyMask(sum, seed, 'pairwise', -1);
        }
      }
    });
    const scale = ringScale(this.options.ring, n);
    const { weightedSum, totalWeight } = decodeSum(sum, scale);
    const mean = new Float32Array(weightedSum.length);
    if (totalWeight > 0) for (let j = 0; j < mean.length; j++) mean[j] = weightedSum[j]! / totalWeight;
    return {
      weightedSum,
      totalWeight,
      mean,
      errorBound: meanErrorBound(scale, survivorList.length, Math.max(1, totalWeight)),
      contributors: survivorList.map((i) => this.members[i - 1]!),
      dropped: droppedList.map((i) => this.members[i - 1]!),
      scale,
    };
  }
}
