/**
 * The client side of SecAgg+ (Bell et al., CCS 2020), as a transport-neutral state machine: a validated
 * server message in, the client's messages out. Nothing here does I/O or keeps timers; the round core
 * (src/core/round/) or any transport carries the messages (`handleBytes` for bytes, `handle` for decoded
 * messages).
 *
 * Phases: `new` → (config) → `advertised` → (keys) → `shared` → (relay) → `relayed` → (input set) →
 * `masked` → (survivors) → `signed` → (consistency-sigs) → `done`. Any refusal that shows the server (or a
 * neighbour) misbehaving moves the client to `aborted`, after which it answers nothing: in particular it
 * never answers the unmasking phase, and it answers it at most once, so it never reveals both a member's
 * self-mask share and its mask-key share. Stale or repeated messages (`wrong-round`, `wrong-phase`,
 * `replay`) are refused without aborting.
 * @module
 */
import { bytesEqual } from '../../crypto/bytes.ts';
import { type Identity, SIGNATURE_CONTEXT, sign, verify } from '../../crypto/identity.ts';
import { randomBytes } from '../../crypto/random.ts';
import { isSecAggError, SecAggError } from './errors.ts';
import { checkGraphParams, type Degree, NeighbourGraph, secAggDegree } from './graph.ts';
import {
  type Advertisement,
  advertiseSignedBytes,
  bitmapHas,
  type ClientMessage,
  type ConfigMessage,
  type ConsistencySigsMessage,
  decodeMessage,
  type EntryDigest,
  encodeMessage,
  entryDigest,
  type KeysMessage,
  type MaskedInputMessage,
  maskedInputSignedBytes,
  type RelayMessage,
  type ServerMessage,
  type ShareEntry,
  type SurvivorsMessage,
  shareKeysSignedBytes,
  survivorsSignedBytes,
  type UnmaskMessage,
  unmaskSignedBytes,
} from './messages.ts';
import {
  channelKeyPair,
  decapsulate,
  type KemKeyPair,
  maskEncapsulate,
  maskKeyPair,
  openShares,
  pairSeed,
  type RoundContext,
  type SharePair,
  sealShares,
  selfMaskCommitment,
} from './pairwise.ts';
import { applyMask } from './prg.ts';
import { encodeUpdate, ringScale } from './ring.ts';
import { shareSecret } from './shamir.ts';

export type ClientPhase =
  | 'new'
  | 'advertised'
  | 'shared'
  | 'relayed'
  | 'masked'
  | 'signed'
  | 'done'
  | 'aborted';

/** What the differential-privacy hook is asked for: integer noise in ring units for `length` elements. */
export interface NoiseRequest {
  /** The fixed-point scale S: one ring unit is 1/S of a weighted value (ring.ts). */
  scale: number;
  /** d + 1: the update's elements and the sample-count element (leave that one 0 to keep weights exact). */
  length: number;
  /** Members of the round (the sum has at most this many contributions). */
  members: number;
}

export interface SecAggClientOptions {
  clientId: string;
  /** The client's ML-DSA-65 identity: it signs every message of the round. */
  identity: Identity;
  /** The round the transport expects; a config for another session or round is refused (`wrong-round`). */
  context?: RoundContext;
  /**
   * Differential-privacy hook (src/core/privacy/): integer noise (ring units) added to the encoded update
   * before masking. The server sees only the sum, with everyone's noise in it.
   */
  noise?: (request: NoiseRequest) => Int32Array;
}

const QUIET: ReadonlySet<string> = new Set(['wrong-round', 'wrong-phase', 'replay']);
const ORDER: readonly ServerMessage['type'][] = ['config', 'keys', 'relay', 'survivors', 'consistency-sigs'];
const EXPECTS: Partial<Record<ClientPhase, ServerMessage['type']>> = {
  new: 'config',
  advertised: 'keys',
  shared: 'relay',
  masked: 'survivors',
  signed: 'consistency-sigs',
};

export class SecAggClient {
  readonly clientId: string;
  private readonly identity: Identity;
  private readonly options: SecAggClientOptions;
  private state: ClientPhase = 'new';
  private config?: ConfigMessage;
  private ctx?: RoundContext;
  private selfSeed?: Uint8Array;
  private maskSeed?: Uint8Array;
  private channel?: KemKeyPair;
  private mask?: KemKeyPair;
  private members = 0;
  private index = 0;
  private degree?: Degree;
  private graph?: NeighbourGraph;
  private neighbourAds = new Map<number, Advertisement>();
  /** The shares this client holds: its own, then each relaying neighbour's. */
  private held = new Map<number, SharePair>();
  /** Pairwise mask seeds by neighbour. */
  private seeds = new Map<number, Uint8Array>();
  private input?: { update: Float32Array; numSamples: number };
  private survivors?: Uint8Array;
  private survivorBytes?: Uint8Array;
  private ownConsistency?: Uint8Array;

