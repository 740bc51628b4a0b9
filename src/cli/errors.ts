/**
 * What the `pqfed` command treats as bad input (exit 2, the message as it is) rather than a bug (exit 1):
 * the named error classes of the modules that read the user's arguments and files. A plain `RangeError` or
 * `TypeError` is a bug and stays exit 1, with its stack under PQFED_DEBUG.
 */
import { AdminTokenError } from '../aggregator/admin-token.ts';
import { CheckpointError } from '../aggregator/checkpoint.ts';
import { ConfigError } from '../aggregator/config.ts';
import { IdentityFileError } from '../aggregator/identity-store.ts';
import { PublicUrlError } from '../aggregator/network.ts';
import { TlsError } from '../aggregator/tls.ts';
import { CsvFormatError } from '../data/csv.ts';
import { ImportError } from '../data/import.ts';
import { PartitionError } from '../data/partition.ts';
import { SchemaError } from '../data/schema.ts';

/** A bad command line: an unknown flag or command, a bad or missing value. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Classes whose errors mean "the input is wrong": the user can fix them, the program is fine. */
const INPUT_ERRORS = [
  UsageError,
  ConfigError,
  AdminTokenError,
  PublicUrlError,
  TlsError,
  CheckpointError,
  IdentityFileError,
  SchemaError,
  ImportError,
  CsvFormatError,
  PartitionError,
] as const;

export function isInputError(err: unknown): boolean {
  return INPUT_ERRORS.some((c) => err instanceof c);
}
