/**
 * The durable store's pieces on their own: the pruning policy of client key bindings, the bindings file's
 * validation, and a failed write that is reported and not thrown.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINDINGS_FILE, BindingsFileError, DurableStore, idsToPrune, loadBindings } from './durable-store.ts';

const LIMITS = { oneOffIdleRounds: 3, idleRounds: 100, maxKeys: 4 };

describe('idsToPrune', () => {
  it('drops one-off keys after 3 idle rounds, any key after 100, never a connected one', () => {
    const seen = new Map([
      ['once', 1],
      ['once-recent', 98],
      ['worker', 1],
      ['old-worker', 0],
      ['online', 0],
    ]);
    const drop = idsToPrune(seen, 100, new Set(['online']), new Set(['worker', 'old-worker']), LIMITS);
    expect(drop.sort()).toEqual(['old-worker', 'once']);
  });

  it('keeps at most maxKeys bindings, dropping the least recently seen', () => {
    const seen = new Map(Array.from({ length: 10 }, (_, i) => [`c${i}`, i] as [string, number]));
    const all = new Set(seen.keys());
    const drop = idsToPrune(seen, 10, new Set(), all, LIMITS);
    expect(drop.sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });
});

describe('DurableStore', () => {
  it('reports a failed bindings write instead of throwing, and loads what it wrote once it works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-durable-'));
    const lines: string[] = [];
    const store = new DurableStore(dir, (l) => lines.push(l));
    const b = { configDigest: 'd', clientKeys: { 'c-01234567': 'fp' }, clientShards: {}, lastSeen: {} };
    mkdirSync(join(dir, `${BINDINGS_FILE}.${process.pid}.tmp`));
    expect(store.saveBindings(() => b)).toBe(false);
    expect(store.status()).toMatchObject({ ok: false, failures: 1 });
    expect(lines[0]).toMatch(/CHECKPOINT WRITE FAILED.*EISDIR/);
    expect(loadBindings(dir, 'd')).toBeNull();
    store.close();
    const fresh = mkdtempSync(join(tmpdir(), 'pqfed-durable-'));
    const ok = new DurableStore(fresh, () => {});
    expect(ok.saveBindings(() => b)).toBe(true);
    expect(loadBindings(fresh, 'd')).toEqual(b);
    expect(loadBindings(fresh, 'another experiment')).toBeNull();
    writeFileSync(join(fresh, BINDINGS_FILE), '{"configDigest":"d","clientKeys":[]}');
    expect(() => loadBindings(fresh, 'd')).toThrow(BindingsFileError);
    ok.close();
  });
});
