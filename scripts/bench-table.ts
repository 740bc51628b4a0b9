/**
 * The README's `pqfed bench` tables, generated from the bench's JSON:
 *
 *   npx pqfed bench --json > bench.json
 *   npx tsx scripts/bench-table.ts bench.json              # prints the Markdown
 *   npx tsx scripts/bench-table.ts bench.json --write README.md
 *
 * `--write FILE` replaces what lies between the `<!-- pqfed bench: start -->` and `<!-- pqfed bench: end -->`
 * lines of FILE (both must be there) and leaves the rest alone. The formatting is src/bench/table.ts.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchReport, benchMarkdown } from '../src/bench/table.ts';

export const START = '<!-- pqfed bench: start -->';
export const END = '<!-- pqfed bench: end -->';

/** `doc` with the block between the markers replaced by `block`; throws when a marker is missing. */
export function spliceBlock(doc: string, block: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`expected the lines ${START} and ${END}, in that order`);
  return `${doc.slice(0, a + START.length)}\n${block.trimEnd()}\n${doc.slice(b)}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { write: { type: 'string' } },
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: npx tsx scripts/bench-table.ts bench.json [--write README.md]\n');
    process.exit(2);
  }
  const report = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as BenchReport;
  if (!report.machine || !Array.isArray(report.training)) {
    process.stderr.write(`${positionals[0]}: not the output of \`pqfed bench --json\`\n`);
    process.exit(2);
  }
  const md = benchMarkdown(report);
  if (!values.write) {
    process.stdout.write(md);
    return;
  }
  const file = values.write;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, spliceBlock(readFileSync(file, 'utf8'), md));
  renameSync(tmp, file);
  process.stderr.write(`${file}: the pqfed bench block is updated\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
