/** Argument helpers for the `pqfed` command: every bad value is a UsageError (exit 2) naming the flag. */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Flags = Record<string, string | boolean | undefined>;

export function parse(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  positionals = 0,
): { values: Flags; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: positionals > 0, strict: true });
    if (r.positionals.length > positionals) {
      throw new UsageError(`unexpected argument "${r.positionals[positionals]}"`);
    }
    return { values: r.values as Flags, positionals: r.positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

export function intFlag(
  v: unknown,
  flag: string,
  def: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

export function numFlag(v: unknown, flag: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a number from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

export function stringFlag(v: unknown, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} needs a value`);
  return v;
}

export function choiceFlag<T extends string>(v: unknown, flag: string, choices: readonly T[], def?: T): T {
  if (v === undefined) {
    if (def === undefined) throw new UsageError(`--${flag} is required (one of ${choices.join(', ')})`);
    return def;
  }
  if (!choices.includes(v as T))
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got "${v}"`);
  return v as T;
}
