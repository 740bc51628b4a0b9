/**
 * Import: CSV records → validated, identifier-free, deduplicated flow table.
 *
 * Order of the data rules (DESIGN.md): identifiers are dropped first (never parsed, never hashed), then rows
 * are validated (each bad row skipped and counted by reason, never coerced), then exact duplicates of the
 * model-visible record (inputs + label) are dropped as they stream in. Splitting and scaling come later
 * (split.ts, features.ts), on the deduplicated table.
 */
import { LIMITS } from '../core/limits.ts';
import { type CsvRecord, type ReadProgress, readCsv } from './csv.ts';
import { mosProxy } from './qoe.ts';
import {
  type DatasetId,
  type DatasetSchema,
  type DetectedHeader,
  detectSchema,
  SchemaError,
} from './schema.ts';
import { RELEASES } from './schemas/index.ts';

export type SkipReason =
  | 'wrong-column-count'
  | 'bad-number'
  | 'non-finite'
  | 'unknown-label'
  | 'label-mismatch'
  | 'unterminated-quote'
  | 'record-too-long';

/** Deduplicated rows, column-major by role. */
export interface FlowTable {
  schema: DatasetSchema;
  /** Number of rows. */
  n: number;
  numericNames: readonly string[];
  categoricalNames: readonly string[];
  /** n × numericNames.length, row-major; NaN marks a value the dataset wrote as missing. */
  numeric: Float32Array;
  /** n × categoricalNames.length, row-major; index into `dictionaries[column]`. */
  categorical: Int32Array;
  /** Distinct raw values seen per categorical column (capped; see LIMITS.maxDictionary). */
  dictionaries: string[][];
  /** Index of the fine class in `schema.classes`. */
  label: Int32Array;
  /** MOS proxy (qoe.ts), 1–4.5. */
  mos: Float32Array;
  /** Hash of the model-input vector (no label): rows with equal keys have identical inputs. */
  groupKey: Float64Array;
  /** True for generated data (synthetic.ts). */
  synthetic: boolean;
}

export interface ImportReport {
  dataset: DatasetId;
  release: string;
  rowsRead: number;
  /** Valid rows (before deduplication). */
  rowsKept: number;
  rowsSkipped: number;
  skipped: Partial<Record<SkipReason, number>>;
  duplicatesDropped: number;
  /** Rows left after deduplication. */
  rowsUnique: number;
  /** Model-input columns. */
  features: string[];
  /** Columns feeding the MOS proxy (not inputs). */
  qoeColumns: string[];
  /** Identifier, payload and shortcut columns removed. */
  droppedColumns: string[];
  /** Fine-class counts over valid rows (before deduplication). */
  classes: Record<string, number>;
  /** Fine-class counts over the rows left after deduplication (they add up to `rowsUnique`). */
  classesUnique: Record<string, number>;
  /** First few skipped rows, for the user: line number and reason. */
  examples: { line: number; reason: SkipReason; detail: string }[];
  synthetic: boolean;
}

export interface ImportOptions {
  dataset: DatasetId;
  onProgress?: (p: ReadProgress & { rowsRead: number }) => void;
  /** Stop after this many data rows (for previews and tests). */
  maxRows?: number;
  synthetic?: boolean;
}

export class ImportError extends Error {
  override name = 'ImportError';
}

