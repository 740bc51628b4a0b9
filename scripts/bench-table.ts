/**
 * The README's `pqfed bench` tables, generated from the bench's JSON:
 *
 *   npx pqfed bench --json > bench.json
 *   npx tsx scripts/bench-table.ts bench.json              # prints the Markdown
 *   npx tsx scripts/bench-table.ts bench.json --write README.md
 *
 * `--write FILE` replaces what lies between the `<!-- pqfed bench: start -->` and `<!-- pqfed bench: end -->`
 * lines of FILE (both must be there) and leaves the rest alone; when the report has the secure-aggregation
 * part, it also replaces the block between `<!-- pqfed bench secagg: start -->` and `<!-- pqfed bench secagg:
 * end -->`. A report of `pqfed bench --secagg-only` (no training figures) writes that block only. The
 * formatting is src/bench/table.ts.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchReport, benchMarkdown, secAggMarkdown } from '../src/bench/table.ts';

export const START = '<!-- pqfed bench: start -->';
export const END = '<!-- pqfed bench: end -->';
export const SECAGG_START = '<!-- pqfed bench secagg: start -->';
export const SECAGG_END = '<!-- pqfed bench secagg: end -->';

/** `doc` with the block between the markers replaced by `block`; throws when a marker is missing. */
export function spliceBlock(doc: string, block: string, start = START, end = END): string {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`expected the lines ${start} and ${end}, in that order`);
  return `${doc.slice(0, a + start.length)}\n${block.trimEnd()}\n${doc.slice(b)}`;
}

/** The blocks a report fills: the main one when it has training figures, the secure-aggregation one when it has that part. */
export function reportBlocks(r: BenchReport): { start: string; end: string; block: string }[] {
  const blocks: { start: string; end: string; block: string }[] = [];
  if (r.training.length > 0) blocks.push({ start: START, end: END, block: benchMarkdown(r) });
  const secagg = secAggMarkdown(r);
  if (secagg) blocks.push({ start: SECAGG_START, end: SECAGG_END, block: secagg });
  return blocks;
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
  const blocks = reportBlocks(report);
  if (!values.write) {
    process.stdout.write(blocks.map((b) => b.block).join('\n'));
    return;
  }
  const file = values.write;
  let doc = readFileSync(file, 'utf8');
  for (const b of blocks) doc = spliceBlock(doc, b.block, b.start, b.end);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, doc);
  renameSync(tmp, file);
  process.stderr.write(
    `${file}: the pqfed bench block${blocks.length > 1 ? 's are' : ' is'} updated (${blocks.map((b) => b.start).join(', ')})\n`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
