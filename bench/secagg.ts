/**
 * Per-round cost of SecAgg+ (src/core/secagg/, docs/secure-aggregation.md) for 10, 100 and 1,000 members:
 * one client's and the server's compute and bytes, in one process with the real cryptography. 10 and 100
 * run whole rounds; 1,000 runs the focal mode of src/bench/secagg.ts (all 1,000 advertise, then one member
 * and its k neighbours finish: a client's cost at n = 1,000, no server figure). Bounded: one round per size.
 * Prints a table on stderr and one JSON object on stdout.
 * Run: `npx tsx bench/secagg.ts [--sizes 10,100,1000] [--length 20000]`.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { measureSecAgg, type SecAggCost } from '../src/bench/secagg.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, length: { type: 'string' } } });
const sizes = (values.sizes ?? '10,100,1000').split(',').map(Number);
const vectorLength = Number(values.length ?? 20_000);
const say = (line: string) => process.stderr.write(`${line}\n`);

const rows: SecAggCost[] = [];
const started = performance.now();
for (const members of sizes) {
  const mode = members <= 100 ? 'full' : 'focal';
  say(`SecAgg+ round, ${members} members (${mode}), vector ${vectorLength}…`);
  const row = measureSecAgg({ members, vectorLength, mode });
  rows.push(row);
  const kb = (b: number | null) => (b === null ? '—' : `${(b / 1024).toFixed(0)} KiB`);
  say(
    `  k=${row.k} t=${row.t} drop=${row.dropouts} | client ${row.clientMs.toFixed(0)} ms, up ${kb(row.clientBytesUp)}, down ${kb(row.clientBytesDown)}` +
      ` | server ${row.serverMs === null ? '—' : `${row.serverMs.toFixed(0)} ms`}, in ${kb(row.serverBytesIn)}, out ${kb(row.serverBytesOut)}` +
      ` | ${(row.clientMs / row.k).toFixed(1)} ms per neighbour${row.completed ? '' : ' (focal: no sum)'}`,
  );
}
const cpu = cpus()[0]?.model ?? 'unknown';
process.stdout.write(
  `${JSON.stringify({ machine: { cpu, cpus: cpus().length, node: process.version }, seconds: (performance.now() - started) / 1000, rows })}\n`,
);
