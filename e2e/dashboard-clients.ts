/**
 * Node clients for the dashboard specs, in a process of their own (`node --import tsx
 * e2e/dashboard-clients.ts <ws url> <server fingerprint> <experiment.json> <clients> [name|name|…]`): the same
 * FederatedClient and ModelTrainer as `pqfed simulate`, each on an IID shard of the experiment's training
 * rows, pinned to the server's key. Prints one JSON line per client status change; exits when every
 * client has finished (or on SIGTERM).
 */
import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/aggregator/config.ts';
import { prepareExperiment } from '../src/aggregator/experiment.ts';
import { clientChannelsFor } from '../src/cli/channels.ts';
import { loadTable } from '../src/cli/import.ts';
import { FederatedClient } from '../src/client/client.ts';
import { ModelTrainer } from '../src/client/model-trainer.ts';
import { useBackend } from '../src/model/backend.ts';
import { nodeSocket } from '../test/federation.ts';

const [url, fingerprint, configFile, count = '2', names = ''] = process.argv.slice(2);
const nameOf = (i: number) => names.split('|')[i] || `Node ${i + 1}`;
if (!url || !fingerprint || !configFile) {
  process.stderr.write('usage: dashboard-clients.ts <ws url> <fingerprint> <experiment.json> [clients]\n');
  process.exit(2);
}

await useBackend('wasm');
const config = parseConfig(JSON.parse(readFileSync(configFile, 'utf8')));
const { table } = await loadTable(config.data, config.dataset);
const exp = prepareExperiment(config, table);
const shards = exp.shards(Number(count), { kind: 'iid' });
const clients = await Promise.all(
  shards.map(
    async (shard, i) =>
      new FederatedClient({
        url,
        name: nameOf(i),
        trainer: new ModelTrainer(shard, 'wasm'),
        channels: await clientChannelsFor({
          kind: 'pq',
          pinnedFingerprint: fingerprint,
          minimumSuite: 'xwing',
        }),
        connect: nodeSocket,
        backoff: { initialMs: 200, maxMs: 1000, factor: 2 },
        onStatus: (s) => process.stdout.write(`${JSON.stringify({ client: i, ...s })}\n`),
      }),
  ),
);
process.once('SIGTERM', () => {
  for (const c of clients) c.stop();
});
await Promise.all(clients.map((c) => c.run()));
process.exit(0);
