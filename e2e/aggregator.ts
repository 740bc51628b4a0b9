/**
 * A real `pqfed serve` of its own for a browser spec: a small experiment on the embedded TON_IoT sample, a
 * fresh data directory, an ephemeral port; the JSON line of `serve --json` gives the URL, the join link and
 * the admin token.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a stopped server may take to exit. */
const STOP_TIMEOUT_MS = 20_000;

export interface Served {
  base: string;
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

/** Spawns `pqfed serve --json` and waits for its JSON line. */
async function launch(
  dataDir: string,
  configFile: string,
  host: string,
  port: number,
  log: string[],
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

/** `host`: the address to listen on ('0.0.0.0': every interface; `base` is then the LAN address). */
export async function serve(
  config: Record<string, unknown> = SMALL_EXPERIMENT,
  host = '127.0.0.1',
): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-e2e-'));
  const configFile = join(dataDir, 'experiment.json');
  writeFileSync(configFile, JSON.stringify(config));
  const log: string[] = [];
  let { proc, info } = await launch(dataDir, configFile, host, 0, log);
  const base = info.url.replace(/\/$/, '');
  const port = Number(new URL(base).port);
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
    join: info.join,
    fingerprint: info.serverKeyFingerprint,
    adminToken: info.adminToken,
    dataDir,
    get proc() {
      return proc;
    },
    log,
    async status() {
      return (await (await fetch(`${base}/api/status`)).json()) as Status;
    },
    stop: () => stop('SIGTERM'),
    async kill() {
      await stop('SIGKILL');
    },
    async restart() {
      await stop('SIGKILL');
      ({ proc, info } = await launch(dataDir, configFile, host, port, log));
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
