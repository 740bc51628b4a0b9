/**
 * The `pqfed simulate` tests' shared parts (simulate.test.ts, simulate-secure.test.ts; not part of the
 * CLI): the real command run as a child process, and a small synthetic ToN-IoT CSV to run it on.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TONIOT_TRAIN_TEST } from '../data/schemas/toniot.ts';
import { syntheticCsv } from '../data/synthetic.ts';

const BIN = new URL('../../bin/pqfed.js', import.meta.url).pathname;

/** Runs `pqfed ...args` (killed after 280 s) and gives back its exit code and output. */
export function pqfed(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 280_000);
    p.on('error', fail);
    p.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** A fresh temporary folder (named `prefix…`) holding rows.csv: 240 synthetic ToN-IoT rows (seed 5). */
export function syntheticRows(prefix: string): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'rows.csv');
  writeFileSync(data, syntheticCsv(TONIOT_TRAIN_TEST, 240, 5));
  return { dir, data };
}
