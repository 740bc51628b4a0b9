/**
 * A WebSocket upgrade flood from one loopback address, in a process of its own (issue 12, finding 1):
 * `concurrency` raw TCP sockets at once, each writing one pre-built upgrade request (`GET /ws`, `Upgrade:
 * websocket`, a valid `Sec-WebSocket-Key`), reading the status line, then resetting the connection (RST, so
 * neither side keeps the port in TIME_WAIT); a finished socket is replaced at once. No WebSocket client and
 * no frames: the cost of an attempt is a TCP connect, 150 bytes and a status line, so one core reaches
 * thousands of attempts a second.
 *
 * Bounded: it stops starting sockets after `--seconds` or `--max-attempts` (whichever comes first), and
 * destroys whatever is still open 1 s later. `--rate N` paces the starts to N a second (a token bucket
 * refilled every millisecond-tick); without it the flood is as fast as the sockets finish.
 * Loopback only: `--host` must be in 127.0.0.0/8.
 *
 * One JSON line on stdout: attempts, answers by status (`101`, `429`, `503`, …), errors by code, the
 * seconds it ran, attempts/s over the run and per whole second, and this process's CPU seconds.
 * Run: `node bench/upgrade-flood.mjs --port P [--host 127.0.0.1] [--seconds 10] [--concurrency 300]
 * [--max-attempts 200000] [--rate N]`. Used by bench/flood.ts and test/hostile-flood.test.ts.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '300' },
    'max-attempts': { type: 'string', default: '200000' },
    rate: { type: 'string' },
    processes: { type: 'string', default: '1' },
  },
});
const processes = Number(values.processes);
const port = Number(values.port);
const host = values.host;
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const maxAttempts = Number(values['max-attempts']);
const rate = values.rate === undefined ? Number.POSITIVE_INFINITY : Number(values.rate);
if (!Number.isInteger(port) || port <= 0 || port > 65535)
  throw new Error(`--port: expected 1-65535, got ${values.port}`);
if (net.isIPv4(host) ? !host.startsWith('127.') : host !== 'localhost') {
  throw new Error(`--host: expected a loopback address (127.0.0.0/8), got ${host}`);
}
for (const [name, v, max] of [
  ['seconds', seconds, 60],
  ['concurrency', concurrency, 2000],
  ['max-attempts', maxAttempts, 200_000],
  ['processes', processes, 8],
]) {
  if (!(v > 0 && v <= max)) throw new Error(`--${name}: expected a number in (0, ${max}], got ${v}`);
}
if (!(rate > 0)) throw new Error(`--rate: expected a positive number, got ${values.rate}`);

if (processes > 1) await fanOut();

/**
 * `--processes N`: N copies of this script, each with 1/N of the sockets, attempts and rate, started at once;
 * their reports summed into one. On a machine whose cores the server and other work share, one process
 * gets one scheduler share; N get more, as N machines of an attacker would.
 */
