/**
 * The server's cost of a SecAgg+ round (src/core/secagg/server.ts) at a size where running every member's
 * real client is out of reach on a small machine: 1,000 members cost 3·n·k ≈ 280,000 ML-KEM operations
 * and 3·n·k ML-DSA-65 verifications on the clients' side (≈ 10 CPU-minutes here), none of which the server
 * sees.
 *
 * The real `SecAggServer` runs the whole round with all n members, at the full vector length, with
 * ⌊δn/2⌋ members dropping before their masked input (as in the full mode of src/bench/secagg.ts). The
 * members are a driver that sends what real clients send, byte for byte in size and format, with real
 * ML-DSA-65 signatures on every message, real mask keys, real Shamir shares of real seeds and real
 * masked inputs; it saves client work only where the server's work does not depend on it:
 * - the channel ciphertexts and sealed share pairs are random bytes of their exact sizes (the server only
 *   hashes and relays them; the driver hands each holder its shares directly);
 * - the mask ciphertexts of pairs of two survivors are random bytes of their size, and those pairs'
 *   masks are left out of the masked inputs (they cancel in the sum; the server never decapsulates them).
 *   Pairs with a dropped member get the real encapsulation and mask, which the server rebuilds.
 * The server's compute (CPU time of its calls, including decoding what it receives and encoding what it
 * sends) and bytes are measured exactly as in a simulated round; its sum is checked against the plain
 * weighted sum. The per-message sizes equal a real round's (src/bench/secagg.test.ts checks the server's
 * bytes against a full round of real clients).
 * @module
 */

import {
  DEFAULT_GRAPH_PARAMS,
  type GraphParams,
  NeighbourGraph,
  secAggDegree,
} from '../core/secagg/graph.ts';
import {
  advertiseSignedBytes,
  bitmapHas,
  type ClientMessage,
  encodeMessage,
  entryDigest,
  maskedInputSignedBytes,
  type ServerMessage,
  type ShareEntry,
  shareKeysSignedBytes,
  survivorsSignedBytes,
  type UnmaskMessage,
  unmaskSignedBytes,
} from '../core/secagg/messages.ts';
import {
  channelKeyPair,
  KEM,
  maskEncapsulate,
  maskKeyPair,
  pairSeed,
  type RoundContext,
  SEALED_SHARES_BYTES,
  selfMaskCommitment,
} from '../core/secagg/pairwise.ts';
import { applyMask } from '../core/secagg/prg.ts';
import { encodeUpdate, type RingParams, ringScale } from '../core/secagg/ring.ts';
import { SecAggServer } from '../core/secagg/server.ts';
import { shareSecret } from '../core/secagg/shamir.ts';
import { type Cost, makeMembers, plainWeightedSum } from '../core/secagg/simulation.ts';
import { type Identity, SIGNATURE_CONTEXT, type SignatureContext, sign } from '../crypto/identity.ts';
import { randomBytes } from '../crypto/random.ts';

export interface ServerCostOptions {
  members: number;
  vectorLength: number;
  graph?: GraphParams;
  ring?: RingParams;
  /** Members that drop before their masked input (default ⌊δn/2⌋, the same members as the full mode). */
  dropouts?: number;
  /** CPU clock, ms. */
  clock: () => number;
  seed: Uint8Array;
  /** Called now and then with a line on the driver's progress. */
  progress?: (line: string) => void;
}

export interface ServerCost {
  k: number;
  t: number;
  dropouts: number;
  /** The server's compute (CPU ms) and the bytes it received (in) and sent (out). */
  ms: number;
  bytesIn: number;
  bytesOut: number;
  /** True when the server produced the sum and it matches the plain weighted sum within its bound. */
  completed: boolean;
}

