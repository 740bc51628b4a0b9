/**
 * Runs bench/upgrade-flood.mjs (raw sockets in a process of its own: upgrade request, status line, reset;
 * loopback only, bounded by time and attempts) and reads its one-line JSON report. Shared by the flood
 * bench (bench/flood.ts) and the hostile suite (test/hostile-flood.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What the flooder reports. */
export interface FloodReport {
  attempts: number;
  answered: number;
  status: Record<string, number>;
  errors: Record<string, number>;
  seconds: number;
  attemptsPerSecond: number;
  perSecond: number[];
  cpuSeconds: number;
}

export interface FloodOptions {
  seconds: number;
  concurrency: number;
  processes?: number;
  /** Upgrades a second to aim at; absent: as fast as it goes. */
  rate?: number;
  maxAttempts?: number;
}

/** Starts a flood of 127.0.0.1:`port`; `done` is its report (rejected when the flooder fails). */
export function startFlood(
  port: number,
  o: FloodOptions,
): { done: Promise<FloodReport>; child: ChildProcess } {
  const args = [
    '--port',
    String(port),
    '--seconds',
    String(o.seconds),
    '--concurrency',
    String(o.concurrency),
  ];
  args.push('--processes', String(o.processes ?? 1));
  if (o.maxAttempts !== undefined) args.push('--max-attempts', String(o.maxAttempts));
  if (o.rate) args.push('--rate', String(o.rate));
  const script = fileURLToPath(new URL('./upgrade-flood.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const done = new Promise<FloodReport>((ok, fail) => {
    child.once('exit', (code) => {
      if (code === 0 && out.trim()) ok(JSON.parse(out.trim().split('\n').pop()!) as FloodReport);
      else fail(new Error(`the flooder exited ${code}: ${err}`));
    });
  });
  return { done, child };
}

/** Resident memory of process `pid` (bytes); 0 once it has ended. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
