/**
 * What a handshake flood from one address costs `pqfed serve` (issue 12, finding 1), measured from outside:
 * starts `node bin/pqfed.js serve --port 0 --host 127.0.0.1 --json --data-dir <tmp>` (the default
 * experiment) as a child process, warms it up with a 2 s flood, then runs bench/upgrade-flood.mjs (raw
 * sockets from 127.0.0.1: upgrade request, status line, reset) for `--seconds`, while it
 * - reads the server's main-thread CPU time (/proc/PID/task/PID/stat) before and after: µs of the event
 *   loop per upgrade attempt (the ~20 admitted a second also pay their `ws` upgrade there; their
 *   cryptography runs in the crypto thread and is not counted);
 * - samples the server's RSS every 100 ms (peak) and sends `GET /healthz` every 100 ms (its latency: what
 *   a load balancer, or the dashboard, sees during the flood);
 * - counts the server's log lines (stderr) during the flood, and reads its refusal counts from
 *   `/api/status` after.
 * One JSON object on stdout, a summary on stderr. Loopback only; bounded: the flood by its time and
 * attempts, the whole run by a hard timeout (seconds + 60) that kills the server and exits 3.
 * Run: `npx tsx bench/flood.ts [--seconds 10] [--concurrency 300] [--processes 1] [--rate N]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type FloodReport, rssOf, startFlood } from './upgrade-flood-run.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '300' },
    processes: { type: 'string', default: '1' },
    rate: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0 && SECONDS <= 60))
  throw new RangeError(`--seconds: expected (0, 60], got ${values.seconds}`);
const ROOT = new URL('..', import.meta.url).pathname;
const MiB = 1024 * 1024;
const say = (l: string) => process.stderr.write(`${l}\n`);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const live: ChildProcess[] = [];
const hardStop = setTimeout(
  () => {
    say('flood: no result in time; stopping');
    for (const c of live) c.kill('SIGKILL');
    process.exit(3);
  },
  (SECONDS + 60) * 1000,
);

/** CPU seconds (user + system) of the process's main thread. */
function mainThreadCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function flood(port: number, seconds: number): Promise<FloodReport> {
  const { done, child } = startFlood(port, {
    seconds,
    concurrency: Number(values.concurrency),
    processes: Number(values.processes),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
  });
  live.push(child);
  return done;
}

const dir = mkdtempSync(join(tmpdir(), 'pqfed-flood-bench-'));
const server = spawn(
  process.execPath,
  ['bin/pqfed.js', 'serve', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', join(dir, 'data')],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
);
live.push(server);
let logLines = 0;
server.stderr!.on('data', (d: Buffer) => {
  for (const byte of d) if (byte === 10) logLines++;
});
const info = await new Promise<{ url: string }>((ok, fail) => {
  let out = '';
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]!));
  });
  server.once('exit', (code) => fail(new Error(`serve exited ${code}`)));
});
const base = info.url.replace(/\/$/, '');
const port = Number(new URL(base).port);
const pid = server.pid!;
const idleRss = rssOf(pid);

await flood(port, 2); // warm-up: the server's JIT, and the first handshakes start its crypto thread
await sleep(1000);

let peakRss = rssOf(pid);
const health: number[] = [];
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, rssOf(pid));
  const t = performance.now();
  fetch(`${base}/healthz`).then(
    () => health.push(performance.now() - t),
    () => {},
  );
}, 100);
const cpu0 = mainThreadCpu(pid);
const lines0 = logLines;
const before = (await (await fetch(`${base}/api/status`)).json()) as { refusals: Record<string, number> };
const result = await flood(port, SECONDS);
const cpu = mainThreadCpu(pid) - cpu0;
const lines = logLines - lines0;
clearInterval(sampler);
const after = (await (await fetch(`${base}/api/status`)).json()) as { refusals: Record<string, number> };
server.kill('SIGTERM');
clearTimeout(hardStop);
rmSync(dir, { recursive: true, force: true });

const refusals = Object.fromEntries(
  Object.entries(after.refusals).map(([k, v]) => [k, v - (before.refusals[k] ?? 0)]),
);
const sorted = [...health].sort((a, b) => a - b);
const q = (p: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN);
const report = {
  cpu: `${cpus().length}× ${cpus()[0]?.model ?? '?'}`,
  loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
  node: process.version,
  flood: result,
  serverMainThreadCpuSeconds: cpu,
  serverMainThreadMicrosecondsPerAttempt: Math.round((cpu * 1e6) / result.attempts),
  serverLogLines: lines,
  refusals,
  idleRssMiB: Math.round(idleRss / MiB),
  peakRssMiB: Math.round(peakRss / MiB),
  healthzMs: { n: sorted.length, p50: q(0.5), p99: q(0.99), max: Math.round(sorted.at(-1) ?? Number.NaN) },
};
process.stdout.write(`${JSON.stringify(report)}\n`);
say(
  `flood: ${result.attemptsPerSecond} upgrades/s for ${result.seconds} s (${result.attempts} attempts; ` +
    `${JSON.stringify(result.status)}); server main thread ${report.serverMainThreadMicrosecondsPerAttempt} µs ` +
    `per attempt, ${lines} log lines, RSS ${report.idleRssMiB} → peak ${report.peakRssMiB} MiB, /healthz p50 ` +
    `${report.healthzMs.p50} ms max ${report.healthzMs.max} ms; load ${report.loadAverage.join(' ')}`,
);
