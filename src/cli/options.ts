/**
 * Option-argument parsers for the `pqfed` command (commander 14). Every bad value is a UsageError (exit 2)
 * naming the flag, what it must be and what came. Numbers that are experiment keys are checked by the
 * experiment schema's own field (src/aggregator/config.ts), so a flag and a file accept the same values.
 */
import type { z } from 'zod';
import { UsageError } from './errors.ts';

const got = (v: string) => `got ${JSON.stringify(v)}`;

/** A number flag checked by a field of the experiment schema: `--rounds must be an integer from 1 to …`. */
export function schemaNumber(flag: string, field: z.ZodType<number | undefined>): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    const r = field.safeParse(n);
    if (!r.success || r.data === undefined) {
      const message = r.success ? 'must be a number' : (r.error.issues[0]?.message ?? 'is out of range');
      throw new UsageError(`--${flag} ${message}, ${got(v)}`);
    }
    return r.data;
  };
}

export function intArg(flag: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, ${got(v)}`);
    }
    return n;
  };
}

export function numArg(flag: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`--${flag} must be a number from ${min} to ${max}, ${got(v)}`);
    }
    return n;
  };
}

export function choiceArg<const T extends string>(flag: string, choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v)) {
      throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, ${got(v)}`);
    }
    return v as T;
  };
}

export function textArg(flag: string): (v: string) => string {
  return (v) => {
    if (v === '') throw new UsageError(`--${flag} needs a value`);
    return v;
  };
}

/** A text flag checked by a field of the experiment schema. */
export function schemaText(flag: string, field: z.ZodType<string | null | undefined>): (v: string) => string {
  return (v) => {
    const r = field.safeParse(v);
    if (!r.success) throw new UsageError(`--${flag} ${r.error.issues[0]?.message ?? 'is not valid'}`);
    return v;
  };
}
