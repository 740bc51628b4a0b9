/**
 * Assembles an aggregator: the prepared experiment, the checkpoint of an earlier run in the same data
 * directory (resumed from its last completed round), the server-side evaluator, the coordinator and the
 * HTTP/WebSocket server. `pqfed serve` and `pqfed simulate` both start exactly this.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { ServerChannels } from '../core/channel.ts';
import { exportArtifacts } from '../model/exported.ts';
import { initWeights } from '../model/model.ts';
import { type Checkpoint, CheckpointError, loadCheckpoint } from './checkpoint.ts';
import type { ExperimentConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { type Bindings, loadBindings } from './durable-store.ts';
import { createEvaluator } from './evaluator.ts';
import type { PreparedExperiment } from './experiment.ts';
import { createExplainer, type ExplainerStats } from './explainer.ts';
import { type AggregatorServer, createAggregatorServer, newAdminToken } from './server.ts';

export interface StartOptions {
  experiment: PreparedExperiment;
  /** Data directory (checkpoint, keys); null keeps everything in memory. */
  dataDir: string | null;
  channels: ServerChannels;
  port: number;
  host: string;
  staticRoot: string | null;
  adminToken?: string;
  /** The server's public base URL for the join link in /api/status (e.g. `http://192.168.1.5:8080`), or
   * a function of the port it bound (for port 0). */
  publicUrl?: string | ((port: number) => string);
  log?: (line: string) => void;
  /**
   * Weigh each client's update at most by the rows of the shard of the embedded sample it was assigned
   * (default: when the app is served, since browser clients build exactly that shard). `pqfed simulate`
   * gives its clients shards of its own, so it keeps their declared counts (up to
   * PROTOCOL.maxSamplesPerClient).
   */
  capToAssignedShard?: boolean;
  /** Called by `close()` once the server and the coordinator have stopped (e.g. `serverChannelsFor`'s
   * `close`, which ends the threads that open updates). */
  release?: () => void | Promise<void>;
}

export interface RunningAggregator {
  coordinator: Coordinator;
  server: AggregatorServer;
  port: number;
  adminToken: string;
  resumed: Checkpoint | null;
  /** The `/api/explain` worker's queue: pending jobs, the most at once, refusals. */
  explainStats(): ExplainerStats;
  close(): Promise<void>;
}

/** Digest of the parts of a config that define the run (a resumed run must use the same). */
export function configDigest(c: ExperimentConfig): string {
  const {
    autoStart: _a,
    roundDeadlineSeconds: _d,
    rounds: _r,
    joinToken: _t,
    allowedOrigins: _o,
    ...rest
  } = c;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

export async function startAggregator(opts: StartOptions): Promise<RunningAggregator> {
  const exp = opts.experiment;
  const log = opts.log ?? (() => {});
  let resumed: Checkpoint | null = null;
  let bindings: Bindings | null = null;
  const digest = configDigest(exp.config);
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    resumed = loadCheckpoint(opts.dataDir);
    if (resumed && resumed.configDigest !== digest) {
      throw new CheckpointError(
        `${opts.dataDir} holds a run of a different experiment (config ${resumed.configDigest}, now ${digest}); ` +
          'use the same config to resume it, or another --data-dir',
      );
    }
    bindings = loadBindings(opts.dataDir, digest);
  }
  const initial = initWeights(exp.model, exp.config.seed).weights;
  const evaluator = createEvaluator(exp);
  const explainer = createExplainer(exp);
  const coordinator = new Coordinator({
    config: exp.config,
    experiment: {
      dataset: exp.config.dataset,
      model: { ...exp.model },
      preprocessor: { ...exp.preprocessor },
      modelSize: initial.length,
      ...(exp.shardSource && { shardSource: exp.shardSource }),
    },
    initialWeights: initial,
    evaluate: evaluator.evaluate,
    channels: opts.channels,
    dataDir: opts.dataDir,
    resume: resumed,
    bindings,
    ...(exp.shardSource &&
      (opts.capToAssignedShard ?? opts.staticRoot !== null) && {
        shardRows: exp.shards(exp.shardSource.count, exp.config.partition).map((s) => s.n),
      }),
    configDigest: digest,
    log,
  });
  if (resumed) log(`resumed session ${resumed.session} after round ${resumed.round} from ${opts.dataDir}`);
  const adminToken = opts.adminToken ?? newAdminToken();
  const globalModel = {
    get version() {
      return coordinator.modelVersion;
    },
    weights: () => coordinator.globalWeights(),
  };
  let publicUrl: string | undefined;
  const server = createAggregatorServer({
    coordinator,
    channels: opts.channels,
    modelSize: initial.length,
    adminToken,
    staticRoot: opts.staticRoot,
    allowedOrigins: exp.config.allowedOrigins,
    publicUrl: () => publicUrl,
    dataDir: opts.dataDir,
    exportModel: () =>
      exportArtifacts(exp.model, exp.preprocessor, coordinator.globalWeights(), {
        round: coordinator.roundsCompleted,
        version: coordinator.modelVersion,
        generatedBy: 'PQFed aggregator',
      }),
    explain: {
      rows: explainer.rows,
      explain: (row) => explainer.explain(globalModel, row),
      suggestions: () => explainer.suggestions(globalModel),
    },
    log,
  });
  const port = await server.listen(opts.port, opts.host);
  publicUrl = typeof opts.publicUrl === 'function' ? opts.publicUrl(port) : opts.publicUrl;
  return {
    coordinator,
    server,
    port,
    adminToken,
    resumed,
    explainStats: () => explainer.stats(),
    async close() {
      coordinator.close();
      await server.close();
      await coordinator.idle();
      evaluator.dispose();
      await explainer.dispose();
      await opts.release?.();
    },
  };
}