  constructor(options: SecAggClientOptions) {
    if (typeof options.clientId !== 'string' || options.clientId.length === 0) {
      throw new SecAggError('bad-config', 'client: expected a non-empty client id');
    }
    this.clientId = options.clientId;
    this.identity = options.identity;
    this.options = options;
  }

  get phase(): ClientPhase {
    return this.state;
  }

  /** The member index the server gave this client (0 before the keys phase). */
  get memberIndex(): number {
    return this.index;
  }

  /** Decodes a server message, handles it, and encodes the answers. */
  handleBytes(bytes: Uint8Array): Uint8Array[] {
    const message = decodeMessage(bytes);
    if (!isServerMessage(message)) {
      throw new SecAggError('malformed', `client: expected a server message, got "${message.type}"`);
    }
    return this.handle(message).map(encodeMessage);
  }

  /** Handles one (decoded) server message; returns the messages to send to the server. */
  handle(message: ServerMessage): ClientMessage[] {
    try {
      return this.dispatch(message);
    } catch (e) {
      if (!(isSecAggError(e) && QUIET.has(e.reason))) this.abort();
      throw e;
    }
  }

  /**
   * Gives the client its update (length d) and sample count. May come before or after the relay; the
   * masked input is returned as soon as both are there.
   */
  setInput(update: Float32Array, numSamples: number): ClientMessage[] {
    if (!(update instanceof Float32Array))
      throw new SecAggError('bad-input', 'client: expected a Float32Array update');
    if (this.input) throw new SecAggError('replay', 'client: the input was already set for this round');
    if (this.config && update.length !== this.config.vectorLength) {
      throw new SecAggError(
        'bad-length',
        `client: expected an update of ${this.config.vectorLength} elements, got ${update.length}`,
      );
    }
    const cap = this.config?.ring.maxWeight ?? 2 ** 31;
    if (!Number.isSafeInteger(numSamples) || numSamples < 1 || numSamples > cap) {
      throw new SecAggError('bad-input', `client: expected a sample count in [1, ${cap}], got ${numSamples}`);
    }
    this.input = { update, numSamples };
    return this.state === 'relayed' ? [this.maskedInput()] : [];
  }

  private dispatch(m: ServerMessage): ClientMessage[] {
    if (this.state === 'aborted' || this.state === 'done') {
      throw new SecAggError('wrong-phase', `client: the round is ${this.state}, got "${m.type}"`);
    }
    const expected = EXPECTS[this.state];
    if (m.type !== expected) {
      const earlier = ORDER.indexOf(m.type) < ORDER.indexOf(expected ?? 'consistency-sigs');
      throw new SecAggError(
        earlier ? 'replay' : 'wrong-phase',
        `client: in phase ${this.state} expected "${expected ?? 'nothing'}", got "${m.type}"`,
      );
    }
    if (m.type === 'config') return [this.onConfig(m)];
    this.checkContext(m);
    switch (m.type) {
      case 'keys':
        return [this.onKeys(m)];
      case 'relay':
        this.onRelay(m);
        return this.input ? [this.maskedInput()] : [];
      case 'survivors':
        return [this.onSurvivors(m)];
      case 'consistency-sigs':
        return [this.onConsistency(m)];
    }
  }

  private checkContext(m: RoundContext): void {
    const ctx = this.ctx!;
    if (!bytesEqual(m.session, ctx.session) || m.round !== ctx.round) {
      throw new SecAggError(
        'wrong-round',
        `client: expected round ${ctx.round} of this session, got round ${m.round}`,
      );
    }
  }

