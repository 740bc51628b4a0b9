import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendLabel, chooseStepEngine, fallbackLine } from './step-engine.ts';
import { ENGINE_WASM_URL, EngineError } from './wasm-engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'pqfed-engine-'));
const missing = pathToFileURL(join(dir, 'no-such-engine.wasm'));
const garbage = pathToFileURL(join(dir, 'garbage.wasm'));
writeFileSync(garbage, 'not a wasm module');

describe('chooseStepEngine', () => {
  it('defaults to the fused engine when the built module loads', async () => {
    expect(await chooseStepEngine(undefined, ENGINE_WASM_URL)).toEqual({ engine: 'fused', fallback: null });
    expect(await chooseStepEngine('fused')).toEqual({ engine: 'fused', fallback: null });
  });

  it('falls back to tfjs, saying why and how to fix it, when the module is missing', async () => {
    const r = await chooseStepEngine(undefined, missing);
    expect(r.engine).toBe('tfjs');
    expect(r.fallback).toContain(missing.pathname);
    expect(r.fallback).toMatch(/missing/);
    expect(r.fallback).toContain('npm run build:engine');
    const line = fallbackLine('simulate', r.fallback!);
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/^simulate: training with tfjs, not the default fused WASM engine: /);
  });

  it('falls back to tfjs when the file is not a valid module', async () => {
    const r = await chooseStepEngine(undefined, garbage);
    expect(r.engine).toBe('tfjs');
    expect(r.fallback).toMatch(/not a valid engine module/);
    expect(r.fallback).toContain('npm run build:engine');
  });

  it('refuses an explicit fused engine that cannot load, and never probes for an explicit tfjs', async () => {
    await expect(chooseStepEngine('fused', missing)).rejects.toThrow(EngineError);
    expect(await chooseStepEngine('tfjs', missing)).toEqual({ engine: 'tfjs', fallback: null });
  });

  it('names the engine in the backend the server hears', () => {
    expect(backendLabel('fused', 'wasm')).toBe('wasm-fused');
    expect(backendLabel('tfjs', 'wasm')).toBe('wasm');
  });
});
