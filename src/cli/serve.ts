/**
 * `pqfed serve [--port N] [--host H] [--public-url URL] [--https | --tls-cert F --tls-key F] [--trust-proxy]
 * [--data-dir DIR] [--config experiment.json] [--suite xwing|mlkem768] [--join-token T] [--open-threads N]
 * [--json]`: the aggregator with the built app. It listens on every interface unless `--host` says
 * otherwise, imports the experiment's data (default: the embedded TON_IoT sample), resumes from the data
 * directory's checkpoint when there is one, and prints every address other devices can reach it at, the
 * join link (with the server key's fingerprint in the fragment), the TLS certificate's SHA-256 and the
 * admin token.
 */
import { existsSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAggregator } from '../aggregator/aggregator.ts';
import { DEFAULT_EXPERIMENT, loadConfig } from '../aggregator/config.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
import {
  certificateNames,
  type Listening,
  listensEverywhere,
  PublicUrlError,
  parsePublicUrl,
  printedBases,
} from '../aggregator/network.ts';
import { readTlsFiles, selfSignedTls, TlsError, type TlsMaterial } from '../aggregator/tls.ts';
import { PROTOCOL } from '../core/limits.ts';
import { DEFAULT_SUITE, KEM_SUITES } from '../crypto/suites.ts';
import { useBackend } from '../model/backend.ts';
import { choiceFlag, intFlag, parse, stringFlag, UsageError } from './args.ts';
import { serverChannelsFor } from './channels.ts';
import { loadTable } from './import.ts';

