/** `pqfed import FILE --dataset D [--out FILE] [--json]`: validate, clean and count a dataset file. */
import { formatCsvRecord } from '../data/csv.ts';
import { type FlowTable, type ImportReport, importCsv } from '../data/import.ts';
import type { DatasetId } from '../data/schema.ts';
import type { ImportOptions } from './commands.ts';
import { UsageError } from './errors.ts';
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
      p.rowsRead > 0 &&
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

/**
 * The shortest decimal text that reads back as the same float32 (the table holds float32 values: printing
 * their float64 expansion, 0.0002969999914057553, would claim digits that were never there). At most 9
 * significant digits, which always suffice for a float32.
 */
export function float32Text(v: number): string {
  const f = Math.fround(v);
  if (Number.isInteger(f) && Math.abs(f) <= 2 ** 24) return String(f);
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(Number(f.toPrecision(9)));
}

/** The cleaned table as CSV: model inputs, the fine label and the MOS proxy (4 decimals); no identifiers. */
function* cleanedCsv(t: FlowTable): Generator<string> {
  const ln = t.numericNames.length;
  const lc = t.categoricalNames.length;
  yield `${formatCsvRecord([...t.numericNames, ...t.categoricalNames, 'class', 'mos_proxy'])}\n`;
  for (let i = 0; i < t.n; i++) {
    const row: string[] = [];
    for (let j = 0; j < ln; j++) {
      const v = t.numeric[i * ln + j]!;
      row.push(Number.isNaN(v) ? '' : float32Text(v));
    }
    for (let j = 0; j < lc; j++) row.push(t.dictionaries[j]![t.categorical[i * lc + j]!]!);
    row.push(t.schema.classes[t.label[i]!]!, t.mos[i]!.toFixed(4));
    yield `${formatCsvRecord(row)}\n`;
  }
}

export async function importCommand(file: string, o: ImportOptions): Promise<ImportReport> {
  if (!o.dataset) throw new UsageError('--dataset is required (one of toniot, ciciot2023, edgeiiot)');
  const { table, report } = await loadTable(file, o.dataset);
  if (o.out) {
    await writeAtomic(o.out, cleanedCsv(table));
    process.stderr.write(`wrote ${table.n} deduplicated rows to ${o.out}\n`);
  }
  return report;
}

const count = (n: number) => n.toLocaleString('en-US');

export function formatImport(r: ImportReport): string {
  const skipped = Object.entries(r.skipped)
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
  const classes = Object.entries(r.classes).map(
    ([k, v]) => `  ${k.padEnd(28)} ${count(v).padStart(11)} ${count(r.classesUnique[k] ?? 0).padStart(11)}`,
  );
  return [
    `${r.dataset} (${r.release})${r.synthetic ? ' — SYNTHETIC' : ''}`,
    `rows read ${count(r.rowsRead)}, kept ${count(r.rowsKept)}, skipped ${count(r.rowsSkipped)}${skipped ? ` (${skipped})` : ''}`,
    `duplicates dropped ${count(r.duplicatesDropped)}, unique rows ${count(r.rowsUnique)}`,
    `features (${r.features.length}): ${r.features.join(', ')}`,
    `QoE proxy columns (not inputs): ${r.qoeColumns.join(', ')}`,
    `dropped: ${r.droppedColumns.join(', ')}`,
    `  ${'class'.padEnd(28)} ${'valid rows'.padStart(11)} ${'unique'.padStart(11)}`,
    ...classes,
  ].join('\n');
}
