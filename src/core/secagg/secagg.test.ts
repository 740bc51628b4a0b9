/**
 * Whole SecAgg+ rounds in one process with real cryptography: correctness against the plain weighted sum,
 * dropouts, a clean failure below threshold, what the server sees, and refusals of hostile messages.
 */
import { describe, expect, it } from 'vitest';
import { sign } from '../../crypto/identity.ts';
import { SecAggClient } from './client.ts';
import { isSecAggError, type SecAggRefusal } from './errors.ts';
import {
  type ClientMessage,
  decodeMessage,
  encodeMessage,
  type MaskedInputMessage,
  maskedInputSignedBytes,
  type ServerMessage,
  type UnmaskMessage,
  unmaskSignedBytes,
} from './messages.ts';
import { decodeSum, encodeUpdate, ringScale } from './ring.ts';
import { type Outgoing, SecAggServer } from './server.ts';
import { makeMembers, plainWeightedSum, type SimulatedMember, simulateRound } from './simulation.ts';
import { pearson } from './test-support.ts';

const RING = { clip: 1, maxWeight: 1000 };
/** Tolerates 40% dropouts: with 10 members the graph is complete, t = 6. */
const GRAPH = { sigma: 40, eta: 30, gamma: 0.05, delta: 0.4 };
const SESSION = new Uint8Array(16).fill(7);
const CTX = { session: SESSION, round: 1 };

function expectRefusal(f: () => unknown, reason: SecAggRefusal): void {
  try {
    f();
  } catch (e) {
    if (!isSecAggError(e)) throw e;
    expect(e.reason, e.message).toBe(reason);
    return;
  }
  expect.unreachable(`expected a SecAggError (${reason})`);
}

/** The exact ring sum of `members`' encoded updates, decoded: what the protocol must give back. */
function ringSum(members: SimulatedMember[], n: number) {
  const scale = ringScale(RING, n);
  const sum = new Uint32Array(members[0]!.update.length + 1);
  for (const m of members) {
    const v = encodeUpdate(m.update, m.numSamples, RING, scale);
    for (let j = 0; j < v.length; j++) sum[j] = (sum[j]! + v[j]!) >>> 0;
  }
  return decodeSum(sum, scale);
}

const members10 = makeMembers(10, 2000);
/** Whole rounds sign and verify a few hundred ML-DSA-65 messages: give a shared, loaded machine room. */
const ROUND_MS = 180_000;

describe('SecAgg+ rounds', { timeout: ROUND_MS }, () => {
  it('recovers the plain weighted sum within the quantization bound, and the ring sum exactly', () => {
    const report = simulateRound(members10, { ring: RING, graph: GRAPH });
    expect(report.error).toBeUndefined();
    const r = report.result!;
    expect(r.contributors.length).toBe(10);
    const plain = plainWeightedSum(members10, RING.clip);
    expect(r.totalWeight).toBe(plain.weight);
    let worst = 0;
    for (let j = 0; j < plain.sum.length; j++) {
      worst = Math.max(worst, Math.abs(r.mean[j]! - plain.sum[j]! / plain.weight));
    }
    // The mean is a float32: allow its rounding on top of the stated bound.
    expect(worst).toBeLessThanOrEqual(r.errorBound + 1e-7);
    expect(r.weightedSum).toEqual(ringSum(members10, 10).weightedSum);
  });

  it('10 members, 1 dropping before its masked input and 3 after it: the exact sum of the 9 inputs', () => {
    const members = members10.map((m) => ({ ...m }));
    members[2]!.dropBefore = 'input';
    for (const i of [4, 6, 9]) members[i]!.dropAfter = 'input';
    const report = simulateRound(members, { ring: RING, graph: GRAPH });
    expect(report.error).toBeUndefined();
    const r = report.result!;
    expect(r.dropped).toEqual([members[2]!.clientId]);
    const inputs = members.filter((_, i) => i !== 2);
    expect(r.contributors).toEqual(inputs.map((m) => m.clientId));
    expect(r.weightedSum).toEqual(ringSum(inputs, 10).weightedSum);
    expect(r.totalWeight).toBe(inputs.reduce((s, m) => s + m.numSamples, 0));
    expect(report.server.roundDegree).toEqual({ n: 10, k: 9, t: 6, complete: true });
  });

  it('with more than n − t dropped (5 of 10, t = 6) the round fails with too-many-dropouts and no sum', () => {
    const members = members10.map((m) => ({ ...m }));
    members[1]!.dropBefore = 'input';
    for (const i of [3, 5, 7, 8]) members[i]!.dropAfter = 'input';
    const report = simulateRound(members, { ring: RING, graph: GRAPH });
    expect(isSecAggError(report.error, 'too-many-dropouts')).toBe(true);
    expect(report.result).toBeUndefined();
    expect(report.server.phase).toBe('failed');
    expect(report.server.result).toBeUndefined();
    expect(isSecAggError(report.server.error, 'too-many-dropouts')).toBe(true);
    // A failed round takes nothing more.
    expectRefusal(() => report.server.advance(), 'wrong-phase');
  });

  it('fails as cleanly when too few send masked inputs (6 of 10 drop before it)', () => {
    const members = members10.map((m, i) => ({ ...m, dropBefore: i < 6 ? ('input' as const) : undefined }));
    const report = simulateRound(members, { ring: RING, graph: GRAPH });
    expect(isSecAggError(report.error, 'too-many-dropouts')).toBe(true);
    expect(report.server.result).toBeUndefined();
  });

  it('works on a sparse graph: 20 members with degree 6 and 2 dropouts', () => {
    const members = makeMembers(20, 64);
    members[0]!.dropBefore = 'input';
    members[13]!.dropAfter = 'input';
    const graph = { sigma: 40, eta: 20, gamma: 0, delta: 0.1 };
    const report = simulateRound(members, { ring: RING, graph });
    expect(report.error).toBeUndefined();
    const degree = report.server.roundDegree!;
    expect(degree.complete).toBe(false);
    expect(degree).toEqual({ n: 20, k: 6, t: 4, complete: false });
    const inputs = members.filter((_, i) => i !== 0);
    expect(report.result!.weightedSum).toEqual(ringSum(inputs, 20).weightedSum);
  });
});

