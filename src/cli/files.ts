/** File access for the CLI: a CSV as a Web stream (so the isomorphic importer reads it) and atomic writes. */
import {
  closeSync,
  constants,
  createReadStream,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { UsageError } from './errors.ts';

export function openCsv(path: string): { stream: ReadableStream<Uint8Array>; size: number } {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UsageError(`${path} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return { stream: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, size };
}

/** Writes `chunks` to `path` through a temporary file, fsync and rename: readers never see half a file. */
export async function writeAtomic(path: string, chunks: Iterable<string>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY, 0o644);
  try {
    for (const c of chunks) writeSync(fd, c);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    await rm(tmp, { force: true });
    throw err;
  }
}