/** Growable typed array. */
class Grow<T extends Float32Array | Int32Array | Float64Array> {
  length = 0;
  constructor(
    private buf: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = this.make(Math.max(1024, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  done(): T {
    return this.buf.slice(0, this.length) as T;
  }
}
const f32 = () => new Grow(new Float32Array(1024), (n) => new Float32Array(n));
const i32 = () => new Grow(new Int32Array(1024), (n) => new Int32Array(n));
const f64 = () => new Grow(new Float64Array(1024), (n) => new Float64Array(n));

/** Parses a numeric field strictly. Empty or whitespace is not a number here (callers decide on missing). */
export function parseNumber(raw: string): number | 'bad' | 'non-finite' {
  const s = raw.trim();
  if (s === '') return 'bad';
  const v = Number(s);
  if (Number.isNaN(v)) return /^[+-]?(nan|inf(inity)?)$/i.test(s) ? 'non-finite' : 'bad';
  if (!Number.isFinite(v)) return 'non-finite';
  return v;
}

/** 53-bit string hash (two FNV-1a lanes), as a float64-safe integer. Collisions at 10M rows: ~0.5 %. */
export function hash53(s: string, seed = 0): number {
  let h1 = 0x811c9dc5 ^ seed;
  let h2 = 0x01000193 ^ Math.imul(seed, 0x9e3779b1);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/** Imports one CSV stream of `dataset`. The header picks the release. */
export async function importCsv(
  source: ReadableStream<Uint8Array>,
  options: ImportOptions,
): Promise<{ table: FlowTable; report: ImportReport }> {
  let detected: DetectedHeader | undefined;
  let builder: TableBuilder | undefined;
  let rowsRead = 0;
  let lastProgress: ReadProgress = { bytesRead: 0 };
  const maxRows = options.maxRows ?? Number.POSITIVE_INFINITY;
  outer: for await (const batch of readCsv(source, (p) => {
    lastProgress = p;
    options.onProgress?.({ ...p, rowsRead });
  })) {
    for (const rec of batch) {
      if (!detected) {
        if (rec.malformed)
          throw new ImportError(`line ${rec.line}: the header is not valid CSV (${rec.malformed})`);
        detected = detectSchema(rec.fields, RELEASES, options.dataset);
        builder = new TableBuilder(detected);
        continue;
      }
      if (rowsRead >= maxRows) break outer;
      rowsRead++;
      builder!.add(rec);
    }
  }
  if (!detected || !builder) throw new ImportError('the file is empty: expected a CSV header and rows');
  options.onProgress?.({ ...lastProgress, rowsRead });
  return builder.finish(rowsRead, options.synthetic ?? false);
}

class TableBuilder {
  private readonly schema: DatasetSchema;
  private readonly numIdx: number[];
  private readonly catIdx: number[];
  private readonly qoeIdx: number[];
  private readonly labelIdx: number;
  private readonly binaryIdx: number;
  private readonly width: number;
  private readonly missing: Set<string>;
  private readonly classIndex: Map<string, number>;
  private readonly numeric = f32();
  private readonly categorical = i32();
  private readonly label = i32();
  private readonly mos = f32();
  private readonly groupKey = f64();
  private readonly dictionaries: string[][];
  private readonly dictIndex: Map<string, number>[];
  private readonly seen = new Set<number>();
  private readonly skipped: Partial<Record<SkipReason, number>> = {};
  private readonly classCounts: number[];
  private readonly examples: ImportReport['examples'] = [];
  private duplicates = 0;
  private kept = 0;
  // scratch buffers reused per row
  private readonly rowNum: Float32Array;
  private readonly rowCat: Int32Array;
  private readonly qoeValues: Record<string, number> = {};

  constructor(detected: DetectedHeader) {
    const s = detected.schema;
    this.schema = s;
    const at = (c: string) => detected.index[c]!;
    this.numIdx = s.numeric.map(at);
    this.catIdx = s.categorical.map(at);
    this.qoeIdx = s.qoe.map(at);
    this.labelIdx = at(s.label);
    this.binaryIdx = s.binaryLabel ? at(s.binaryLabel) : -1;
    this.width = s.columns.length + detected.extra.length;
    this.missing = new Set(s.missing);
    this.classIndex = new Map(s.classes.map((c, i) => [c, i]));
    this.classCounts = s.classes.map(() => 0);
    this.dictionaries = s.categorical.map(() => []);
    this.dictIndex = s.categorical.map(() => new Map());
    this.rowNum = new Float32Array(s.numeric.length);
    this.rowCat = new Int32Array(s.categorical.length);
  }

  private skip(rec: CsvRecord, reason: SkipReason, detail: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    if (this.examples.length < 10) this.examples.push({ line: rec.line, reason, detail });
  }

  add(rec: CsvRecord): void {
    if (rec.malformed) return this.skip(rec, rec.malformed, 'not valid CSV');
    const f = rec.fields;
    if (f.length !== this.width) {
      return this.skip(rec, 'wrong-column-count', `expected ${this.width} fields, got ${f.length}`);
    }
    const s = this.schema;
    // Label first: cheapest check and needed for the binary consistency check.
    const rawLabel = f[this.labelIdx]!.trim();
    const fine = s.canonicalLabel ? s.canonicalLabel(rawLabel) : rawLabel;
    const cls = fine === undefined ? undefined : this.classIndex.get(fine);
    if (cls === undefined) return this.skip(rec, 'unknown-label', `label "${rawLabel.slice(0, 40)}"`);
    if (this.binaryIdx >= 0) {
      const b = f[this.binaryIdx]!.trim();
      const expected = fine === s.benign ? '0' : '1';
      const v = parseNumber(b);
      if (b !== expected && v !== Number(expected)) {
        return this.skip(rec, 'label-mismatch', `${s.binaryLabel}=${b.slice(0, 20)} but class is ${fine}`);
      }
    }
    const key: string[] = [];
    for (let j = 0; j < this.numIdx.length; j++) {
      const raw = f[this.numIdx[j]!]!;
      if (this.missing.has(raw.trim())) {
        this.rowNum[j] = Number.NaN;
        key.push('\u0000');
        continue;
      }
      const v = parseNumber(raw);
      if (typeof v !== 'number') {
        return this.skip(rec, v === 'bad' ? 'bad-number' : v, `${s.numeric[j]}="${raw.slice(0, 40)}"`);
      }
      this.rowNum[j] = v;
      key.push(String(v));
    }
    for (let j = 0; j < this.qoeIdx.length; j++) {
      const raw = f[this.qoeIdx[j]!]!;
      const name = s.qoe[j]!;
      if (this.missing.has(raw.trim())) {
        this.qoeValues[name] = 0; // no evidence of impairment
        continue;
      }
      const v = parseNumber(raw);
      if (typeof v !== 'number')
        return this.skip(rec, v === 'bad' ? 'bad-number' : v, `${name}="${raw.slice(0, 40)}"`);
      this.qoeValues[name] = v;
    }
    for (let j = 0; j < this.catIdx.length; j++) {
      const raw = f[this.catIdx[j]!]!.trim();
      key.push(raw);
      this.rowCat[j] = this.code(j, raw);
    }
    this.kept++;
    this.classCounts[cls]!++;
    const inputs = key.join('\u001f');
    const group = hash53(inputs);
    const dedupKey = hash53(`${inputs}\u001e${cls}`, 1);
    if (this.seen.has(dedupKey)) {
      this.duplicates++;
      return;
    }
    this.seen.add(dedupKey);
    for (const v of this.rowNum) this.numeric.push(v);
    for (const v of this.rowCat) this.categorical.push(v);
    this.label.push(cls);
    this.mos.push(mosProxy(s.impairments(this.qoeValues)));
    this.groupKey.push(group);
  }

  private code(column: number, value: string): number {
    const index = this.dictIndex[column]!;
    let c = index.get(value);
    if (c === undefined) {
      const dict = this.dictionaries[column]!;
      if (dict.length >= LIMITS.maxDictionary) {
        // Beyond the cap every new value shares one slot: a high-cardinality column is an identifier anyway.
        c = index.get(RARE) ?? dict.push(RARE) - 1;
        index.set(RARE, c);
        return c;
      }
      c = dict.push(value) - 1;
      index.set(value, c);
    }
    return c;
  }

  finish(rowsRead: number, synthetic: boolean): { table: FlowTable; report: ImportReport } {
    const s = this.schema;
    const label = this.label.done();
    const table: FlowTable = {
      schema: s,
      n: label.length,
      numericNames: s.numeric,
      categoricalNames: s.categorical,
      numeric: this.numeric.done(),
      categorical: this.categorical.done(),
      dictionaries: this.dictionaries,
      label,
      mos: this.mos.done(),
      groupKey: this.groupKey.done(),
      synthetic,
    };
    const rowsSkipped = Object.values(this.skipped).reduce((a, b) => a + b, 0);
    const classes: Record<string, number> = {};
    const unique = new Array<number>(s.classes.length).fill(0);
    for (const y of label) unique[y]!++;
    const classesUnique: Record<string, number> = {};
    s.classes.forEach((c, i) => {
      if (this.classCounts[i]! > 0) classes[c] = this.classCounts[i]!;
      if (unique[i]! > 0) classesUnique[c] = unique[i]!;
    });
    const report: ImportReport = {
      dataset: s.dataset,
      release: s.release,
      rowsRead,
      rowsKept: this.kept,
      rowsSkipped,
      skipped: this.skipped,
      duplicatesDropped: this.duplicates,
      rowsUnique: table.n,
      features: [...s.numeric, ...s.categorical],
      qoeColumns: [...s.qoe],
      droppedColumns: [...s.drop],
      classes,
      classesUnique,
      examples: this.examples,
      synthetic,
    };
    return { table, report };
  }
}

/** Shared slot for categorical values beyond the dictionary cap. */
export const RARE = '\u0000rare';

export { SchemaError };