const ROOT = resolve(fileURLToPath(new URL('../../dist', import.meta.url)));

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    config: { type: 'string' },
    suite: { type: 'string' },
    'join-token': { type: 'string' },
    'open-threads': { type: 'string' },
    'public-url': { type: 'string' },
    https: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'trust-proxy': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const port = intFlag(values.port ?? process.env.PORT, 'port', 8080, 0, 65535);
  // Every interface by default: a classroom's phones and laptops must reach it (--host 127.0.0.1: local only).
  const host = stringFlag(values.host, 'host') ?? '0.0.0.0';
  const publicUrl = inputError(() => {
    const v = stringFlag(values['public-url'], 'public-url');
    return v === undefined ? undefined : parsePublicUrl(v);
  });
  const tlsCert = stringFlag(values['tls-cert'], 'tls-cert');
  const tlsKey = stringFlag(values['tls-key'], 'tls-key');
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together: give both files, or use --https');
  if (tlsCert && values.https)
    throw new UsageError('--https makes a self-signed certificate: drop it with --tls-cert');
  const https = values.https === true || tlsCert !== undefined;
  // A given certificate is checked before anything slow: a bad file is a one-line error at once.
  let tls: (TlsMaterial & { made?: string | null }) | undefined =
    tlsCert && tlsKey ? inputError(() => readTlsFiles(tlsCert, tlsKey)) : undefined;
  const machine = { interfaces: networkInterfaces(), hostname: hostname() };
  const dataDir = resolve(stringFlag(values['data-dir'], 'data-dir') ?? '.pqfed');
  const configFile = stringFlag(values.config, 'config');
  // Threads that open sealed updates; absent: available cores − 1 (src/aggregator/open-pool.ts).
  const openThreads =
    values['open-threads'] === undefined
      ? undefined
      : intFlag(values['open-threads'], 'open-threads', 0, 0, PROTOCOL.maxOpenThreads);
  const app = existsSync(join(ROOT, 'index.html'));
  const loaded = configFile ? loadConfig(configFile) : DEFAULT_EXPERIMENT;
  const joinToken =
    stringFlag(values['join-token'], 'join-token') ?? process.env.PQFED_JOIN_TOKEN ?? loaded.joinToken;
  const config = { ...loaded, joinToken: joinToken ?? null };
  const say = (l: string) => process.stderr.write(`${l}\n`);

  await useBackend('wasm');
  const { table } = await loadTable(config.data, config.dataset);
  const test = config.test ? (await loadTable(config.test, config.dataset)).table : undefined;
  const experiment = prepareExperiment(config, table, test);
  const suite = choiceFlag(values.suite, 'suite', KEM_SUITES, DEFAULT_SUITE);
  if (!tls && https) {
    const names = certificateNames({ host, port, https, publicUrl }, machine);
    tls = await selfSignedTls(dataDir, names);
  }
  const { server: channels, close: release } = await serverChannelsFor(dataDir, suite, { openThreads });
  const agg = await startAggregator({
    experiment,
    dataDir,
    channels,
    port,
    host,
    staticRoot: app ? ROOT : null,
    adminToken: process.env.PQFED_ADMIN_TOKEN,
    machine,
    ...(publicUrl && { publicUrl }),
    ...(tls && { tls: { cert: tls.cert, key: tls.key } }),
    trustProxy: values['trust-proxy'] === true,
    log: (l) => say(`${new Date().toISOString().slice(11, 19)} ${l}`),
    release,
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UsageError(`port ${port} is already in use (set --port or PORT)`);
    throw e;
  });
  const base = agg.publicBase ?? `http://localhost:${agg.port}`;
  const fp = channels.fingerprint ?? '';
  const addresses = printedBases(agg.listening, machine.interfaces);
  const info = {
    url: `${base}/`,
    join: `${base}/?autojoin=1#fp=${fp}`,
    dashboard: `${base}/dashboard`,
    addresses: addresses.map((a) => `${a}/`),
    serverKeyFingerprint: fp,
    tlsCertificateSha256: tls?.fingerprint256 ?? null,
    adminToken: agg.adminToken,
    dataDir,
    session: agg.coordinator.session,
    resumedAfterRound: agg.resumed?.round ?? null,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  say(`PQFed serving on ${info.url}${describeListening(agg.listening)}`);
  for (const a of info.addresses.slice(1)) say(`  also at:     ${a}`);
  if (!app)
    say('  (the app is not built, so only the API and the WebSocket are served: run `npm run build`)');
  say(`  join link:   ${info.join}`);
  say(`  short link:  ${base}/?autojoin=1 (to type by hand: the page takes its server's fingerprint)`);
  say(`  dashboard:   ${info.dashboard}`);
  say(`  server key:  ${fp} (${channels.suite}, ML-DSA-65)`);
  if (tls) {
    const kind = tlsCert ? `--tls-cert ${tlsCert}` : `self-signed, kept in ${dataDir}`;
    say(
      `  TLS:         ${kind}${tls.made ? ` (made now: ${tls.made})` : ''}; valid to ${tls.validTo.toISOString().slice(0, 10)}`,
    );
    say(`  certificate SHA-256 (compare it with the browser's warning):`);
    say(`               ${tls.fingerprint256}`);
  } else if (listensEverywhere(host)) {
    say(
      '  plain HTTP:  other devices get no WebGPU, no WASM threads and no offline use; `--https` gives them all',
    );
  }
  say(`  admin token: ${agg.adminToken}`);
  if (config.joinToken) say('  join token:  required (clients enter the class code when they join)');
  say(
    `  experiment:  ${config.dataset}, ${experiment.trainRows} training rows, ${experiment.test.n} test rows, ` +
      `${config.strategy}, ${config.rounds} rounds, data in ${dataDir}` +
      (agg.resumed ? ` (resumed after round ${agg.resumed.round})` : ''),
  );
  const stop = async () => {
    say('shutting down');
    await agg.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Where it listens, in words, for the first line. */
function describeListening(l: Listening): string {
  if (listensEverywhere(l.host)) return ' (listening on every interface)';
  if (l.host === '127.0.0.1' || l.host === 'localhost' || l.host === '::1') return ' (this machine only)';
  return ` (listening on ${l.host})`;
}

/** Runs `f`; a bad --public-url or TLS file is bad input (exit 2, one line). */
function inputError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TlsError || e instanceof PublicUrlError) throw new UsageError(e.message);
    throw e;
  }
}
