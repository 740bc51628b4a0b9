/**
 * Resident memory of the aggregator with 10 and with 200 simulated clients sending default-model updates.
 *
 * For each client count N it writes an experiment file (the default model, the embedded TON_IoT sample,
 * 2,000 test rows, 3 rounds of exactly N clients, quorum N), starts the real aggregator as a child process
 * (`node bin/pqfed.js serve --json`), opens N raw connections from this process (the real post-quantum
 * handshake, X-Wing + ML-DSA-65, 20 at a time), and answers every `round` at once with a valid update of
 * small random weights, sealed to the round's key and signed (`sealed-update`), as a real client sends it.
 * The child's VmRSS is read from /proc/<pid>/status every 100 ms; VmHWM is its lifetime peak (which
 * includes the data import at startup, so the federation peak is reported apart).
 *
 * Round seconds are the aggregator's own (`/api/status` history): from the round's start to its close,
 * i.e. broadcasting the model, the clients' answers, opening, validating and folding every update —
 * but not the evaluation and checkpoint that follow the close. Updates per second = N / round seconds.
 * The clients run in this process on the same machine, so their handshakes and sealing share its CPUs
 * with the aggregator. Each client has its own ML-DSA-65 identity, made before the run: the aggregator binds
 * a client id to its key, so a second connection with the same key would replace the first.
 *
 * Linux only (/proc). Prints a table on stderr and, with --json, one JSON object on stdout.
 * Run: `npx tsx bench/aggregator-memory.ts [--json] [--clients 10,200]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { SecureChannel } from '../src/core/channel.ts';
import { maxFrameBytes } from '../src/core/limits.ts';
import { decodeServerFrame, encodeFrame, type ServerMessage } from '../src/core/protocol.ts';
import { generateIdentity, type Identity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';

const { values } = parseArgs({
  options: { json: { type: 'boolean' }, clients: { type: 'string' } },
});
const CLIENT_COUNTS = (values.clients ?? '10,200').split(',').map(Number);
const ROUNDS = 3;
const BATCH = 20;
const SAMPLE_MS = 100;
const TIMEOUT_MS = 10 * 60_000;
const ROOT = new URL('..', import.meta.url).pathname;
const DATA = new URL('../public/data/ton_iot_network.sample.csv.gz', import.meta.url).pathname;
const MiB = 1024 * 1024;

interface Run {
  clients: number;
  /** VmRSS once the aggregator is ready (data imported, model built), before any client. */
  rssStartMiB: number;
  /** Highest VmRSS sampled from the first client's connection to the end of the last round. */
  rssPeakMiB: number;
  /** VmRSS after the last round (clients still connected). */
  rssEndMiB: number;
  /** VmHWM at startup and at the end: the process's lifetime peak, startup included. */
  hwmStartupMiB: number;
  hwmEndMiB: number;
  /** VmRSS read as soon as the last of the N clients has its `welcome`: every connection and handshake is
   * in place and round 1 has just opened, before any evaluation (which needs all N updates) can run.
   * (An acknowledgement is no such marker: the aggregator seals it asynchronously, so the last `ack` of a
   * round reaches the client after the first evaluation batch has already run.) */
  rssJoinedMiB: number;
  /** RSS of the child's own child processes (e.g. tsx's esbuild service) at the end, if any. */
  descendantsRssMiB: number;
  /** Wall time for all N clients to connect, complete the handshake and get `welcome`. */
  joinSeconds: number;
  /** Per round, from the aggregator's history: round start to close (evaluation excluded). */
  roundSeconds: number[];
  /** Per round but the last, as seen by the clients: first `round` frame to the next round's first. */
  cycleSeconds: number[];
  /** N / mean round seconds (updates received, opened, validated and aggregated per second). */
  updatesPerSec: number;
  /** Bytes on the wire per update (sealed frame), from the history's bytesUp / participants. */
  bytesPerUpdate: number;
  refused: number;
}

// ---- /proc sampling -----------------------------------------------------------------------------------

function procStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
  } catch {
    return null;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) out.push(k, ...descendants(k));
  }
  return out;
}

// ---- helpers ------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

