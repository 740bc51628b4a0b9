/**
 * Dataset schemas: what each column of each dataset release is, and header detection.
 *
 * Every column of a release has exactly one role:
 * - `drop`: identifiers, payloads, timestamps and screened shortcut columns; removed before anything else;
 * - `numeric` / `categorical`: model inputs;
 * - `qoe`: inputs of the MOS proxy (see qoe.ts); never model inputs, so the QoE head cannot relearn them;
 * - `label` (fine class) and `binaryLabel`: targets.
 * Exact headers are those of ../shared/data/SCHEMAS.md.
 */
import type { ImpairmentProxy } from './qoe.ts';

export type DatasetId = 'toniot' | 'ciciot2023' | 'edgeiiot';
export const DATASET_IDS: readonly DatasetId[] = ['toniot', 'ciciot2023', 'edgeiiot'];

export type LabelLevel = 'fine' | 'category' | 'binary';

export interface DatasetSchema {
  dataset: DatasetId;
  /** Release name, e.g. `train_test_network` or `merged`. */
  release: string;
  title: string;
  /** The exact header of the release, in order. */
  columns: readonly string[];
  /** Identifier, payload and shortcut columns; dropped first. */
  drop: readonly string[];
  numeric: readonly string[];
  categorical: readonly string[];
  /** Columns that feed the MOS proxy; not model inputs. */
  qoe: readonly string[];
  /** Column with the fine attack class. */
  label: string;
  /** Column with the 0/1 attack label, checked against the fine class when present. */
  binaryLabel?: string;
  /** Fine class names in canonical spelling. */
  classes: readonly string[];
  /** Maps a raw label value to its canonical fine class (e.g. upper-case MERGED_CSV labels); default identity. */
  canonicalLabel?: (raw: string) => string | undefined;
  /** Fine class → category (CICIoT2023's 8, Edge-IIoTset's 6). */
  categories?: Readonly<Record<string, string>>;
  /** The benign class (for binary labels). */
  benign: string;
  /** Values that mean "missing" in numeric columns of this release (TON_IoT writes "-"). */
  missing: readonly string[];
  /** Maps the QoE columns of one row to network impairments for the E-model. */
  impairments: ImpairmentProxy;
  citation: string;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

/** Checks a schema's own consistency: every column has exactly one role. Thrown at module load in tests. */
export function assertSchemaConsistent(s: DatasetSchema): void {
  const roles = new Map<string, string>();
  const assign = (cols: readonly string[], role: string) => {
    for (const c of cols) {
      const prev = roles.get(c);
      if (prev) throw new SchemaError(`${s.dataset}/${s.release}: column "${c}" is both ${prev} and ${role}`);
      roles.set(c, role);
    }
  };
  assign(s.drop, 'drop');
  assign(s.numeric, 'numeric');
  assign(s.categorical, 'categorical');
  assign(s.qoe, 'qoe');
  assign([s.label], 'label');
  if (s.binaryLabel) assign([s.binaryLabel], 'binaryLabel');
  const header = new Set(s.columns);
  if (header.size !== s.columns.length)
    throw new SchemaError(`${s.dataset}/${s.release}: duplicate header names`);
  for (const c of roles.keys()) {
    if (!header.has(c)) throw new SchemaError(`${s.dataset}/${s.release}: role for unknown column "${c}"`);
  }
  for (const c of s.columns) {
    if (!roles.has(c)) throw new SchemaError(`${s.dataset}/${s.release}: column "${c}" has no role`);
  }
}

/** The class name of a fine label at the requested level. */
export function labelAt(schema: DatasetSchema, fine: string, level: LabelLevel): string {
  if (level === 'fine') return fine;
  if (level === 'binary') return fine === schema.benign ? 'benign' : 'attack';
  const cat = schema.categories?.[fine];
  if (!cat) throw new SchemaError(`${schema.dataset}: no category for class "${fine}"`);
  return cat;
}

/** The class list at a level, in a fixed order. */
export function classesAt(schema: DatasetSchema, level: LabelLevel): string[] {
  if (level === 'fine') return [...schema.classes];
  if (level === 'binary') return ['benign', 'attack'];
  if (!schema.categories)
    throw new SchemaError(`${schema.dataset} has no category labels; use fine or binary`);
  return [...new Set(schema.classes.map((c) => schema.categories![c]!))];
}

export interface DetectedHeader {
  schema: DatasetSchema;
  /** Index of each schema column in the file's header. */
  index: Readonly<Record<string, number>>;
  /** Header columns the schema does not know (kept out of everything). */
  extra: string[];
}

/**
 * Picks the release of `dataset` whose columns all appear in `header`. Columns are matched by name, so
 * order does not matter. Fails naming the missing columns of the closest release.
 */
export function detectSchema(
  header: readonly string[],
  releases: readonly DatasetSchema[],
  dataset: DatasetId,
): DetectedHeader {
  const names = header.map((h, i) => (i === 0 ? h.replace(/^\ufeff/, '') : h).trim());
  const position = new Map<string, number>();
  names.forEach((n, i) => {
    if (!position.has(n)) position.set(n, i);
  });
  const candidates = releases.filter((r) => r.dataset === dataset);
  if (candidates.length === 0) throw new SchemaError(`unknown dataset "${dataset}"`);
  let best: { schema: DatasetSchema; missing: string[] } | undefined;
  let match: DatasetSchema | undefined;
  for (const schema of candidates) {
    const missing = schema.columns.filter((c) => !position.has(c));
    // Of the releases fully present, the widest wins: TON_IoT's 46-column header contains the 44 columns.
    if (missing.length === 0 && (!match || schema.columns.length > match.columns.length)) match = schema;
    if (!best || missing.length < best.missing.length) best = { schema, missing };
  }
  if (match) {
    const index: Record<string, number> = {};
    for (const c of match.columns) index[c] = position.get(c)!;
    const known = new Set(match.columns);
    return { schema: match, index, extra: names.filter((n) => !known.has(n)) };
  }
  const b = best!;
  const shown =
    b.missing.slice(0, 8).join(', ') + (b.missing.length > 8 ? `, … (${b.missing.length} in all)` : '');
  throw new SchemaError(
    `the header does not match any ${dataset} release; closest is ${b.schema.release} ` +
      `(${b.schema.columns.length} columns), which needs: ${shown}`,
  );
}