describe('what the server sees', { timeout: ROUND_MS }, () => {
  it('records everything the server receives: masked inputs are uncorrelated with the updates, and no member has both secrets revealed', () => {
    const members = members10.map((m) => ({ ...m }));
    members[2]!.dropBefore = 'input';
    members[5]!.dropAfter = 'input';
    const received: { from: string; message: ClientMessage }[] = [];
    const report = simulateRound(members, {
      ring: RING,
      graph: GRAPH,
      onServerReceive: (from, bytes) =>
        received.push({ from, message: decodeMessage(bytes) as ClientMessage }),
    });
    expect(report.error).toBeUndefined();
    const scale = report.result!.scale;
    const inputs = received.filter(
      (r): r is { from: string; message: MaskedInputMessage } => r.message.type === 'masked-input',
    );
    expect(inputs.length).toBe(9);
    for (const { from, message } of inputs) {
      const m = members.find((x) => x.clientId === from)!;
      const truth = encodeUpdate(m.update, m.numSamples, RING, scale);
      const signedTruth = Array.from(truth.subarray(0, -1), (x) => x | 0);
      const seen = Array.from(message.vector.subarray(0, -1), (x) => x | 0);
      // Uniform masks: the correlation over 2,000 elements is ~N(0, 1/2000); 0.1 is 4.5 standard deviations.
      expect(Math.abs(pearson(seen, signedTruth))).toBeLessThan(0.1);
      // …and it spreads over the whole ring, while the update itself is tiny there.
      const spread = seen.reduce((s, x) => s + Math.abs(x), 0) / seen.length;
      expect(spread).toBeGreaterThan(2 ** 29);
      // The sample count is masked too.
      expect(message.vector[message.vector.length - 1]).not.toBe(m.numSamples);
    }
    // The unmasking answers: for each member, one kind of share only, never both.
    const kinds = new Map<number, Set<string>>();
    const counts = new Map<string, number>();
    for (const { message } of received) {
      if (message.type !== 'unmask') continue;
      for (const s of (message as UnmaskMessage).shares) {
        kinds.set(s.of, (kinds.get(s.of) ?? new Set()).add(s.kind));
        counts.set(`${s.of}:${s.kind}`, (counts.get(`${s.of}:${s.kind}`) ?? 0) + 1);
      }
    }
    for (const set of kinds.values()) expect(set.size).toBe(1);
    // Member 5 (index 6) sent its input then vanished: only its self-mask shares are revealed (its input
    // stays masked by its pairwise masks); member 2 (index 3) never sent one: only its mask-key shares.
    expect([...kinds.get(6)!]).toEqual(['self']);
    expect([...kinds.get(3)!]).toEqual(['mask']);
    // So for every member the server holds 0 shares (below any threshold ≥ 1) of the secret it must not learn.
    for (let i = 1; i <= 10; i++) {
      const other = kinds.get(i)?.has('self') ? 'mask' : 'self';
      expect(counts.get(`${i}:${other}`) ?? 0).toBe(0);
    }
    // The shares themselves travel sealed: no share the server later receives in the clear appears in
    // any relayed share-keys message it saw before (they are encrypted to each neighbour's channel key).
    const relayed = received
      .filter((r) => r.message.type === 'share-keys')
      .map((r) => encodeMessage(r.message));
    const revealed = received.flatMap((r) =>
      r.message.type === 'unmask' ? r.message.shares.map((s) => s.share) : [],
    );
    for (const share of revealed.slice(0, 20)) {
      for (const bytes of relayed) expect(Buffer.from(bytes).includes(Buffer.from(share))).toBe(false);
    }
  });
});