function startServe(args: string[]): {
  child: ChildProcess;
  info: Promise<Record<string, unknown>>;
  log: string[];
} {
  const child = spawn(process.execPath, ['bin/pqfed.js', 'serve', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    log.push(...d.toString().split('\n').filter(Boolean));
    if (log.length > 400) log.splice(0, log.length - 200);
  });
  const info = new Promise<Record<string, unknown>>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]!));
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}: ${log.slice(-5).join(' | ')}`)));
  });
  return { child, info, log };
}

interface Status {
  round: number;
  phase: string;
  clients: number;
  refusals: Record<string, number>;
  history: { round: number; participants: number; bytesUp: number; seconds: number; outcome: string }[];
}

async function status(port: number): Promise<Status> {
  const r = await fetch(`http://127.0.0.1:${port}/api/status`);
  return (await r.json()) as Status;
}

/** One simulated client: the real handshake, `hello`, then an update for every `round` it is sent. */
async function simulatedClient(
  url: string,
  identity: Identity,
  fingerprint: string,
  name: string,
  roundSeen: (round: number, at: number) => void,
  problems: string[],
): Promise<{ ws: WebSocket; modelSize: number }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'arraybuffer';
  const early: Uint8Array[] = [];
  let onMessage: ((b: Uint8Array) => void) | null = null;
  ws.on('message', (d: ArrayBuffer) => {
    const b = new Uint8Array(d);
    if (onMessage) onMessage(b);
    else early.push(b);
  });
  ws.on('error', (e) => problems.push(`${name}: socket error ${e.message}`));
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  const firstFrame = () =>
    early.length
      ? Promise.resolve(early.shift()!)
      : new Promise<Uint8Array>((ok) => {
          onMessage = (b) => {
            onMessage = null;
            ok(b);
          };
        });
  const channels = pqClientChannels({ identity, pinnedFingerprint: fingerprint, minimumSuite: 'xwing' });
  const done = await channels.accept(await firstFrame());
  ws.send(done.reply);
  const channel: SecureChannel = done.channel;
  let delta: Float32Array | null = null;
  let maxFrame = 64 * MiB;
  let session = '';
  let clientId = '';
  let welcomed: (size: number) => void = () => {};
  const welcome = new Promise<number>((ok) => {
    welcomed = ok;
  });

  async function handle(wire: Uint8Array): Promise<void> {
    const msg: ServerMessage = decodeServerFrame(await channel.open(wire), { maxFrameBytes: maxFrame });
    switch (msg.type) {
      case 'welcome': {
        const size = msg.experiment.modelSize;
        ({ session, clientId } = msg);
        maxFrame = maxFrameBytes(size);
        delta = new Float32Array(size);
        welcomed(size);
        return;
      }
      case 'round': {
        roundSeen(msg.round, performance.now());
        const d = delta ?? new Float32Array(msg.weights.length);
        for (let i = 0; i < d.length; i++) d[i] = (Math.random() - 0.5) * 1e-3;
        const payload = encodeFrame({
          type: 'update',
          round: msg.round,
          baseVersion: msg.version,
          numSamples: 100,
          metrics: { loss: 1, seconds: 0.01, samplesPerSec: 10_000 },
          delta: d,
        });
        // Sealed to the round's key and signed, as a real client does (src/client/client.ts).
        const envelope = await done.crypto.sealUpdate({
          session,
          round: msg.round,
          clientId,
          version: msg.version,
          payload,
          seal: msg.seal,
        });
        ws.send(await channel.seal(encodeFrame({ type: 'sealed-update', round: msg.round, envelope })));
        return;
      }
      case 'refused':
        problems.push(`${name}: refused ${msg.reason}: ${msg.message}`);
        return;
      default:
        return;
    }
  }

  // Frames are opened strictly in order (the channel takes exactly the next sequence number).
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (b: Uint8Array) => {
    queue = queue.then(() => handle(b)).catch((e: Error) => void problems.push(`${name}: ${e.message}`));
  };
  for (const b of early.splice(0)) enqueue(b);
  onMessage = enqueue;
  await channel
    .seal(encodeFrame({ type: 'hello', name, backend: 'bench', numSamples: 100 }))
    .then((w) => ws.send(w));
  const modelSize = await welcome;
  return { ws, modelSize };
}

// ---- one run ------------------------------------------------------------------------------------------

