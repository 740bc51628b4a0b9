/**
 * The definition of every `pqfed` subcommand (commander 14): its flags, their parsers and its help text.
 * The same definition parses the command line and prints `pqfed <command> --help`, so the help lists exactly
 * the flags that work. Adding a flag is one `.option(...)` line here plus its use in the command's module.
 */
import { Command, Option } from 'commander';
import { experimentFileSchema, LABEL_LEVELS } from '../aggregator/config.ts';
import { PROTOCOL } from '../core/limits.ts';
import { STRATEGY_NAMES, type StrategyName } from '../core/strategies/index.ts';
import { KEM_SUITES, type KemSuite } from '../crypto/suites.ts';
import type { LabelLevel } from '../data/schema.ts';
import { DATASET_IDS, type DatasetId } from '../data/schema.ts';
import { STEP_ENGINES, type StepEngine } from '../engine/step-engine.ts';
import { choiceArg, intArg, numArg, schemaNumber, schemaText, textArg } from './options.ts';
import { type PrivacyFlags, withPrivacyFlags } from './privacy-flags.ts';

const F = experimentFileSchema.shape;
const perRound = F.clientsPerRound.unwrap().shape;
const alpha = F.partition.unwrap().options[0].shape.alpha;

const DATASETS = DATASET_IDS.join('|');
const SUITES = KEM_SUITES.join('|');

export interface ServeOptions extends PrivacyFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  config?: string;
  suite?: KemSuite;
  joinToken?: string;
  openThreads?: number;
  newSession?: boolean;
  publicUrl?: string;
  https?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  trustProxy?: boolean;
  json?: boolean;
}

export function serveDefinition(): Command {
  const cmd = new Command('serve')
    .summary('the aggregator and the app (port 8080, every interface)')
    .description(
      'The aggregator: the built app, /healthz, /api/status, the admin API and /ws. Resumes from the data ' +
        "directory's checkpoint; prints the URL, the join link (server key fingerprint in the fragment) and " +
        'the admin token.',
    )
    .option(
      '--port <N>',
      'port to listen on; 0 = any free port (default: $PORT, else 8080)',
      intArg('port', 0, 65535),
    )
    .option(
      '--host <H>',
      'interface to listen on (default: 0.0.0.0, every interface; 127.0.0.1 keeps it on this machine)',
      textArg('host'),
    )
    .option(
      '--public-url <URL>',
      'address put in the join link and QR code (a DNS name, a reverse proxy); also an allowed origin',
      textArg('public-url'),
    )
    .option(
      '--https',
      'serve HTTPS and wss with a self-signed certificate made once and kept in the data directory',
    )
    .option(
      '--tls-cert <FILE>',
      'serve HTTPS with this certificate (PEM; with --tls-key)',
      textArg('tls-cert'),
    )
    .option('--tls-key <FILE>', 'the private key of --tls-cert (PEM)', textArg('tls-key'))
    .option(
      '--trust-proxy',
      'behind a reverse proxy: take client addresses from Forwarded / X-Forwarded-For (off: ignored)',
    )
    .option(
      '--data-dir <DIR>',
      'checkpoint, server identity and results (default: ./.pqfed)',
      textArg('data-dir'),
    )
    .option(
      '--config <FILE>',
      'experiment file (JSON; schema: docs/experiment.schema.json)',
      textArg('config'),
    )
    .option(
      '--suite <S>',
      `key-exchange suite: ${SUITES} (default: the file's "suite", else xwing)`,
      choiceArg('suite', KEM_SUITES),
    )
    .option(
      '--join-token <T>',
      'class code every client must send (also $PQFED_JOIN_TOKEN)',
      schemaText('join-token', F.joinToken),
    )
    .option(
      '--open-threads <N>',
      `threads that open sealed updates and run handshakes, 0 to ${PROTOCOL.maxOpenThreads} (default: cores − 1)`,
      intArg('open-threads', 0, PROTOCOL.maxOpenThreads),
    )
    .option(
      '--new-session',
      "archive the data directory's session history and start a new class at round 0 (same server key)",
    )
    .option(
      '--json',
      'print {url, join, dashboard, serverKeyFingerprint, adminToken, dataDir, session, resumedAfterRound}',
    );
  return withPrivacyFlags(cmd);
}