/** A round driven step by step, for the hostile tests. */
function stepRound(n: number, vectorLength = 16, round = 1) {
  const members = makeMembers(n, vectorLength);
  const ctx = { session: SESSION, round };
  const server = new SecAggServer({ ...ctx, vectorLength, ring: RING, graph: GRAPH });
  const clients = new Map(
    members.map((m) => [
      m.clientId,
      new SecAggClient({ clientId: m.clientId, identity: m.identity, context: ctx }),
    ]),
  );
  type Answer = { from: string; message: ClientMessage };
  const answer = (out: Outgoing[]): Answer[] => {
    const answers: Answer[] = [];
    for (const o of out) {
      for (const message of clients.get(o.to)!.handle(o.message)) answers.push({ from: o.to, message });
    }
    return answers;
  };
  const give = (answers: Answer[]) => {
    for (const a of answers) server.receiveBytes(a.from, encodeMessage(a.message));
  };
  const advertise = (): Answer[] =>
    members.map((m) => ({ from: m.clientId, message: clients.get(m.clientId)!.handle(server.config())[0]! }));
  /** Runs phases 1–2 and the relay; returns the masked inputs (not yet given to the server). */
  const toInputs = (): Answer[] => {
    give(advertise());
    give(answer(server.advance()));
    answer(server.advance());
    return members.map((m) => ({
      from: m.clientId,
      message: clients.get(m.clientId)!.setInput(m.update, m.numSamples)[0]!,
    }));
  };
  return { members, server, clients, answer, give, advertise, toInputs, ctx };
}

