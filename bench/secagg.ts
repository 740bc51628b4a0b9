/**
 * Per-round cost of SecAgg+ (src/core/secagg/, docs/secure-aggregation.md) for 10, 100 and 1,000 members:
 * one client's and the server's compute and bytes, in one process with the real cryptography: the
 * secure-aggregation part of `pqfed bench` (src/bench/secagg.ts) on its own, with other sizes or lengths.
 * Sizes up to --full-up-to run whole rounds; larger ones run the focal mode (a client's cost at n) and the
 * server mode (the server's whole n-member round, src/bench/secagg-server.ts). Bounded: one round per size
 * and mode. Progress on stderr, one JSON object on stdout.
 * Run: `npx tsx bench/secagg.ts [--sizes 10,100,1000] [--length 20523] [--full-up-to 100]`.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runSecAggBench } from '../src/bench/secagg.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string' }, length: { type: 'string' }, 'full-up-to': { type: 'string' } },
});
const sizes = (values.sizes ?? '10,100,1000').split(',').map(Number);
const vectorLength = Number(values.length ?? 20_523);
const fullUpTo = Number(values['full-up-to'] ?? 100);
const started = performance.now();
const report = runSecAggBench({ sizes, fullUpTo, vectorLength }, (line) => process.stderr.write(`${line}\n`));
const cpu = cpus()[0]?.model ?? 'unknown';
process.stdout.write(
  `${JSON.stringify({ machine: { cpu, cpus: cpus().length, node: process.version }, seconds: (performance.now() - started) / 1000, ...report })}\n`,
);