async function fanOut() {
  const share = (v) => String(Math.max(1, Math.floor(v / processes)));
  const args = ['--port', String(port), '--host', host, '--seconds', String(seconds)];
  args.push('--concurrency', share(concurrency), '--max-attempts', share(maxAttempts));
  if (Number.isFinite(rate)) args.push('--rate', share(rate));
  const self = fileURLToPath(import.meta.url);
  const reports = await Promise.all(
    Array.from(
      { length: processes },
      () =>
        new Promise((ok, fail) => {
          const child = spawn(process.execPath, [self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.once('error', fail);
          child.once('exit', (code) =>
            code === 0 ? ok(JSON.parse(out)) : fail(new Error(`a flood process exited ${code}`)),
          );
        }),
    ),
  );
  const sum = (pick) => reports.reduce((a, r) => a + pick(r), 0);
  const add = (objs) => {
    const o = {};
    for (const x of objs) for (const [k, v] of Object.entries(x)) o[k] = (o[k] ?? 0) + v;
    return o;
  };
  const ranSeconds = Math.max(...reports.map((r) => r.seconds));
  const attempts = sum((r) => r.attempts);
  const report = {
    host,
    processes,
    concurrency: sum((r) => r.concurrency),
    rate: Number.isFinite(rate) ? rate : null,
    attempts,
    answered: sum((r) => r.answered),
    status: add(reports.map((r) => r.status)),
    errors: add(reports.map((r) => r.errors)),
    seconds: ranSeconds,
    attemptsPerSecond: Math.round(attempts / ranSeconds),
    perSecond: Array.from({ length: Math.ceil(seconds) }, (_, i) => sum((r) => r.perSecond[i] ?? 0)),
    cpuSeconds: Math.round(sum((r) => r.cpuSeconds) * 100) / 100,
    leftOpen: sum((r) => r.leftOpen),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
  await new Promise(() => {}); // the write's callback ends the process
}

const request = Buffer.from(
  `GET /ws HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  'latin1',
);

const t0 = performance.now();
const stopAt = t0 + seconds * 1000;
const cpu0 = process.cpuUsage();
const status = {};
const errors = {};
const perSecond = [];
const open = new Set();
let attempts = 0;
let answered = 0;
let tokens = Math.min(rate, concurrency);
let tokensAt = t0;
let stopped = false;
let waiting = 0; // slots idle for want of a token (paced floods only)

function stopping(now) {
  return now >= stopAt || attempts >= maxAttempts;
}

/** Starts one attempt in a free slot, or parks the slot until the pacer has a token. */
function start() {
  const now = performance.now();
  if (stopped || stopping(now)) return;
  if (rate !== Number.POSITIVE_INFINITY) {
    tokens = Math.min(rate, tokens + ((now - tokensAt) / 1000) * rate);
    tokensAt = now;
    if (tokens < 1) {
      waiting++;
      return;
    }
    tokens -= 1;
  }
  attempts++;
  const sec = Math.floor((now - t0) / 1000);
  perSecond[sec] = (perSecond[sec] ?? 0) + 1;
  const s = net.connect({ port, host, noDelay: true });
  open.add(s);
  let head = '';
  s.on('data', (d) => {
    head += d.toString('latin1', 0, Math.min(d.length, 16));
    if (head.length < 12) return;
    const code = head.slice(9, 12);
    status[code] = (status[code] ?? 0) + 1;
    answered++;
    s.resetAndDestroy();
  });
  s.on('error', (e) => {
    const code = e.code ?? e.name;
    errors[code] = (errors[code] ?? 0) + 1;
  });
  s.once('close', () => {
    open.delete(s);
    start();
  });
  s.setTimeout(5000, () => s.destroy());
  s.write(request);
}

// Parked slots are started again as tokens come (paced floods only).
const pacer =
  rate === Number.POSITIVE_INFINITY
    ? null
    : setInterval(() => {
        const n = waiting;
        waiting = 0;
        for (let i = 0; i < n; i++) start();
      }, 1);

for (let i = 0; i < concurrency; i++) start();

const stopTimer = setInterval(() => {
  if (!stopping(performance.now())) return;
  stopped = true;
  clearInterval(stopTimer);
  if (pacer) clearInterval(pacer);
  const ranSeconds = (performance.now() - t0) / 1000;
  // Whatever is still open a second later is destroyed: the flood ends, bounded, even against a server that
  // stopped answering.
  setTimeout(() => {
    for (const s of open) s.destroy();
    const cpu = process.cpuUsage(cpu0);
    const report = {
      host,
      processes: 1,
      concurrency,
      rate: Number.isFinite(rate) ? rate : null,
      attempts,
      answered,
      status,
      errors,
      seconds: Math.round(ranSeconds * 1000) / 1000,
      attemptsPerSecond: Math.round(attempts / ranSeconds),
      perSecond: perSecond.slice(0, Math.ceil(seconds)),
      cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
      leftOpen: open.size,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
  }, 1000);
}, 20);