describe('hostile inputs are refused with named errors', { timeout: ROUND_MS }, () => {
  it('refuses a forged advertisement, then takes the genuine one once', () => {
    const { server, advertise } = stepRound(4);
    const [first] = advertise();
    const bytes = encodeMessage(first!.message);
    const forged = bytes.slice();
    forged[forged.length - 10]! ^= 1; // inside the signature
    expectRefusal(() => server.receiveBytes(first!.from, forged), 'bad-signature');
    server.receiveBytes(first!.from, bytes);
    expectRefusal(() => server.receiveBytes(first!.from, bytes), 'replay');
  });

  it('refuses an advertisement under someone else’s id, or with a key other than the pinned one', () => {
    const members = makeMembers(2, 4);
    const server = new SecAggServer({
      session: SESSION,
      round: 1,
      vectorLength: 4,
      ring: RING,
      identityOf: (id) => (id === members[0]!.clientId ? members[1]!.identity.publicKey : undefined),
    });
    const c0 = new SecAggClient({ clientId: members[0]!.clientId, identity: members[0]!.identity });
    const ad = encodeMessage(c0.handle(server.config())[0]!);
    expectRefusal(() => server.receiveBytes('someone-else', ad), 'unknown-client');
    expectRefusal(() => server.receiveBytes(members[0]!.clientId, ad), 'bad-signature');
  });

  it('refuses wrong sizes: truncated, trailing bytes, bad magic, a signed masked vector of the wrong length', () => {
    const { server, toInputs, members, ctx } = stepRound(6);
    const inputs = toInputs();
    const bytes = encodeMessage(inputs[0]!.message);
    expectRefusal(
      () => server.receiveBytes(inputs[0]!.from, bytes.subarray(0, bytes.length - 1)),
      'bad-length',
    );
    expectRefusal(() => server.receiveBytes(inputs[0]!.from, Uint8Array.of(...bytes, 0)), 'bad-length');
    expectRefusal(() => decodeMessage(Uint8Array.of(0x53, 0x42, 1, 2)), 'malformed');
    const genuine = inputs[0]!.message as MaskedInputMessage;
    const short = genuine.vector.subarray(0, genuine.vector.length - 1);
    const signature = sign(
      members[0]!.identity.secretKey,
      maskedInputSignedBytes(ctx, genuine.index, short),
      {
        context: 'pqfed/v1/secagg/input',
      },
    );
    expectRefusal(
      () => server.receive(inputs[0]!.from, { ...genuine, vector: short, signature }),
      'bad-length',
    );
    // The refusals left no trace: the genuine input is still taken.
    server.receive(inputs[0]!.from, genuine);
  });

  it('refuses replays: a second copy, a message of another round, and a message after its phase closed', () => {
    const { server, toInputs } = stepRound(6);
    const inputs = toInputs();
    server.receive(inputs[0]!.from, inputs[0]!.message);
    expectRefusal(() => server.receive(inputs[0]!.from, inputs[0]!.message), 'replay');
    const other = stepRound(6, 16, 2);
    const ads = other.advertise();
    expectRefusal(() => server.receiveBytes(ads[0]!.from, encodeMessage(ads[0]!.message)), 'wrong-round');
    for (const a of inputs.slice(1, 5)) server.receive(a.from, a.message);
    server.advance();
    // A late masked input (the delayed-client case): refused, the server already listed the survivors.
    expectRefusal(() => server.receive(inputs[5]!.from, inputs[5]!.message), 'wrong-phase');
  });

  it('clients refuse a neighbour advertisement the neighbour did not sign, and a tampered relayed share', () => {
    const a = stepRound(5);
    a.give(a.advertise());
    const keys = a.server.advance();
    const k0 = keys[0]!.message as Extract<ServerMessage, { type: 'keys' }>;
    const bad = structuredClone(k0);
    bad.neighbours[1]!.advertisement.channelKey[5]! ^= 1;
    expectRefusal(() => a.clients.get(keys[0]!.to)!.handle(bad), 'bad-signature');
    expect(a.clients.get(keys[0]!.to)!.phase).toBe('aborted');

    const b = stepRound(5);
    b.give(b.advertise());
    b.give(b.answer(b.server.advance()));
    const relays = b.server.advance();
    const r0 = structuredClone(relays[0]!.message as Extract<ServerMessage, { type: 'relay' }>);
    r0.shares[0]!.entry.sealed[3]! ^= 1;
    expectRefusal(() => b.clients.get(relays[0]!.to)!.handle(r0), 'bad-signature');
    expect(b.clients.get(relays[0]!.to)!.phase).toBe('aborted');
  });

  it('a client shown an inconsistent survivor list never unmasks; the server refuses its signature too', () => {
    const { server, toInputs, clients, give, answer } = stepRound(8);
    give(toInputs());
    const survivors = server.advance();
    const victim = survivors[0]!;
    const msg = structuredClone(victim.message as Extract<ServerMessage, { type: 'survivors' }>);
    // Equivocation: tell the victim that member 2 dropped (so that it would reveal 2's mask-key share).
    msg.survivors[0]! &= ~(1 << 1);
    const victimClient = clients.get(victim.to)!;
    const [sig] = victimClient.handle(msg);
    expectRefusal(() => server.receive(victim.to, sig!), 'inconsistent-survivors');
    const others = answer(survivors.slice(1));
    give(others);
    // The server forwards the others' signatures (on the true list): the victim sees they differ.
    const sigs = {
      type: 'consistency-sigs' as const,
      ...CTX,
      // A careful server leaves out member 2's signature, which the victim's list says is gone: only the
      // signatures themselves (made over the true list) can give the equivocation away.
      signatures: others
        .map((o) => ({
          index: (o.message as { index: number }).index,
          signature: (o.message as { signature: Uint8Array }).signature,
        }))
        .filter((s) => s.index !== 2),
    };
    expectRefusal(() => victimClient.handle(sigs), 'inconsistent-survivors');
    expect(victimClient.phase).toBe('aborted');
    expectRefusal(() => victimClient.handle(sigs), 'wrong-phase');
  });

  it('a client refuses a survivor list that leaves itself out', () => {
    const { server, toInputs, clients, give } = stepRound(6);
    give(toInputs());
    const survivors = server.advance();
    const msg = structuredClone(survivors[0]!.message as Extract<ServerMessage, { type: 'survivors' }>);
    const index = clients.get(survivors[0]!.to)!.memberIndex;
    msg.survivors[(index - 1) >> 3]! &= ~(1 << ((index - 1) & 7));
    expectRefusal(() => clients.get(survivors[0]!.to)!.handle(msg), 'inconsistent-survivors');
  });

  it('the server refuses an unmask answer that reveals a survivor’s mask-key share, even when signed', () => {
    const { server, toInputs, give, answer, members, ctx } = stepRound(6);
    give(toInputs());
    give(answer(server.advance()));
    const unmasks = answer(server.advance());
    const u = unmasks[0]!.message as UnmaskMessage;
    const shares = u.shares.map((s, i) => (i === 0 ? { ...s, kind: 'mask' as const } : s));
    const who = members.find((m) => m.clientId === unmasks[0]!.from)!;
    const signature = sign(who.identity.secretKey, unmaskSignedBytes(ctx, u.index, shares), {
      context: 'pqfed/v1/secagg/unmask',
    });
    expectRefusal(
      () => server.receive(unmasks[0]!.from, { ...u, shares, signature }),
      'inconsistent-survivors',
    );
    expectRefusal(
      () => server.receive(unmasks[0]!.from, { ...u, signature: new Uint8Array(3309) }),
      'bad-signature',
    );
    give(unmasks);
    server.advance();
    expect(server.phase).toBe('done');
    expect(server.result!.contributors.length).toBe(6);
  });
});