async function run(n: number, identities: Identity[]): Promise<{ run: Run; modelParams: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pqfed-bench-mem-'));
  const configFile = join(dir, 'experiment.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      data: DATA,
      maxTestRows: 2000,
      rounds: ROUNDS,
      clientsPerRound: { fraction: 1, min: n, max: n },
      quorum: n,
      roundDeadlineSeconds: 300,
      autoStart: true,
    }),
  );
  const port = await freePort();
  const serve = startServe([
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--data-dir',
    join(dir, 'data'),
    '--config',
    configFile,
  ]);
  const pid = serve.child.pid!;
  let sampling = false;
  let peak = 0;
  const sampler = setInterval(() => {
    const s = procStatus(pid);
    if (s && sampling) peak = Math.max(peak, s.rss);
  }, SAMPLE_MS);
  const sockets: WebSocket[] = [];
  try {
    const info = await serve.info;
    await sleep(1000); // let startup garbage settle a moment
    const start = procStatus(pid)!;
    const fingerprint = String(info.serverKeyFingerprint);
    const url = `ws://127.0.0.1:${port}/ws`;
    const problems: string[] = [];
    const firstRoundFrame = new Map<number, number>();
    const roundSeen = (round: number, at: number) => {
      if (!firstRoundFrame.has(round)) firstRoundFrame.set(round, at);
    };

    sampling = true;
    peak = start.rss;
    const t0 = performance.now();
    let modelParams = 0;
    for (let i = 0; i < n; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, n - i) }, (_, j) =>
          simulatedClient(url, identities[i + j]!, fingerprint, `bench-${i + j}`, roundSeen, problems),
        ),
      );
      for (const c of batch) {
        sockets.push(c.ws);
        modelParams = c.modelSize;
      }
    }
    const joinSeconds = (performance.now() - t0) / 1000;
    const joined = procStatus(pid)?.rss ?? 0;

    // A poll can fail on a reused keep-alive socket (ECONNRESET) while the aggregator's event loop is busy;
    // retry unless the aggregator itself has exited.
    let failures = 0;
    const poll = async (): Promise<Status> => {
      for (;;) {
        try {
          const s = await status(port);
          failures = 0;
          return s;
        } catch (e) {
          const exited = serve.child.exitCode !== null || serve.child.signalCode !== null;
          if (exited || ++failures > 20) {
            throw new Error(
              `${n} clients: /api/status failed (${(e as Error).message}; ${(e as { cause?: Error }).cause?.message}), ` +
                `aggregator ${exited ? `exited (${serve.child.exitCode ?? serve.child.signalCode})` : 'running'}: ` +
                serve.log.slice(-5).join(' | '),
            );
          }
          process.stderr.write(
            `${n} clients: /api/status failed (${(e as { cause?: Error }).cause?.message}), retrying\n`,
          );
          await sleep(250);
        }
      }
    };
    let st = await poll();
    const deadline = Date.now() + TIMEOUT_MS;
    while (st.round < ROUNDS) {
      if (Date.now() > deadline) {
        throw new Error(
          `${n} clients: round ${st.round} of ${ROUNDS} after ${TIMEOUT_MS / 1000} s; ` +
            `${problems.slice(0, 3).join(' | ')} ${serve.log.slice(-5).join(' | ')}`,
        );
      }
      await sleep(500);
      st = await poll();
    }
    const end = procStatus(pid)!;
    peak = Math.max(peak, end.rss);
    sampling = false;
    const kids = descendants(pid)
      .map((k) => procStatus(k)?.rss ?? 0)
      .reduce((a, b) => a + b, 0);

    const rounds = st.history.slice(0, ROUNDS);
    for (const h of rounds) {
      if (h.outcome !== 'aggregated' || h.participants !== n) {
        problems.push(`round ${h.round}: ${h.outcome} with ${h.participants} of ${n} updates`);
      }
    }
    const roundSeconds = rounds.map((h) => h.seconds);
    const meanSeconds = roundSeconds.reduce((a, b) => a + b, 0) / roundSeconds.length;
    const bytesUp = rounds.reduce((a, h) => a + h.bytesUp, 0);
    const participants = rounds.reduce((a, h) => a + h.participants, 0);
    const cycleSeconds: number[] = [];
    for (let r = 1; r < ROUNDS; r++) {
      const a = firstRoundFrame.get(r);
      const b = firstRoundFrame.get(r + 1);
      if (a !== undefined && b !== undefined) cycleSeconds.push((b - a) / 1000);
    }
    const refused = Object.values(st.refusals).reduce((a, b) => a + b, 0);
    if (problems.length) {
      process.stderr.write(
        `${n} clients: ${problems.length} problems, first: ${problems.slice(0, 3).join(' | ')}\n`,
      );
    }
    return {
      modelParams,
      run: {
        clients: n,
        rssStartMiB: start.rss / MiB,
        rssPeakMiB: peak / MiB,
        rssEndMiB: end.rss / MiB,
        rssJoinedMiB: joined / MiB,
        hwmStartupMiB: start.hwm / MiB,
        hwmEndMiB: end.hwm / MiB,
        descendantsRssMiB: kids / MiB,
        joinSeconds,
        roundSeconds,
        cycleSeconds,
        updatesPerSec: n / meanSeconds,
        bytesPerUpdate: participants ? bytesUp / participants : 0,
        refused,
      },
    };
  } finally {
    clearInterval(sampler);
    for (const ws of sockets) ws.terminate();
    if (serve.child.exitCode === null) {
      const exited = new Promise((ok) => serve.child.once('exit', ok));
      serve.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main ---------------------------------------------------------------------------------------------

// One key per client (reused across the runs: each run starts a fresh aggregator with an empty data dir).
const identities = Array.from({ length: Math.max(...CLIENT_COUNTS) }, () => generateIdentity());
const runs: Run[] = [];
let modelParams = 0;
for (const n of CLIENT_COUNTS) {
  process.stderr.write(`${n} clients…\n`);
  const r = await run(n, identities);
  modelParams = r.modelParams;
  runs.push(r.run);
}

const f1 = (x: number) => x.toFixed(1);
const header = [
  'clients',
  'RSS start',
  'RSS joined',
  'RSS peak',
  'RSS end',
  'HWM',
  'join s',
  'round s (no eval)',
  'round+eval s',
  'updates/s',
  'B/update',
];
const table = runs.map((r) => [
  String(r.clients),
  `${f1(r.rssStartMiB)} MiB`,
  `${f1(r.rssJoinedMiB)} MiB`,
  `${f1(r.rssPeakMiB)} MiB`,
  `${f1(r.rssEndMiB)} MiB`,
  `${f1(r.hwmEndMiB)} MiB`,
  r.joinSeconds.toFixed(2),
  r.roundSeconds.map((s) => s.toFixed(2)).join(' '),
  r.cycleSeconds.map((s) => s.toFixed(2)).join(' '),
  f1(r.updatesPerSec),
  String(Math.round(r.bytesPerUpdate)),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
for (const row of [header, ...table]) {
  process.stderr.write(`${row.map((c, i) => c.padStart(widths[i]!)).join('  ')}\n`);
}
process.stderr.write(
  `model ${modelParams} parameters; ${cpus().length} CPUs, node ${process.version}; ` +
    'RSS peak = highest VmRSS sampled every 100 ms while clients were connected; HWM = VmHWM (lifetime, startup included)\n',
);

if (values.json) {
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  process.stdout.write(
    `${JSON.stringify({
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version },
      modelParams,
      runs: runs.map((r) => ({
        ...r,
        rssStartMiB: round(r.rssStartMiB, 1),
        rssPeakMiB: round(r.rssPeakMiB, 1),
        rssEndMiB: round(r.rssEndMiB, 1),
        rssJoinedMiB: round(r.rssJoinedMiB, 1),
        hwmStartupMiB: round(r.hwmStartupMiB, 1),
        hwmEndMiB: round(r.hwmEndMiB, 1),
        descendantsRssMiB: round(r.descendantsRssMiB, 1),
        joinSeconds: round(r.joinSeconds, 2),
        roundSeconds: r.roundSeconds.map((s) => round(s, 3)),
        cycleSeconds: r.cycleSeconds.map((s) => round(s, 3)),
        updatesPerSec: round(r.updatesPerSec, 1),
        bytesPerUpdate: Math.round(r.bytesPerUpdate),
      })),
    })}\n`,
  );
}
