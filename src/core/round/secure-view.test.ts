/**
 * The server's view for the class (secure-view.ts): bounded to SECAGG.viewElements whatever the model size,
 * one member's masked input exactly as received (signed ring integers / S) beside the recovered sum, the
 * masked input uncorrelated with the sum and with every member's true update and spread over the whole ring,
 * no client id in it; and through a real SecureRound (real ML-KEM-768, ML-DSA-65, ChaCha20, Shamir): set
 * once the sum is recovered, null for a failed round.
 */
import { describe, expect, it } from 'vitest';
import { SECAGG } from '../limits.ts';
import { SecAggError } from '../secagg/errors.ts';
import { decodeMessage } from '../secagg/messages.ts';
import { makeMembers, plainWeightedSum, type SimulatedMember, simulateRound } from '../secagg/simulation.ts';
import { pearson } from '../secagg/test-support.ts';
import { GRAPH, harness, RING } from './secure-round-test-support.ts';
import { secureRoundView } from './secure-view.ts';

/** One in-process round; the masked inputs the server received, by sender. */
function recordedRound(members: SimulatedMember[]) {
  const maskedInputs = new Map<string, Uint32Array>();
  const report = simulateRound(members, {
    ring: RING,
    graph: GRAPH,
    onServerReceive: (from, bytes) => {
      const m = decodeMessage(bytes);
      if (m.type === 'masked-input') maskedInputs.set(from, m.vector);
    },
  });
  if (!report.result) throw new Error(`round failed: ${String(report.error)}`);
  return { result: report.result, maskedInputs };
}

describe('secureRoundView', () => {
  const members = makeMembers(5, 2000, { maxSamples: 400 });
  const { result, maskedInputs } = recordedRound(members);
  const [first, y] = [...maskedInputs][0]!;

  it('keeps at most SECAGG.viewElements of one masked input (as received, / S) and of the sum', () => {
    const view = secureRoundView(7, y, result);
    expect(view.masked).toHaveLength(SECAGG.viewElements);
    expect(view.sum).toHaveLength(SECAGG.viewElements);
    expect(view.mean).toHaveLength(SECAGG.viewElements);
    expect(secureRoundView(7, y, result, 10_000).masked).toHaveLength(SECAGG.viewElements);
    expect(secureRoundView(7, y, result, 3).sum).toHaveLength(3);
    for (let j = 0; j < view.masked.length; j++) {
      expect(view.masked[j]).toBe((y[j]! | 0) / result.scale);
      expect(view.sum[j]).toBe(result.weightedSum[j]);
      expect(view.mean[j]).toBe(result.mean[j]);
      expect(Math.abs(view.masked[j]!)).toBeLessThanOrEqual(view.ringBound);
    }
    expect(view).toMatchObject({
      round: 7,
      length: 2000,
      contributors: 5,
      totalWeight: result.totalWeight,
      scale: result.scale,
      ringBound: 2 ** 31 / result.scale,
      errorBound: result.errorBound,
    });
  });

  it('looks like noise: spread over the whole ring, uncorrelated with the sum and with every true update', () => {
    for (const vector of maskedInputs.values()) {
      const view = secureRoundView(1, vector, result);
      expect(view.maskedRingShare).toBeGreaterThan(0.99);
      expect(view.sumRingShare).toBeLessThan(0.2);
      expect(Math.abs(view.correlation!)).toBeLessThan(0.1);
      // The same figure by a plain Pearson r over the whole vector.
      const signed = Array.from(vector.subarray(0, 2000), (v) => v | 0);
      expect(view.correlation!).toBeCloseTo(pearson(signed, result.weightedSum), 9);
      // The server never has a true update; the one member's masked input says nothing of any of them.
      for (const m of members) expect(Math.abs(pearson(signed, m.update))).toBeLessThan(0.1);
    }
    // The recovered sum, on the other hand, is the true updates' weighted sum (within the ring's bound).
    expect(pearson(result.weightedSum, plainWeightedSum(members, RING.clip).sum)).toBeGreaterThan(0.9999);
  });

  it('names nobody and refuses a vector of another length', () => {
    const json = JSON.stringify(secureRoundView(1, y, result));
    for (const m of members) expect(json).not.toContain(m.clientId);
    expect(json).not.toContain(first);
    expect(() => secureRoundView(1, y.subarray(0, 100), result)).toThrow(SecAggError);
    expect(() => secureRoundView(1, y.subarray(0, 100), result)).toThrow(/expected a masked input of 2001/);
  });

  it('says null for the correlation of a constant sum', () => {
    const flat = { ...result, weightedSum: new Float64Array(2000) };
    expect(secureRoundView(1, y, flat).correlation).toBeNull();
  });
});

/** A SecureRound (round 2) driven to its end by real clients over a queue (no deadlines reached). */
function runRound(members: SimulatedMember[], withInput: ReadonlySet<string>) {
  const noInput = new Set(members.map((m) => m.clientId).filter((id) => !withInput.has(id)));
  const h = harness(members, new Map(), { noInput, round: 2 });
  h.play();
  return h;
}

describe('SecureRound.view', () => {
  it('is null until the sum is recovered, then shows the first masked input taken beside the sum', () => {
    const members = makeMembers(3, 300);
    const { round, outcomes, received } = runRound(members, new Set(members.map((m) => m.clientId)));
    const o = outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    const view = round.view!;
    expect(view).not.toBeNull();
    expect(view.round).toBe(2);
    expect(view.masked).toEqual(Array.from(received[0]!.subarray(0, 64), (v) => (v | 0) / o.result.scale));
    expect(view.sum).toEqual(Array.from(o.result.weightedSum.subarray(0, 64)));
    expect(view.contributors).toBe(3);
  });

  it('stays null for a round that failed (fewer masked inputs than the threshold)', () => {
    const members = makeMembers(3, 50);
    const { round } = runRound(members, new Set([members[0]!.clientId]));
    expect(round.phase).toBe('input');
    round.abort('test');
    expect(round.view).toBeNull();
  });
});