export interface SimulateOptions extends PrivacyFlags {
  config?: string;
  dataset?: DatasetId;
  data?: string;
  test?: string;
  clients?: number;
  rounds?: number;
  alpha?: number;
  iid?: boolean;
  strategy?: StrategyName;
  fraction?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  mu?: number;
  seed?: number;
  deadline?: number;
  maxTestRows?: number;
  suite?: KemSuite;
  engine?: StepEngine;
  dataDir?: string;
  json?: boolean;
}

export function simulateDefinition(): Command {
  const cmd = new Command('simulate')
    .summary('a real aggregator and N clients over loopback, with the full cryptography')
    .description(
      'A real aggregator and N worker-thread clients (the same client code as a browser tab) over loopback ' +
        'WebSockets through the post-quantum channel. Flags override the --config file; progress goes to ' +
        'stderr.',
    )
    .option(
      '--config <FILE>',
      'experiment file (JSON; schema: docs/experiment.schema.json)',
      textArg('config'),
    )
    .option(
      '--dataset <D>',
      `dataset: ${DATASETS} (required, here or in the file)`,
      choiceArg('dataset', DATASET_IDS),
    )
    .option('--data <FILE>', 'CSV or .csv.gz to train on (required, here or in the file)', textArg('data'))
    .option('--test <FILE>', 'separate test file (default: a grouped split of --data)', textArg('test'))
    .option('--clients <N>', 'simulated clients (default 10)', schemaNumber('clients', F.clients))
    .option('--rounds <R>', 'rounds (default 20)', schemaNumber('rounds', F.rounds))
    .option(
      '--alpha <A>',
      'Dirichlet(α) shards over classes, α > 0 (default 0.5)',
      schemaNumber('alpha', alpha),
    )
    .addOption(new Option('--iid', 'IID shards instead of Dirichlet').conflicts('alpha'))
    .option(
      '--strategy <S>',
      `aggregation: ${STRATEGY_NAMES.join('|')} (default fedavg)`,
      choiceArg('strategy', STRATEGY_NAMES),
    )
    .option(
      '--fraction <F>',
      'share of clients selected per round (default 0.5)',
      schemaNumber('fraction', perRound.fraction),
    )
    .option('--epochs <E>', 'local epochs per round (default 1)', schemaNumber('epochs', F.localEpochs))
    .option('--batch <B>', 'local batch size (default 32)', schemaNumber('batch', F.batchSize))
    .option(
      '--lr <X>',
      "clients' learning rate, cosine decay over the rounds (default 0.003)",
      schemaNumber('lr', F.learningRate),
    )
    .option('--mu <M>', 'FedProx μ (default 0.01)', schemaNumber('mu', F.proxMu))
    .option(
      '--seed <S>',
      'seed of the split, shards, selection and model (default 1)',
      schemaNumber('seed', F.seed),
    )
    .option(
      '--deadline <SECONDS>',
      'round deadline (default 600)',
      schemaNumber('deadline', F.roundDeadlineSeconds),
    )
    .option(
      '--max-test-rows <N>',
      'evaluate on at most N held-out rows, 0 = all (default 0)',
      schemaNumber('max-test-rows', F.maxTestRows),
    )
    .option('--suite <S>', `key-exchange suite: ${SUITES} (default xwing)`, choiceArg('suite', KEM_SUITES))
    .option(
      '--engine <E>',
      "clients' training steps: fused (the fused WASM engine) or tfjs (wasm backend); " +
        'default fused, tfjs when the engine is not built',
      choiceArg('engine', STEP_ENGINES),
    )
    .option(
      '--data-dir <DIR>',
      'keep the run (checkpoint, server key) here (default: a temporary folder)',
      textArg('data-dir'),
    )
    .option('--json', 'print one JSON object: rounds, final, rows, the resolved config and versions');
  return withPrivacyFlags(cmd);
}

export interface ImportOptions {
  dataset?: DatasetId;
  out?: string;
  json?: boolean;
}

