/** `pqfed import FILE --dataset D [--out FILE] [--json]`: validate, clean and count a dataset file. */
import { formatCsvRecord } from '../data/csv.ts';
import { type FlowTable, type ImportReport, importCsv } from '../data/import.ts';
import { DATASET_IDS, type DatasetId } from '../data/schema.ts';
import { choiceFlag, parse, stringFlag, UsageError } from './args.ts';
import { openCsv, writeAtomic } from './files.ts';
import { throttled } from './progress.ts';

export async function loadTable(
  path: string,
  dataset: DatasetId,
): Promise<{ table: FlowTable; report: ImportReport }> {
  const { stream, size } = openCsv(path);
  const say = throttled();
  const result = await importCsv(stream, {
    dataset,
    onProgress: (p) =>
      say(
        () => `import ${path}: ${((100 * p.bytesRead) / Math.max(1, size)).toFixed(0)}% (${p.rowsRead} rows)`,
      ),
  });
  const r = result.report;
  process.stderr.write(
    `import ${path}: ${r.rowsRead} rows read, ${r.rowsKept} kept, ${r.rowsSkipped} skipped, ` +
      `${r.duplicatesDropped} duplicates dropped (${r.release})\n`,
  );
  return result;
}

/** The cleaned table as CSV: model inputs, the fine label and the MOS proxy; identifiers are gone. */
function* cleanedCsv(t: FlowTable): Generator<string> {
  const ln = t.numericNames.length;
  const lc = t.categoricalNames.length;
  yield `${formatCsvRecord([...t.numericNames, ...t.categoricalNames, 'class', 'mos_proxy'])}\n`;
  for (let i = 0; i < t.n; i++) {
    const row: string[] = [];
    for (let j = 0; j < ln; j++) {
      const v = t.numeric[i * ln + j]!;
      row.push(Number.isNaN(v) ? '' : String(v));
    }
    for (let j = 0; j < lc; j++) row.push(t.dictionaries[j]![t.categorical[i * lc + j]!]!);
    row.push(t.schema.classes[t.label[i]!]!, t.mos[i]!.toFixed(4));
    yield `${formatCsvRecord(row)}\n`;
  }
}

export async function importCommand(argv: string[]): Promise<ImportReport> {
  const { values, positionals } = parse(
    argv,
    { dataset: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    1,
  );
  const file = positionals[0];
  if (!file)
    throw new UsageError('usage: pqfed import FILE --dataset toniot|ciciot2023|edgeiiot [--out FILE]');
  const dataset = choiceFlag(values.dataset, 'dataset', DATASET_IDS);
  const { table, report } = await loadTable(file, dataset);
  const out = stringFlag(values.out, 'out');
  if (out) {
    await writeAtomic(out, cleanedCsv(table));
    process.stderr.write(`wrote ${table.n} deduplicated rows to ${out}\n`);
  }
  return report;
}

export function formatImport(r: ImportReport): string {
  const skipped = Object.entries(r.skipped)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const classes = Object.entries(r.classes)
    .map(([k, v]) => `  ${k.padEnd(28)} ${v}`)
    .join('\n');
  return [
    `${r.dataset} (${r.release})${r.synthetic ? ' — SYNTHETIC' : ''}`,
    `rows read ${r.rowsRead}, kept ${r.rowsKept}, skipped ${r.rowsSkipped}${skipped ? ` (${skipped})` : ''}`,
    `duplicates dropped ${r.duplicatesDropped}, unique rows ${r.rowsUnique}`,
    `features (${r.features.length}): ${r.features.join(', ')}`,
    `QoE proxy columns (not inputs): ${r.qoeColumns.join(', ')}`,
    `dropped: ${r.droppedColumns.join(', ')}`,
    'classes:',
    classes,
  ].join('\n');
}