  private onConfig(m: ConfigMessage): ClientMessage {
    const want = this.options.context;
    if (want && (!bytesEqual(m.session, want.session) || m.round !== want.round)) {
      throw new SecAggError(
        'wrong-round',
        `client: expected a config for round ${want.round}, got round ${m.round}`,
      );
    }
    checkGraphParams(m.graph);
    if (!(m.ring.clip > 0))
      throw new SecAggError('bad-config', `client: expected a clip bound > 0, got ${m.ring.clip}`);
    if (this.input && this.input.update.length !== m.vectorLength) {
      throw new SecAggError(
        'bad-length',
        `client: the round wants ${m.vectorLength} elements, the input has ${this.input.update.length}`,
      );
    }
    this.config = m;
    this.ctx = { session: m.session, round: m.round };
    this.selfSeed = randomBytes(32);
    this.maskSeed = randomBytes(32);
    this.channel = channelKeyPair();
    this.mask = maskKeyPair(this.maskSeed);
    const body = {
      clientId: this.clientId,
      identityKey: this.identity.publicKey,
      channelKey: this.channel.publicKey,
      maskKey: this.mask.publicKey,
      selfCommitment: selfMaskCommitment(this.ctx, this.clientId, this.selfSeed),
    };
    const signature = sign(this.identity.secretKey, advertiseSignedBytes(this.ctx, body), {
      context: SIGNATURE_CONTEXT.secaggAdvertise,
    });
    this.state = 'advertised';
    return { type: 'advertise', ...this.ctx, advertisement: { ...body, signature } };
  }

  private onKeys(m: KeysMessage): ClientMessage {
    const config = this.config!;
    const ctx = this.ctx!;
    if (m.members < config.minMembers) {
      throw new SecAggError(
        'too-many-dropouts',
        `client: expected at least ${config.minMembers} members, got ${m.members}`,
      );
    }
    const degree = secAggDegree(m.members, config.graph);
    ringScale(config.ring, m.members);
    const graph = new NeighbourGraph(config.seed, degree);
    const expected = graph.neighbours(m.index);
    const got = m.neighbours.map((n) => n.index);
    if (got.length !== expected.length || got.some((g, i) => g !== expected[i])) {
      throw new SecAggError(
        'unknown-client',
        `client: expected the ${expected.length} neighbours the round seed gives index ${m.index}, got a different list of ${got.length}`,
      );
    }
    const ids = new Set<string>([this.clientId]);
    const keys: Uint8Array[] = [this.identity.publicKey];
    for (const { index, advertisement: a } of m.neighbours) {
      if (ids.has(a.clientId))
        throw new SecAggError('replay', `client: neighbour ${index} repeats client id "${a.clientId}"`);
      if (keys.some((k) => bytesEqual(k, a.identityKey))) {
        throw new SecAggError(
          'replay',
          `client: neighbour ${index} repeats an identity key already in the round`,
        );
      }
      ids.add(a.clientId);
      keys.push(a.identityKey);
      if (
        !verify(a.identityKey, advertiseSignedBytes(ctx, a), a.signature, SIGNATURE_CONTEXT.secaggAdvertise)
      ) {
        throw new SecAggError(
          'bad-signature',
          `client: the advertisement of neighbour ${index} ("${a.clientId}") is not signed by its key`,
        );
      }
    }
    this.members = m.members;
    this.index = m.index;
    this.degree = degree;
    this.graph = graph;
    for (const n of m.neighbours) this.neighbourAds.set(n.index, n.advertisement);

    const group = [m.index, ...expected];
    const selfShares = shareSecret(this.selfSeed!, degree.t, group);
    const maskShares = shareSecret(this.maskSeed!, degree.t, group);
    this.held.set(m.index, { selfShare: selfShares[0]!, maskShare: maskShares[0]! });
    const entries: ShareEntry[] = [];
    expected.forEach((to, i) => {
      const ad = this.neighbourAds.get(to)!;
      const { cipherText, sealed } = sealShares(ctx, m.index, to, ad.channelKey, {
        selfShare: selfShares[i + 1]!,
        maskShare: maskShares[i + 1]!,
      });
      let maskCipherText: Uint8Array | null = null;
      if (m.index < to) {
        const enc = maskEncapsulate(this.maskSeed!, ctx, m.index, to, ad.maskKey);
        maskCipherText = enc.cipherText;
        this.seeds.set(to, pairSeed(enc.sharedSecret, ctx, m.index, to, enc.cipherText));
      }
      entries.push({ to, channelCipherText: cipherText, maskCipherText, sealed });
    });
    const digests = entries.map((e) => ({ to: e.to, digest: entryDigest(e) }));
    const signature = sign(this.identity.secretKey, shareKeysSignedBytes(ctx, m.index, digests), {
      context: SIGNATURE_CONTEXT.secaggShares,
    });
    this.state = 'shared';
    return { type: 'share-keys', ...ctx, from: m.index, entries, signature };
  }

