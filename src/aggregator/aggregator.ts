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
import { adminTokenFor } from './admin-token.ts';
import { type Checkpoint, CheckpointError, loadCheckpoint } from './checkpoint.ts';
import type { ExperimentConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { type Bindings, loadBindings } from './durable-store.ts';
import { createEvaluator } from './evaluator.ts';
import type { PreparedExperiment } from './experiment.ts';
import { createExplainer, type ExplainerStats } from './explainer.ts';
import type { AdmissionLimits } from './handshake-admission.ts';
import { browserOrigins, type Listening, type Machine, publicBase } from './network.ts';
import { type AggregatorServer, createAggregatorServer } from './server.ts';

export interface StartOptions {
  experiment: PreparedExperiment;
  /** Data directory (checkpoint, keys); null keeps everything in memory. */
  dataDir: string | null;
  channels: ServerChannels;
  port: number;
  host: string;
  staticRoot: string | null;
  /** Overrides the token kept in the data directory (admin-token.ts), e.g. from PQFED_ADMIN_TOKEN. */
  adminToken?: string;
  /** Archive the checkpoint's session (if any) and start a fresh one (`pqfed serve --new-session`). */
  newSession?: boolean;
  /** `--public-url`: the base of the join link in /api/status (a DNS name, a reverse proxy) and an allowed
   * browser origin. */
  publicUrl?: string;
  /** The machine's interfaces and hostname (`pqfed serve` reads them from `node:os`; tests make them up):
   * the join link then uses an address other devices reach, and those addresses are allowed origins.
   * Without it and without `publicUrl`, /api/status has no join link. */
  machine?: Machine;
  /** Serve HTTPS and `wss` with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Behind a reverse proxy: client addresses come from `Forwarded`/`X-Forwarded-For`. */
  trustProxy?: boolean;
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
  /** Handshake admission limits (server.ts); only local harnesses (simulate, bench) relax them. */
  admission?: Partial<AdmissionLimits>;
}

export interface RunningAggregator {
  coordinator: Coordinator;
  server: AggregatorServer;
  port: number;
  adminToken: string;
  /** Where the admin token is kept (null: from the environment, or no data directory). */
  adminTokenFile: string | null;
  resumed: Checkpoint | null;
  /** The session archived by `newSession` at start-up, and its archive file. */
  archived: { session: string; path: string | null } | null;
  /** How it listens, with the bound port. */
  listening: Listening;
  /** The base of the join link (null without `machine` or `publicUrl`). */
  publicBase: string | null;
  /** The browser origins allowed to open `/ws`. */
  origins: ReadonlySet<string>;
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
  let archived: RunningAggregator['archived'] = null;
  if (opts.newSession && resumed) {
    const r = coordinator.newSession();
    archived = { session: r.previous, path: r.archived };
    resumed = null;
  }
  const token = adminTokenFor(opts.dataDir, opts.adminToken);
  const adminToken = token.token;
  let base: string | null = null;
  let origins: ReadonlySet<string> = new Set();
  const globalModel = {
    get version() {
      return coordinator.modelVersion;
    },
    weights: () => coordinator.globalWeights(),
  };
  const server = createAggregatorServer({
    coordinator,
    channels: opts.channels,
    modelSize: initial.length,
    adminToken,
    staticRoot: opts.staticRoot,
    ...(opts.admission && { admission: opts.admission }),
    browserOrigins: () => origins,
    publicUrl: () => base ?? undefined,
    ...(opts.tls && { tls: opts.tls }),
    trustProxy: opts.trustProxy ?? false,
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
  const listening: Listening = {
    host: opts.host,
    port,
    https: opts.tls !== undefined,
    ...(opts.publicUrl && { publicUrl: opts.publicUrl }),
  };
  const machine = opts.machine ?? { interfaces: {}, hostname: '' };
  origins = browserOrigins(listening, machine, exp.config.allowedOrigins);
  base = opts.machine || opts.publicUrl ? publicBase(listening, machine.interfaces) : null;
  return {
    coordinator,
    server,
    port,
    adminToken,
    adminTokenFile: token.path,
    resumed,
    archived,
    listening,
    publicBase: base,
    origins,
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