export function importDefinition(): Command {
  return new Command('import')
    .summary('validate, clean, deduplicate and count a dataset file')
    .description(
      'Streams a .csv or .csv.gz, picks the release from the header, drops identifiers, validates every row ' +
        'and deduplicates; reports the counts (class counts before and after deduplication).',
    )
    .argument('<FILE>', 'CSV or .csv.gz')
    .option('--dataset <D>', `dataset: ${DATASETS} (required)`, choiceArg('dataset', DATASET_IDS))
    .option(
      '--out <FILE>',
      'write the cleaned, deduplicated table atomically (numbers as the shortest text that reads back as the same float32)',
      textArg('out'),
    )
    .option('--json', 'print the report as one JSON object');
}

export interface TrainOptions {
  dataset?: DatasetId;
  data?: string;
  test?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  backend?: 'wasm' | 'cpu';
  engine?: StepEngine;
  seed?: number;
  labels?: LabelLevel;
  testFraction?: number;
  classWeights?: 'none' | 'sqrt';
  json?: boolean;
}

export function trainDefinition(): Command {
  return new Command('train')
    .summary('centralized training of the same model, with macro-F1 and baselines')
    .description(
      'Centralized training of the federated model. Without --test the deduplicated rows are split grouped ' +
        '(no identical input vector on both sides); with --test it evaluates on that file.',
    )
    .option('--dataset <D>', `dataset: ${DATASETS} (required)`, choiceArg('dataset', DATASET_IDS))
    .option('--data <FILE>', 'CSV or .csv.gz (required)', textArg('data'))
    .option('--test <FILE>', 'separate test file', textArg('test'))
    .option('--epochs <N>', 'epochs (default 6)', intArg('epochs', 1, 10_000))
    .option('--batch <N>', 'batch size (default 256)', intArg('batch', 1, 65_536))
    .option('--lr <X>', 'Adam learning rate (default 0.003)', numArg('lr', 1e-6, 1))
    .option(
      '--backend <B>',
      'tfjs backend: wasm|cpu (default wasm)',
      choiceArg('backend', ['wasm', 'cpu'] as const),
    )
    .option(
      '--engine <E>',
      'who runs the steps: fused (the fused WASM engine, docs/fused-engine.md) or tfjs (on --backend); ' +
        'default fused, tfjs when the engine is not built',
      choiceArg('engine', STEP_ENGINES),
    )
    .option('--seed <S>', 'seed (default 1)', intArg('seed', 0, 2 ** 31 - 1))
    .option(
      '--labels <L>',
      `label level: ${LABEL_LEVELS.join('|')} (default fine)`,
      choiceArg('labels', LABEL_LEVELS),
    )
    .option(
      '--test-fraction <F>',
      'held-out share without --test (default 0.2)',
      numArg('test-fraction', 0.01, 0.9),
    )
    .option(
      '--class-weights <W>',
      'loss weights per class: none|sqrt (default none)',
      choiceArg('class-weights', ['none', 'sqrt'] as const),
    )
    .option('--json', 'print the report as one JSON object');
}

export interface BenchOptions {
  quick?: boolean;
  clients?: number;
  json?: boolean;
  /** false with --no-secagg: skip the secure-aggregation part. */
  secagg?: boolean;
  secaggOnly?: boolean;
}

export function benchDefinition(): Command {
  return new Command('bench')
    .summary('training samples/s, crypto per update, aggregator updates/s, wire bytes, secure aggregation')
    .description(
      'The benchmark suite: training samples/s of the default model on tfjs wasm and cpu (and PyTorch when ' +
        'python3 imports torch), crypto cost per update, aggregator throughput, wire bytes, and the per-round ' +
        'cost of secure aggregation (client and server, compute and bytes) for 10, 100 and 1,000 members.',
    )
    .option('--quick', 'small, fast run of every part')
    .option(
      '--clients <N>',
      'clients of the aggregator burst (default 100, --quick 6)',
      intArg('clients', 1, 1000),
    )
    .option('--json', 'print the report as one JSON object')
    .option(
      '--no-secagg',
      'skip the secure-aggregation part (SecAgg+ rounds of 10, 100 and 1,000 members: several minutes)',
    )
    .option('--secagg-only', 'run only the secure-aggregation part');
}
