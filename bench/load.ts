/**
 * Load on one machine: N lightweight clients through full rounds against one real `pqfed serve`.
 *
 * For each client count N it writes an experiment file (the default model on the embedded TON_IoT sample,
 * 200 test rows, R rounds of every connected client: fraction 1, quorum 90 % of N, a 600 s deadline,
 * started through the admin API once all N have joined, so a client dropped on the way shows as a missing
 * participant instead of stalling the run), starts `node bin/pqfed.js serve --port 0 --host 127.0.0.1 --json --data-dir <tmp> --config
 * <file>` as a child process, and runs N clients in one worker thread (src/bench/burst-clients.ts, the
 * client of `pqfed bench`, in its rounds mode): each has its own ML-DSA-65 identity and does the real
 * handshake (X-Wing + ML-DSA-65), `hello`, then answers every `round` at once with an update of small
 * random weights sealed to that round's key and signed, as a browser does after training. There is no
 * training and the clients do not check the round's signatures. Clients join 20 at a time from 127.0.0.x
 * loopback addresses, 50 to an address: `serve` admits a burst of 60 upgrades per address, then 20 a second
 * (handshake-admission.ts), as a classroom behind one NAT would meet it.
 *
 * Reported per N:
 * - join: seconds until all N have their `welcome`;
 * - round: the server's own round seconds (`/api/status` history: round start to close — the round key,
 *   sending the model to N clients, their sealing, opening and folding N updates; the evaluation after the
 *   close is excluded), the median over the rounds; updates/s = N / that median;
 * - the server's memory: VmRSS before any client and after the join, the highest VmRSS sampled every
 *   100 ms, and VmHWM (lifetime peak) at the end; (RSS joined − RSS before) / N bounds the memory of a
 *   connected client from above (the first handshake also starts the server's crypto thread, and RSS
 *   moves with garbage collection by tens of MiB, so only the bound for the largest N means much);
 * - the server's event-loop delay, measured inside the server (bench/loop-probe.mjs, preloaded with
 *   `node --import`: `monitorEventLoopDelay`, 10 ms resolution), for the join and for the rounds, p50 /
 *   p99 / max; and the latency of `GET /healthz` sent every 100 ms from this thread (what a load balancer's
 *   health check would see);
 * - `/api/status` after the last round: its size in bytes and its latency (median of 5), which is also what
 *   the dashboard downloads every second; and what the dashboard would draw from it: rows of the clients
 *   table and cells of the participation timeline.
 * The clients, the server's main thread and its crypto pool share this machine's cores, so round time
 * includes the clients' sealing (≈13 ms of one core per update): the figures are the whole system's.
 *
 * Linux only (/proc). One JSON object on stdout, a table on stderr. Bounded: a hard overall timeout
 * (`--timeout`, seconds, default 900) kills the server and exits 3.
 * Run: `npx tsx bench/load.ts [--clients 100,300,1000] [--rounds 3] [--timeout 900]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import type { StatusJson } from '../src/app/dashboard/status.ts';
import { buildTimeline } from '../src/app/dashboard/timeline.ts';
import { type ClientInput, type ClientReport, now } from '../src/bench/burst-clients.ts';
import { tsWorker } from '../src/cli/workers.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string' },
    rounds: { type: 'string' },
    timeout: { type: 'string' },
  },
});
const COUNTS = (values.clients ?? '100,300,1000').split(',').map(Number);
const ROUNDS = Number(values.rounds ?? 3);
const TIMEOUT_S = Number(values.timeout ?? 900);
if (!COUNTS.every((n) => Number.isInteger(n) && n >= 1 && n <= 2000)) {
  throw new RangeError(`--clients: expected integers in [1, 2000], got ${values.clients}`);
}
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 20)) {
  throw new RangeError(`--rounds: expected an integer in [1, 20], got ${values.rounds}`);
}
const ROOT = new URL('..', import.meta.url).pathname;
const DATA = new URL('../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;
const PROBE = new URL('./loop-probe.mjs', import.meta.url).href;
const MiB = 1024 * 1024;
const say = (l: string) => process.stderr.write(`${l}\n`);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

// Every child and worker, so the hard timeout can end them.
const live = { server: null as ChildProcess | null, worker: null as Worker | null };
const hardStop = setTimeout(() => {
  say(`load: no result after ${TIMEOUT_S} s; stopping`);
  live.server?.kill('SIGKILL');
  void live.worker?.terminate();
  process.exit(3);
}, TIMEOUT_S * 1000);

interface Loop {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  heapUsedMiB: number;
  externalMiB: number;
  rssMiB: number;
}

function vm(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const latency = (xs: number[]) => ({
  n: xs.length,
  p50: quantile(xs, 0.5),
  p99: quantile(xs, 0.99),
  max: xs.length ? Math.max(...xs) : Number.NaN,
});

/** The server as a child process, with the probe on fd 3. */
function startServe(dir: string, config: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      PROBE,
      'bin/pqfed.js',
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--json',
      '--data-dir',
      join(dir, 'data'),
      '--config',
      config,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
  );
  live.server = child;
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    log.push(...d.toString().split('\n').filter(Boolean));
    if (log.length > 400) log.splice(0, log.length - 200);
  });
  const info = new Promise<{ url: string; serverKeyFingerprint: string; adminToken: string }>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]!));
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${log.slice(-5).join(' | ')}`)));
  });
  const probe = child.stdio[3] as Duplex;
  let pending = '';
  const waiting: ((l: Loop) => void)[] = [];
  probe.on('data', (d: Buffer) => {
    pending += d.toString();
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      waiting.shift()?.(JSON.parse(line) as Loop);
    }
  });
  /** The server's loop delay since the previous mark (and a fresh histogram from now). */
  const mark = (phase: string) =>
    new Promise<Loop>((ok) => {
      waiting.push(ok);
      probe.write(`${phase}\n`);
    });
  return { child, info, log, mark };
}

async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function run(n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pqfed-bench-load-'));
  const config = join(dir, 'experiment.json');
  writeFileSync(
    config,
    JSON.stringify({
      data: DATA,
      maxTestRows: 200,
      rounds: ROUNDS,
      clientsPerRound: { fraction: 1, min: 1, max: n },
      quorum: Math.ceil(0.9 * n),
      roundDeadlineSeconds: 600,
      autoStart: false,
    }),
  );
  const serve = startServe(dir, config);
  const pid = serve.child.pid!;
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, vm(pid).rss);
    } catch {}
  }, 100);
  const health: { at: number; ms: number }[] = [];
  let healthTimer: NodeJS.Timeout | undefined;
  try {
    const info = await serve.info;
    const base = info.url.replace(/\/$/, '');
    await sleep(500);
    await serve.mark('startup');
    const rssStart = vm(pid).rss;
    healthTimer = setInterval(() => {
      const at = now();
      fetch(`${base}/healthz`)
        .then((r) => r.arrayBuffer())
        .then(() => void health.push({ at, ms: now() - at }))
        .catch(() => void health.push({ at, ms: Number.NaN }));
    }, 100);

    const input: ClientInput = {
      kind: 'pqfed-bench-clients',
      url: `${base.replace(/^http/, 'ws')}/ws`,
      spec: { kind: 'pq', pinnedFingerprint: info.serverKeyFingerprint, minimumSuite: 'xwing' },
      n,
      perAddress: 50,
      rounds: ROUNDS,
    };
    const t0 = now();
    const worker = tsWorker(new URL('../src/bench/burst-clients.ts', import.meta.url), input);
    live.worker = worker;
    let joinedAt = 0;
    let rssJoined = 0;
    let joinLoop: Promise<Loop> | null = null;
    const rounds: Extract<ClientReport, { kind: 'round' }>[] = [];
    await new Promise<void>((ok, fail) => {
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the client thread exited (${code})`)));
      worker.on('message', (m: ClientReport) => {
        if (m.kind === 'error') fail(new Error(`clients: ${m.message.split('\n')[0]}`));
        else if (m.kind === 'joined') {
          joinedAt = m.at;
          rssJoined = vm(pid).rss;
          joinLoop = serve.mark('join');
          // Every client is in: start the rounds (each selects every connected client).
          fetch(`${base}/api/admin/start`, {
            method: 'POST',
            headers: { authorization: `Bearer ${info.adminToken}` },
          }).then(
            (r) => r.ok || fail(new Error(`admin start: HTTP ${r.status}`)),
            (e: Error) => fail(e),
          );
          say(`${n} clients: joined in ${((joinedAt - t0) / 1000).toFixed(1)} s`);
        } else if (m.kind === 'round') {
          rounds.push(m);
          say(
            `${n} clients: round ${m.round}: ${m.acks} acks, ${m.refused.length} refused, ` +
              `${((m.lastAckAt - m.firstRoundAt) / 1000).toFixed(1)} s from the model to the last ack`,
          );
        } else if (m.kind === 'done') ok();
      });
    });
    const roundsLoop = await serve.mark('rounds');
    clearInterval(healthTimer);
    worker.removeAllListeners('exit');

    // The last round's evaluation follows its close; wait for it to be recorded.
    let st = (await (await fetch(`${base}/api/status`)).json()) as StatusJson;
    for (let i = 0; i < 100 && st.history.length < ROUNDS; i++) {
      await sleep(200);
      st = (await (await fetch(`${base}/api/status`)).json()) as StatusJson;
    }
    const statusMs: number[] = [];
    let statusBytes = 0;
    let lastStatus = st;
    for (let i = 0; i < 5; i++) {
      const at = now();
      const body = await (await fetch(`${base}/api/status`)).text();
      statusMs.push(now() - at);
      statusBytes = Buffer.byteLength(body);
      lastStatus = JSON.parse(body) as StatusJson;
    }
    const timeline = buildTimeline(lastStatus);
    const end = vm(pid);
    peak = Math.max(peak, end.rss);
    const hist = st.history.slice(0, ROUNDS);
    const roundSeconds = hist.map((h) => h.seconds);
    const median = quantile(roundSeconds, 0.5);
    const inWindow = (a: number, b: number) =>
      health.filter((p) => p.at >= a && p.at <= b && Number.isFinite(p.ms)).map((p) => p.ms);
    const joinLoopDelay = await (joinLoop ?? serve.mark('join'));
    const lastAck = rounds.length ? Math.max(...rounds.map((r) => r.lastAckAt)) : now();
    return {
      clients: n,
      joinSeconds: (joinedAt - t0) / 1000,
      roundSeconds,
      roundSecondsMedian: median,
      updatesPerSec: n / median,
      participants: hist.map((h) => h.participants),
      acks: rounds.map((r) => r.acks),
      refused: Object.values(lastStatus.refusals).reduce((a, b) => a + b, 0),
      firstRefusals: rounds.flatMap((r) => r.refused).slice(0, 3),
      clientThreadBusySeconds: rounds.map((r) => r.clientBusyMs / 1000),
      clientThreadLoopMaxMs: rounds.map((r) => r.clientLoopMaxMs),
      memory: {
        rssStartMiB: rssStart / MiB,
        rssJoinedMiB: rssJoined / MiB,
        perClientKiBAtMost: (rssJoined - rssStart) / 1024 / n,
        rssPeakMiB: peak / MiB,
        hwmMiB: end.hwm / MiB,
        heapUsedMiB: roundsLoop.heapUsedMiB,
      },
      loopDelayMs: {
        join: { p50: joinLoopDelay.p50, p99: joinLoopDelay.p99, max: joinLoopDelay.max },
        rounds: { p50: roundsLoop.p50, p99: roundsLoop.p99, max: roundsLoop.max },
      },
      healthzMs: { join: latency(inWindow(t0, joinedAt)), rounds: latency(inWindow(joinedAt, lastAck)) },
      status: { bytes: statusBytes, ms: quantile(statusMs, 0.5) },
      dashboard: {
        bytesPerRefresh: statusBytes,
        clientRows: lastStatus.clientList.length,
        timelineRows: timeline.rows.length,
        timelineCells: timeline.rows.length * timeline.rounds.length,
      },
    };
  } catch (e) {
    const c = serve.child;
    say(`${serve.log.slice(-30).join('\n')}\nserver: ${c.exitCode ?? c.signalCode ?? 'running'}`);
    throw e;
  } finally {
    clearInterval(sampler);
    clearInterval(healthTimer);
    await live.worker?.terminate();
    live.worker = null;
    await stopServe(serve.child);
    live.server = null;
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = [];
for (const n of COUNTS) {
  say(`${n} clients…`);
  runs.push(await run(n));
}
clearTimeout(hardStop);

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const header = [
  'clients',
  'join s',
  'round s (median)',
  'updates/s',
  'RSS start→joined MiB',
  'KiB/client ≤',
  'peak RSS MiB',
  'loop delay p50/p99/max ms',
  '/healthz p99 ms',
  '/api/status',
  'dashboard rows',
];
const rows = runs.map((r) => [
  String(r.clients),
  f(r.joinSeconds),
  `${f(r.roundSecondsMedian, 2)} (${r.roundSeconds.map((s) => f(s, 1)).join(' ')})`,
  f(r.updatesPerSec),
  `${f(r.memory.rssStartMiB, 0)}→${f(r.memory.rssJoinedMiB, 0)}`,
  f(r.memory.perClientKiBAtMost, 0),
  f(r.memory.rssPeakMiB, 0),
  `${f(r.loopDelayMs.rounds.p50)}/${f(r.loopDelayMs.rounds.p99)}/${f(r.loopDelayMs.rounds.max)}`,
  f(r.healthzMs.rounds.p99),
  `${(r.status.bytes / 1024).toFixed(1)} KiB, ${f(r.status.ms)} ms`,
  `${r.dashboard.clientRows} + ${r.dashboard.timelineCells} cells`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
for (const row of [header, ...rows]) say(row.map((c, i) => c.padStart(widths[i]!)).join('  '));
say(
  `${ROUNDS} rounds each; ${cpus().length}× ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(1)}, ` +
    `node ${process.version}; loop delay = the server's own, during the rounds`,
);
const rounded = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
process.stdout.write(
  `${JSON.stringify(
    {
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version },
      rounds: ROUNDS,
      runs,
    },
    rounded,
  )}\n`,
);
