/**
 * The legitimate joiner of the handshake-flood test (hostile-flood.test.ts), in a worker thread of its
 * own so that its timings are not those of the test's main thread (which trains 10 clients meanwhile):
 * one join to warm the server up (posted as `{ warm }`), then `count` joins from 127.0.0.2, one every
 * `intervalMs` (posted as `{ results }`), each a handshake, a hello and its welcome.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { decodeServerFrame, encodeFrame } from '../src/core/protocol.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import { pqClientChannels } from '../src/crypto/pq-channels.ts';

export interface ProbeJob {
  url: string;
  spec: { pinnedFingerprint: string; minimumSuite: 'xwing' };
  localAddress: string;
  count: number;
  firstDelayMs: number;
  intervalMs: number;
}

export type ProbeResult = { ok: true; ms: number } | { ok: false; why: string };

/** One legitimate join from 127.0.0.2: handshake, hello, welcome. Its time (ms), or how it failed. */
async function probe(job: ProbeJob): Promise<ProbeResult> {
  const { url, spec } = job;
  const t0 = performance.now();
  const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: job.localAddress });
  ws.binaryType = 'arraybuffer';
  const inbox: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  let closed: string | null = null;
  ws.on('message', (d: ArrayBuffer) => {
    inbox.push(new Uint8Array(d));
    wake?.();
  });
  ws.on('close', (code, reason) => {
    closed = `${code} ${reason.toString()}`;
    wake?.();
  });
  ws.on('error', () => {});
  ws.on('unexpected-response', (_req, res) => {
    closed = `HTTP ${res.statusCode}`;
    wake?.();
  });
  const next = async (): Promise<Uint8Array | null> => {
    while (!inbox.length && closed === null) {
      await new Promise<void>((ok) => {
        wake = ok;
      });
    }
    return inbox.shift() ?? null;
  };
  try {
    const hello = await next();
    if (!hello) return { ok: false, why: closed ?? 'closed' };
    const done = await pqClientChannels({ identity: generateIdentity(), ...spec }).accept(hello);
    ws.send(done.reply);
    ws.send(
      await done.channel.seal(encodeFrame({ type: 'hello', name: 'probe', backend: 'test', numSamples: 0 })),
    );
    const wire = await next();
    if (!wire) return { ok: false, why: closed ?? 'closed' };
    const msg = decodeServerFrame(await done.channel.open(wire), { maxFrameBytes: 64 << 20 });
    if (msg.type !== 'welcome') return { ok: false, why: `got ${msg.type}` };
    return { ok: true, ms: performance.now() - t0 };
  } finally {
    ws.terminate();
  }
}

if (parentPort) {
  const job = workerData as ProbeJob;
  // One join first, before the flood: the server's crypto thread starts with its first handshake, and that
  // start (seconds on a loaded machine) is not what the flood test measures.
  const warm = await probe(job).catch((e: Error) => ({ ok: false as const, why: e.message }));
  parentPort.postMessage({ warm });
  const results: ProbeResult[] = [];
  for (let i = 0; i < job.count; i++) {
    await new Promise((ok) => setTimeout(ok, i === 0 ? job.firstDelayMs : job.intervalMs));
    results.push(await probe(job).catch((e: Error) => ({ ok: false as const, why: e.message })));
  }
  parentPort.postMessage({ results });
}
