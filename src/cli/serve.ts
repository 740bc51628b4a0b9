/**
 * `pqfed serve [--port N] [--host H] [--data-dir DIR] [--config experiment.json] [--suite xwing|mlkem768]
 * [--join-token T] [--open-threads N] [--json]`: the aggregator with the
 * built app. It imports the experiment's data (default: the embedded TON_IoT sample), resumes from the data
 * directory's checkpoint when there is one, and prints the URL, the join link (with the server key's
 * fingerprint in the fragment) and the admin token.
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAggregator } from '../aggregator/aggregator.ts';
import { DEFAULT_EXPERIMENT, loadConfig } from '../aggregator/config.ts';
import { prepareExperiment } from '../aggregator/experiment.ts';
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
    json: { type: 'boolean' },
  });
  const port = intFlag(values.port ?? process.env.PORT, 'port', 8080, 0, 65535);
  const host = stringFlag(values.host, 'host') ?? 'localhost';
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
  // Faults never end the server: a rejection nobody handled is a bug to report loudly, not a reason to exit.
  process.on('unhandledRejection', (e) => {
    const err = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    say(`UNHANDLED REJECTION (a bug; the server keeps running): ${err}`);
  });

  await useBackend('wasm');
  const { table } = await loadTable(config.data, config.dataset);
  const test = config.test ? (await loadTable(config.test, config.dataset)).table : undefined;
  const experiment = prepareExperiment(config, table, test);
  const suite = choiceFlag(values.suite, 'suite', KEM_SUITES, DEFAULT_SUITE);
  const { server: channels, close: release } = await serverChannelsFor(dataDir, suite, { openThreads });
  const agg = await startAggregator({
    experiment,
    dataDir,
    channels,
    port,
    host,
    staticRoot: app ? ROOT : null,
    adminToken: process.env.PQFED_ADMIN_TOKEN,
    publicUrl: (bound) => baseUrl(host, bound),
    log: (l) => say(`${new Date().toISOString().slice(11, 19)} ${l}`),
    release,
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UsageError(`port ${port} is already in use (set --port or PORT)`);
    throw e;
  });
  const base = baseUrl(host, agg.port);
  const fp = channels.fingerprint ?? '';
  const info = {
    url: `${base}/`,
    join: `${base}/?autojoin=1#fp=${fp}`,
    dashboard: `${base}/dashboard`,
    serverKeyFingerprint: fp,
    adminToken: agg.adminToken,
    dataDir,
    session: agg.coordinator.session,
    resumedAfterRound: agg.resumed?.round ?? null,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  say(`PQFed serving on ${info.url}`);
  if (!app)
    say('  (the app is not built, so only the API and the WebSocket are served: run `npm run build`)');
  say(`  join link:   ${info.join}`);
  say(`  dashboard:   ${info.dashboard}`);
  say(`  server key:  ${fp} (${channels.suite}, ML-DSA-65)`);
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

/** The URL others reach this server at: the LAN address when it listens on every interface. */
function baseUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? (lanAddress() ?? 'localhost') : host;
  return `http://${shown}:${port}`;
}

function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
