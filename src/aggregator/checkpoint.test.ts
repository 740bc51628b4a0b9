import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CheckpointError,
  checkpointPath,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.ts';

const sample = (): Checkpoint => ({
  session: 'ab'.repeat(16),
  round: 3,
  version: 3,
  strategy: 'fedadam',
  history: [],
  weights: Float32Array.from([0.5, -0, 1e-40, -3.25, 7]),
  strategyState: {
    m: Float32Array.from([0.1, 0.2, 0, 0, 1]),
    v: Float32Array.from([1, 2, 3, 4, 5]),
    step: 3,
  },
  configDigest: '0123456789abcdef',
  clientKeys: { 'c-0123456789ab': 'abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567' },
  clientShards: { 'c-0123456789ab': 3 },
});

describe('checkpoint', () => {
  it('round-trips bit for bit through the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-ckpt-'));
    expect(loadCheckpoint(dir)).toBeNull();
    saveCheckpoint(dir, sample());
    const back = loadCheckpoint(dir)!;
    expect(Buffer.from(back.weights.buffer).equals(Buffer.from(sample().weights.buffer))).toBe(true);
    expect(back.strategyState.step).toBe(3);
    expect(Array.from(back.strategyState.v as Float32Array)).toEqual([1, 2, 3, 4, 5]);
    expect(back.round).toBe(3);
    expect(back.session).toBe(sample().session);
  });

  it('refuses a file with any flipped byte, a truncated file, or another file, and says so', () => {
    const bytes = encodeCheckpoint(sample());
    for (const at of [0, 10, Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x01;
      expect(() => decodeCheckpoint(bad, 'x')).toThrow(CheckpointError);
    }
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 7), 'x')).toThrow(/corrupt \(checksum/);
    expect(() => decodeCheckpoint(new TextEncoder().encode('hello'), 'x')).toThrow(/too short/);
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-ckpt-'));
    saveCheckpoint(dir, sample());
    const file = readFileSync(checkpointPath(dir));
    file[100]! ^= 0xff;
    writeFileSync(checkpointPath(dir), file);
    expect(() => loadCheckpoint(dir)).toThrow(
      /checkpoint\.pqf is corrupt \(checksum mismatch\); it was not loaded/,
    );
  });

  it('loads history written before cryptoSeconds existed, with 0 for it', () => {
    const round = {
      round: 1,
      participants: 2,
      accuracy: 0.5,
      macroF1: 0.25,
      mosMAE: 0.1,
      loss: 1,
      bytesUp: 10,
      bytesDown: 20,
      seconds: 3,
      outcome: 'aggregated' as const,
      selected: ['a', 'b'],
      contributed: ['a', 'b'],
      failed: [],
      clientMetrics: [],
      perClassRecall: {},
      majorityBaseline: { accuracy: 0.3, macroF1: 0.1 },
      strategy: 'fedavg',
    };
    const old = { ...sample(), history: [round] } as unknown as Checkpoint;
    expect(decodeCheckpoint(encodeCheckpoint(old), 'x').history[0]!.cryptoSeconds).toBe(0);
    const now = { ...sample(), history: [{ ...round, cryptoSeconds: 0.25 }] };
    expect(decodeCheckpoint(encodeCheckpoint(now), 'x').history[0]!.cryptoSeconds).toBe(0.25);
  });
});