interface Driven {
  clientId: string;
  identity: Identity;
  update: Float32Array;
  numSamples: number;
  dropped: boolean;
  selfSeed: Uint8Array;
  maskSeed: Uint8Array;
  mask: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/** Runs one round of the real server against the driver (see the module comment). */
export function measureServerCost(o: ServerCostOptions): ServerCost {
  const graphParams = o.graph ?? DEFAULT_GRAPH_PARAMS;
  const ring = o.ring ?? { clip: 1, maxWeight: 10_000 };
  const n = o.members;
  const d = o.vectorLength;
  const ctx: RoundContext = { session: new Uint8Array(16).fill(7), round: 1 };
  const dropouts = o.dropouts ?? Math.floor((graphParams.delta * n) / 2);
  const base = makeMembers(n, d);
  for (let i = 0; i < dropouts; i++) base[(i * 7 + 3) % n]!.dropBefore = 'input';
  // One real channel key stands in for every member's (the server only relays it).
  const channelKey = channelKeyPair().publicKey;
  const members: Driven[] = base.map((m) => {
    const maskSeed = randomBytes(32);
    return {
      clientId: m.clientId,
      identity: m.identity,
      update: m.update,
      numSamples: m.numSamples,
      dropped: m.dropBefore !== undefined,
      selfSeed: randomBytes(32),
      maskSeed,
      mask: maskKeyPair(maskSeed),
    };
  });
  const cost: Cost = { ms: 0, bytesUp: 0, bytesDown: 0 };
  const timed = <T>(fn: () => T): T => {
    const start = o.clock();
    try {
      return fn();
    } finally {
      cost.ms += o.clock() - start;
    }
  };
  const server = timed(
    () =>
      new SecAggServer({ ...ctx, vectorLength: d, ring, graph: graphParams, minMembers: 2, seed: o.seed }),
  );
  const send = (from: string, m: ClientMessage): void => {
    const bytes = encodeMessage(m);
    cost.bytesUp += bytes.length;
    timed(() => server.receiveBytes(from, bytes));
  };
  /**
   * Closes a phase; the server's messages are encoded on its clock, except to members that have gone (as
   * in a simulated round: from the relays on, the dropped members are gone). Returns them by recipient.
   */
  const close = (): Map<string, ServerMessage> => {
    const out = timed(() => server.advance());
    const byId = new Map<string, ServerMessage>();
    for (const { to, message } of out) {
      if (message.type !== 'keys' && gone.has(to)) continue;
      const bytes = timed(() => encodeMessage(message));
      cost.bytesDown += bytes.length;
      byId.set(to, message);
    }
    return byId;
  };
  const say = o.progress ?? (() => {});
  const signAs = (m: Driven, bytes: Uint8Array, context: SignatureContext) =>
    sign(m.identity.secretKey, bytes, { context });

  // Phase 1: advertise. Members are indexed in sorted id order, which is creation order.
  const gone = new Set(members.filter((m) => m.dropped).map((m) => m.clientId));
  const config = timed(() => server.config());
  for (let i = 0; i < n; i++) cost.bytesDown += timed(() => encodeMessage(config)).length;
  members.forEach((m, i) => {
    const body = {
      clientId: m.clientId,
      identityKey: m.identity.publicKey,
      channelKey,
      maskKey: m.mask.publicKey,
      selfCommitment: selfMaskCommitment(ctx, m.clientId, m.selfSeed),
    };
    const signature = signAs(m, advertiseSignedBytes(ctx, body), SIGNATURE_CONTEXT.secaggAdvertise);
    send(m.clientId, { type: 'advertise', ...ctx, advertisement: { ...body, signature } });
    if ((i + 1) % 250 === 0) say(`server mode: ${i + 1} of ${n} members advertised`);
  });
  close();
  const degree = secAggDegree(n, graphParams);
  const graph = new NeighbourGraph(o.seed, degree);
  const member = (index: number) => members[index - 1]!;

  // Phase 2: share keys. held.get(h) = the shares holder h reveals later: index → [self, mask].
  const held = new Map<number, Map<number, [Uint8Array, Uint8Array]>>();
  for (let i = 1; i <= n; i++) held.set(i, new Map());
  const pairSeeds = new Map<string, Uint8Array>(); // "low,high" → seed, for pairs with a dropped member
  const fakeCt = randomBytes(KEM.cipherText);
  const fakeSealed = randomBytes(SEALED_SHARES_BYTES);
  for (let i = 1; i <= n; i++) {
    const m = member(i);
    const neighbours = graph.neighbours(i);
    const group = [i, ...neighbours];
    const selfShares = shareSecret(m.selfSeed, degree.t, group);
    const maskShares = shareSecret(m.maskSeed, degree.t, group);
    group.forEach((h, g) => {
      held.get(h)!.set(i, [selfShares[g]!, maskShares[g]!]);
    });
    const entries: ShareEntry[] = neighbours.map((to) => {
      let maskCipherText: Uint8Array | null = null;
      if (i < to) {
        if (m.dropped || member(to).dropped) {
          const enc = maskEncapsulate(m.maskSeed, ctx, i, to, member(to).mask.publicKey);
          maskCipherText = enc.cipherText;
          pairSeeds.set(`${i},${to}`, pairSeed(enc.sharedSecret, ctx, i, to, enc.cipherText));
        } else maskCipherText = fakeCt;
      }
      return { to, channelCipherText: fakeCt, maskCipherText, sealed: fakeSealed };
    });
    const digests = entries.map((e) => ({ to: e.to, digest: entryDigest(e) }));
    const signature = signAs(m, shareKeysSignedBytes(ctx, i, digests), SIGNATURE_CONTEXT.secaggShares);
    send(m.clientId, { type: 'share-keys', ...ctx, from: i, entries, signature });
    if (i % 250 === 0) say(`server mode: ${i} of ${n} members shared keys`);
  }
  close();

  // Phase 3: masked inputs from the survivors: the self-mask, and the masks shared with dropped neighbours.
  const scale = ringScale(ring, n);
  for (let i = 1; i <= n; i++) {
    const m = member(i);
    if (m.dropped) continue;
    const vector = encodeUpdate(m.update, m.numSamples, ring, scale);
    applyMask(vector, m.selfSeed, 'self', 1);
    for (const j of graph.neighbours(i)) {
      if (!member(j).dropped) continue;
      const seed = i < j ? pairSeeds.get(`${i},${j}`)! : pairSeeds.get(`${j},${i}`)!;
      applyMask(vector, seed, 'pairwise', i < j ? 1 : -1);
    }
    const signature = signAs(m, maskedInputSignedBytes(ctx, i, vector), SIGNATURE_CONTEXT.secaggInput);
    send(m.clientId, { type: 'masked-input', ...ctx, index: i, vector, signature });
    if (i % 250 === 0) say(`server mode: ${i} of ${n} masked inputs sent`);
  }
  const survivorsMessages = close();

  // Phase 4: every survivor signs the survivor list.
  for (let i = 1; i <= n; i++) {
    const m = member(i);
    const sm = survivorsMessages.get(m.clientId);
    if (!sm || sm.type !== 'survivors') continue;
    const signature = signAs(
      m,
      survivorsSignedBytes(ctx, sm.members, sm.survivors),
      SIGNATURE_CONTEXT.secaggSurvivors,
    );
    send(m.clientId, { type: 'consistency', ...ctx, index: i, signature });
  }
  const sigsMessages = close();
  const survivors = (survivorsMessages.values().next().value as { survivors: Uint8Array }).survivors;

  // Phase 5: every survivor reveals, for each member of its group that shared keys, the share the
  // survivor list calls for.
  for (let i = 1; i <= n; i++) {
    const m = member(i);
    if (!sigsMessages.has(m.clientId)) continue;
    const shares: UnmaskMessage['shares'] = [...held.get(i)!]
      .sort((a, b) => a[0] - b[0])
      .map(([of, [self, mask]]) =>
        bitmapHas(survivors, of) ? { of, kind: 'self', share: self } : { of, kind: 'mask', share: mask },
      );
    const signature = signAs(m, unmaskSignedBytes(ctx, i, shares), SIGNATURE_CONTEXT.secaggUnmask);
    send(m.clientId, { type: 'unmask', ...ctx, index: i, shares, signature });
    if (i % 250 === 0) say(`server mode: ${i} of ${n} members revealed their shares`);
  }
  timed(() => server.advance());

  const result = server.result;
  let completed = false;
  if (result) {
    const plain = plainWeightedSum(
      base.filter((b) => !b.dropBefore),
      ring.clip,
    );
    const tol = result.errorBound * Math.max(1, result.totalWeight);
    completed =
      result.totalWeight === plain.weight &&
      plain.sum.every((x, j) => Math.abs(x - result.weightedSum[j]!) <= tol + 1e-9);
  }
  return {
    k: degree.k,
    t: degree.t,
    dropouts,
    ms: cost.ms,
    bytesIn: cost.bytesUp,
    bytesOut: cost.bytesDown,
    completed,
  };
}