  private onRelay(m: RelayMessage): void {
    const ctx = this.ctx!;
    const graph = this.graph!;
    if (m.to !== this.index) {
      throw new SecAggError(
        'unknown-client',
        `client: expected a relay for index ${this.index}, got one for ${m.to}`,
      );
    }
    const held = new Map<number, SharePair>();
    const seeds = new Map<number, Uint8Array>();
    for (const s of m.shares) {
      const ad = this.neighbourAds.get(s.from);
      if (!ad)
        throw new SecAggError('unknown-client', `client: relayed shares from ${s.from}, not a neighbour`);
      if (held.has(s.from)) throw new SecAggError('replay', `client: shares from ${s.from} relayed twice`);
      checkDigests(s.digests, graph.neighbours(s.from), s.from);
      const e = s.entry;
      if (e.to !== this.index)
        throw new SecAggError('unknown-client', `client: an entry from ${s.from} for ${e.to}`);
      if ((e.maskCipherText !== null) !== s.from < this.index) {
        throw new SecAggError(
          'malformed',
          `client: the entry from ${s.from} must carry a mask ciphertext only from the lower index`,
        );
      }
      const own = s.digests.find((d) => d.to === this.index)!;
      if (!bytesEqual(own.digest, entryDigest(e))) {
        throw new SecAggError(
          'bad-signature',
          `client: the entry from ${s.from} does not match the digest it signed`,
        );
      }
      if (
        !verify(
          ad.identityKey,
          shareKeysSignedBytes(ctx, s.from, s.digests),
          s.signature,
          SIGNATURE_CONTEXT.secaggShares,
        )
      ) {
        throw new SecAggError(
          'bad-signature',
          `client: the shares relayed from ${s.from} are not signed by its key`,
        );
      }
      held.set(
        s.from,
        openShares(ctx, s.from, this.index, this.channel!.secretKey, e.channelCipherText, e.sealed),
      );
      if (e.maskCipherText) {
        const ss = decapsulate(e.maskCipherText, this.mask!.secretKey);
        seeds.set(s.from, pairSeed(ss, ctx, s.from, this.index, e.maskCipherText));
      }
    }
    if (held.size + 1 < this.degree!.t) {
      throw new SecAggError(
        'too-many-dropouts',
        `client: expected shares from at least ${this.degree!.t - 1} neighbours, got ${held.size}`,
      );
    }
    for (const [from, pair] of held) this.held.set(from, pair);
    // Keep the pairwise seeds of neighbours still in the round (they relayed): the ones this client
    // derived itself for higher neighbours, and the ones decapsulated from lower neighbours.
    for (const to of [...this.seeds.keys()]) if (!held.has(to)) this.seeds.delete(to);
    for (const [from, seed] of seeds) this.seeds.set(from, seed);
    this.state = 'relayed';
  }

  private maskedInput(): MaskedInputMessage {
    const config = this.config!;
    const ctx = this.ctx!;
    const { update, numSamples } = this.input!;
    const scale = ringScale(config.ring, this.members);
    const vector = encodeUpdate(update, numSamples, config.ring, scale);
    if (this.options.noise) {
      const noise = this.options.noise({ scale, length: vector.length, members: this.members });
      if (!(noise instanceof Int32Array) || noise.length !== vector.length) {
        throw new SecAggError(
          'bad-input',
          `client: expected noise as an Int32Array of ${vector.length}, got ${noise?.length}`,
        );
      }
      for (let i = 0; i < vector.length; i++) vector[i] = (vector[i]! + noise[i]!) >>> 0;
    }
    applyMask(vector, this.selfSeed!, 'self', 1);
    for (const [j, seed] of this.seeds) applyMask(vector, seed, 'pairwise', this.index < j ? 1 : -1);
    const signature = sign(this.identity.secretKey, maskedInputSignedBytes(ctx, this.index, vector), {
      context: SIGNATURE_CONTEXT.secaggInput,
    });
    this.state = 'masked';
    return { type: 'masked-input', ...ctx, index: this.index, vector, signature };
  }

