/**
 * `pqfed serve [--port N] [--host H] [--public-url URL] [--https | --tls-cert F --tls-key F] [--trust-proxy]
 * [--data-dir DIR] [--config experiment.json] [--suite xwing|mlkem768] [--join-token T] [--open-threads N]
 * [--new-session] [--json]` (flags: commands.ts): the aggregator with the built app. It listens on every
 * interface unless `--host` says otherwise, imports the experiment's data (default: the embedded TON_IoT
 * sample), resumes from the data directory's checkpoint when there is one, and prints every address other
 * devices can reach it at, the join link (with the server key's fingerprint in the fragment), the TLS
 * certificate's SHA-256 and the admin token. Flags and PQFED_JOIN_TOKEN override the --config file.
 */
import { existsSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAggregator } from '../aggregator/aggregator.ts';
import { DEFAULT_EXPERIMENT, experimentFileSchema } from '../aggregator/config.ts';
import { readExperimentFile, resolveExperiment } from '../aggregator/config-file.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
import {
  certificateNames,
  type Listening,
  listensEverywhere,
  parsePublicUrl,
  printedBases,
} from '../aggregator/network.ts';
import { weakSecret } from '../aggregator/secret-strength.ts';
import { readTlsFiles, selfSignedTls, type TlsMaterial } from '../aggregator/tls.ts';
import { HOSTILE } from '../core/limits.ts';
import { DEFAULT_SUITE } from '../crypto/suites.ts';
import { useBackend } from '../model/backend.ts';
import { serverChannelsFor } from './channels.ts';
import type { ServeOptions } from './commands.ts';
import { UsageError } from './errors.ts';
import { loadTable } from './import.ts';
import { intArg, schemaText } from './options.ts';
import { privacyLayer } from './privacy-flags.ts';

const F = experimentFileSchema.shape;
const ROOT = resolve(fileURLToPath(new URL('../../dist', import.meta.url)));

export async function serveCommand(o: ServeOptions): Promise<void> {
  const port = o.port ?? (process.env.PORT === undefined ? 8080 : intArg('port', 0, 65535)(process.env.PORT));
  // Every interface by default: a classroom's phones and laptops must reach it (--host 127.0.0.1: local only).
  const host = o.host ?? '0.0.0.0';
  const publicUrl = o.publicUrl === undefined ? undefined : parsePublicUrl(o.publicUrl);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together: give both files, or use --https');
  if (o.tlsCert && o.https)
    throw new UsageError('--https makes a self-signed certificate: drop it with --tls-cert');
  const https = o.https === true || o.tlsCert !== undefined;
  // A given certificate is checked before anything slow: a bad file is a one-line error at once.
  let tls: (TlsMaterial & { made?: string | null }) | undefined =
    o.tlsCert && o.tlsKey ? readTlsFiles(o.tlsCert, o.tlsKey) : undefined;
  const machine = { interfaces: networkInterfaces(), hostname: hostname() };
  const dataDir = resolve(o.dataDir ?? '.pqfed');
  // Threads that open sealed updates; absent: available cores − 1 (src/aggregator/open-pool.ts).
  const openThreads = o.openThreads;
  const file = o.config ? readExperimentFile(o.config) : null;
  const joinToken =
    o.joinToken ??
    (process.env.PQFED_JOIN_TOKEN === undefined
      ? undefined
      : schemaText('join-token', F.joinToken)(process.env.PQFED_JOIN_TOKEN));
  const config = resolveExperiment(DEFAULT_EXPERIMENT, file, {
    ...(joinToken !== undefined && { joinToken }),
    ...privacyLayer(o),
  });
  const suite = o.suite ?? file?.values.suite ?? DEFAULT_SUITE;
  const app = existsSync(join(ROOT, 'index.html'));
  // The class code's strength is checked with the rest of the config (crossProblems); the admin token here.
  const adminToken = process.env.PQFED_ADMIN_TOKEN;
  const weakAdmin =
    adminToken === undefined ? null : weakSecret(adminToken, HOSTILE.minAdminTokenChars, 'PQFED_ADMIN_TOKEN');
  if (weakAdmin) throw new UsageError(`${weakAdmin}; unset it to have one generated`);
  const say = (l: string) => process.stderr.write(`${l}\n`);
  // Faults never end the server: a rejection nobody handled is a bug to report loudly, not a reason to exit.
  process.on('unhandledRejection', (e) => {
    const err = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    say(`UNHANDLED REJECTION (a bug; the server keeps running): ${err}`);
  });

  if (!tls && https) {
    const names = certificateNames({ host, port, https, ...(publicUrl && { publicUrl }) }, machine);
    tls = await selfSignedTls(dataDir, names);
  }
  await useBackend('wasm');
  const { table } = await loadTable(config.data, config.dataset);
  const test = config.test ? (await loadTable(config.test, config.dataset)).table : undefined;
  const experiment = prepareExperiment(config, table, test);
  const { server: channels, close: release } = await serverChannelsFor(dataDir, suite, { openThreads });
  const agg = await startAggregator({
    experiment,
    dataDir,
    channels,
    port,
    host,
    staticRoot: app ? ROOT : null,
    adminToken,
    newSession: o.newSession === true,
    machine,
    ...(publicUrl && { publicUrl }),
    ...(tls && { tls: { cert: tls.cert, key: tls.key } }),
    trustProxy: o.trustProxy === true,
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
  if (o.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  say(`PQFed serving on ${info.url}${describeListening(agg.listening)}`);
  for (const a of info.addresses.slice(1)) say(`  also at:     ${a}`);
  if (!app)
    say('  (the app is not built, so only the API and the WebSocket are served: run `npm run build`)');
  say(`  join link:   ${info.join}`);
  say(`  short link:  ${base}/?autojoin=1 (to type by hand: the page takes its server's fingerprint)`);
  say(`  dashboard:   ${info.dashboard}`);
  say(`  server key:  ${fp} (${channels.suite}, ML-DSA-65)`);
  if (tls) {
    const kind = o.tlsCert ? `--tls-cert ${o.tlsCert}` : `self-signed, kept in ${dataDir}`;
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
  say(`  admin token: ${agg.adminToken}${agg.adminTokenFile ? ` (kept in ${agg.adminTokenFile})` : ''}`);
  if (agg.archived)
    say(`  new session: the previous one (${agg.archived.session}) is archived in ${agg.archived.path}`);
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
