/**
 * A real `pqfed serve` of its own for a browser spec: a small experiment on the embedded TON_IoT sample, a
 * fresh data directory, an ephemeral port; the JSON line of `serve --json` gives the URL, the join link and
 * the admin token. With `publicHost` (e.g. `classroom.test`, which the spec's Chromium maps to 127.0.0.1
 * with `--host-resolver-rules`) the links use that name, as a classroom's LAN address would be; with
 * `https` it serves its self-signed certificate. The spec's own requests go to 127.0.0.1 either way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a stopped server may take to exit. */
const STOP_TIMEOUT_MS = 20_000;

export interface Served {
  /** The base of the links (the public URL). */
  base: string;
  /** The same server at 127.0.0.1, for the spec's own requests. */
  local: string;
  join: string;
  fingerprint: string;
  adminToken: string;
  dataDir: string;
  readonly proc: ChildProcess;
  log: string[];
  status(): Promise<Status>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGKILL, then start again on the same port and data directory (it resumes from its checkpoint). */
  restart(): Promise<void>;
}

export interface Status {
  round: number;
  phase: string;
  clients: number;
  clientList: { id: string; name: string; backend: string; state: string; numSamples: number }[];
  currentRound: { round: number; selected: string[]; submitted: string[] } | null;
  history: { round: number; participants: number; contributed: string[]; failed: { clientId: string }[] }[];
}

/** A small, quick experiment: 2,000 training rows in `shards` shards, a small model, many rounds. */
export const SMALL_EXPERIMENT = {
  maxTrainRows: 2000,
  maxTestRows: 400,
  model: { dModel: 8, heads: 2, ffDim: 16, convLayers: 1, mosWeight: 0.5 },
  rounds: 1000,
  clientsPerRound: { fraction: 1, min: 2, max: 10 },
  quorum: 1,
  roundDeadlineSeconds: 90,
  batchSize: 64,
  shards: 4,
  autoStart: true,
};

interface ServeInfo {
  url: string;
  join: string;
  serverKeyFingerprint: string;
  adminToken: string;
}

/** How a spec's server is reached. */
export interface Reach {
  /** Serve HTTPS with the self-signed certificate `--https` makes. */
  https?: boolean;
  /** The host name in the links (`--public-url`); the spec's Chromium must map it to 127.0.0.1. */
  publicHost?: string;
}

/** The Chromium flag that sends `name` to loopback (never to a real interface address). */
export const resolveToLoopback = (name: string) => `--host-resolver-rules=MAP ${name} 127.0.0.1`;

/** A port free on 127.0.0.1 now (a public URL must name the port before the server starts). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** Spawns `pqfed serve --json` and waits for its JSON line. */
async function launch(
  dataDir: string,
  configFile: string,
  host: string,
  port: number,
  log: string[],
  extra: string[] = [],
): Promise<{ proc: ChildProcess; info: ServeInfo }> {
  const proc = spawn(
    process.execPath,
    [
      'bin/pqfed.js',
      'serve',
      '--port',
      String(port),
      '--host',
      host,
      '--data-dir',
      dataDir,
      '--config',
      configFile,
      '--json',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  const info = await new Promise<ServeInfo>((ok, fail) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) ok(JSON.parse(out.slice(0, nl)));
    });
    proc.once('exit', (code) => fail(new Error(`pqfed serve exited with ${code}: ${log.join('\n')}`)));
  });
  return { proc, info };
}

/** `host`: the address to listen on (tests keep to loopback); `reach`: HTTPS and the name in the links. */
export async function serve(
  config: Record<string, unknown> = SMALL_EXPERIMENT,
  host = '127.0.0.1',
  reach: Reach = {},
): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-e2e-'));
  const configFile = join(dataDir, 'experiment.json');
  writeFileSync(configFile, JSON.stringify(config));
  const log: string[] = [];
  const scheme = reach.https ? 'https' : 'http';
  const fixed = reach.publicHost ? await freePort() : 0;
  const extra = [
    ...(reach.https ? ['--https'] : []),
    ...(reach.publicHost ? ['--public-url', `${scheme}://${reach.publicHost}:${fixed}`] : []),
  ];
  let { proc, info } = await launch(dataDir, configFile, host, fixed, log, extra);
  const base = info.url.replace(/\/$/, '');
  const port = fixed || Number(new URL(base).port);
  const local = `${scheme}://127.0.0.1:${port}`;
  // The spec trusts exactly the certificate the server made (kept in its data directory).
  const ca = reach.https ? readFileSync(join(dataDir, 'tls-cert.pem'), 'utf8') : undefined;
  const getJson = async (path: string): Promise<unknown> => {
    if (!ca) return (await fetch(`${local}${path}`)).json();
    return new Promise((ok, fail) => {
      const req = request(`${local}${path}`, { ca, servername: 'localhost' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => ok(JSON.parse(text)));
      });
      req.once('error', fail);
      req.end();
    });
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((ok) => proc.once('exit', ok));
    proc.kill(signal);
    // A server that does not stop is a failure to report, not a test timeout minutes later.
    const late = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (late) {
      proc.kill('SIGKILL');
      await exited;
      throw new Error(
        `pqfed serve did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}; its last lines:\n${log.slice(-15).join('\n')}`,
      );
    }
  };
  return {
    base,
    local,
    join: info.join,
    fingerprint: info.serverKeyFingerprint,
    adminToken: info.adminToken,
    dataDir,
    get proc() {
      return proc;
    },
    log,
    async status() {
      return (await getJson('/api/status')) as Status;
    },
    stop: () => stop('SIGTERM'),
    async kill() {
      await stop('SIGKILL');
    },
    async restart() {
      await stop('SIGKILL');
      ({ proc, info } = await launch(dataDir, configFile, host, port, log, extra));
    },
  };
}

/** Polls `cond` every 250 ms until it holds (or throws after `ms`, naming `what`). */
export async function until<T>(
  what: string,
  cond: () => Promise<T | undefined | false>,
  ms = 120_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}