  private onSurvivors(m: SurvivorsMessage): ClientMessage {
    const ctx = this.ctx!;
    if (m.members !== this.members) {
      throw new SecAggError(
        'inconsistent-survivors',
        `client: expected a list of ${this.members} members, got ${m.members}`,
      );
    }
    if (!bitmapHas(m.survivors, this.index)) {
      throw new SecAggError(
        'inconsistent-survivors',
        `client: the survivor list leaves out this client (${this.index}), which sent its input`,
      );
    }
    let count = 0;
    for (let i = 1; i <= m.members; i++) if (bitmapHas(m.survivors, i)) count++;
    if (count < this.degree!.t) {
      throw new SecAggError(
        'too-many-dropouts',
        `client: expected at least ${this.degree!.t} survivors, got ${count}`,
      );
    }
    for (const j of this.graph!.neighbours(this.index)) {
      if (bitmapHas(m.survivors, j) && !this.held.has(j)) {
        throw new SecAggError(
          'inconsistent-survivors',
          `client: neighbour ${j} is listed as a survivor but never shared its keys`,
        );
      }
    }
    this.survivors = m.survivors;
    this.survivorBytes = survivorsSignedBytes(ctx, m.members, m.survivors);
    this.ownConsistency = sign(this.identity.secretKey, this.survivorBytes, {
      context: SIGNATURE_CONTEXT.secaggSurvivors,
    });
    this.state = 'signed';
    return { type: 'consistency', ...ctx, index: this.index, signature: this.ownConsistency };
  }

  private onConsistency(m: ConsistencySigsMessage): ClientMessage {
    const ctx = this.ctx!;
    const signers = new Set<number>();
    for (const s of m.signatures) {
      if (signers.has(s.index))
        throw new SecAggError('replay', `client: two consistency signatures of ${s.index}`);
      signers.add(s.index);
      if (s.index === this.index) {
        if (!bytesEqual(s.signature, this.ownConsistency!)) {
          throw new SecAggError(
            'inconsistent-survivors',
            'client: the server relayed a signature of this client it never made',
          );
        }
        continue;
      }
      const ad = this.neighbourAds.get(s.index);
      if (!ad)
        throw new SecAggError(
          'unknown-client',
          `client: a consistency signature of ${s.index}, not a neighbour`,
        );
      if (!bitmapHas(this.survivors!, s.index)) {
        throw new SecAggError(
          'inconsistent-survivors',
          `client: a consistency signature of ${s.index}, not a survivor`,
        );
      }
      if (!verify(ad.identityKey, this.survivorBytes!, s.signature, SIGNATURE_CONTEXT.secaggSurvivors)) {
        throw new SecAggError(
          'inconsistent-survivors',
          `client: neighbour ${s.index} did not sign the survivor list this client saw (another list, or a forgery)`,
        );
      }
    }
    signers.add(this.index);
    if (signers.size < this.degree!.t) {
      throw new SecAggError(
        'inconsistent-survivors',
        `client: expected at least ${this.degree!.t} signatures on the survivor list from its group, got ${signers.size}`,
      );
    }
    const shares: UnmaskMessage['shares'] = [];
    for (const [of, pair] of [...this.held].sort((a, b) => a[0] - b[0])) {
      shares.push(
        bitmapHas(this.survivors!, of)
          ? { of, kind: 'self', share: pair.selfShare }
          : { of, kind: 'mask', share: pair.maskShare },
      );
    }
    const signature = sign(this.identity.secretKey, unmaskSignedBytes(ctx, this.index, shares), {
      context: SIGNATURE_CONTEXT.secaggUnmask,
    });
    this.state = 'done';
    this.forget();
    return { type: 'unmask', ...ctx, index: this.index, shares, signature };
  }

  private abort(): void {
    this.state = 'aborted';
    this.forget();
  }

  /** Drops the round's secrets (seeds, secret keys, held shares). */
  private forget(): void {
    this.selfSeed?.fill(0);
    this.maskSeed?.fill(0);
    this.channel?.secretKey.fill(0);
    this.mask?.secretKey.fill(0);
    for (const s of this.seeds.values()) s.fill(0);
    this.seeds.clear();
    this.held.clear();
  }
}

function isServerMessage(m: { type: string }): m is ServerMessage {
  return (ORDER as readonly string[]).includes(m.type);
}

/** The digest list of `from` must name exactly its neighbours, ascending. */
function checkDigests(digests: readonly EntryDigest[], neighbours: readonly number[], from: number): void {
  if (digests.length !== neighbours.length || digests.some((d, i) => d.to !== neighbours[i])) {
    throw new SecAggError(
      'unknown-client',
      `client: the digest list of ${from} does not name exactly its neighbours`,
    );
  }
}
