/**
 * Streaming CSV reader (RFC 4180) for `.csv` and `.csv.gz`, isomorphic: browser, worker and Node.
 *
 * - A push parser (`CsvParser`): feed it text chunks of any size, it emits one `string[]` per record. It
 *   handles a UTF-8 BOM, quoted fields with commas, doubled quotes and line breaks, and LF / CRLF endings.
 * - `readCsv(source)`: Web-Streams source (a `File`'s stream, a `fetch` body, Node's `Readable.toWeb`),
 *   gunzipped when it starts with the gzip magic bytes, decoded as UTF-8, parsed record by record. Memory is
 *   bounded by one chunk plus one record: a 1 GB file is never held whole.
 *
 * Why not a library: csv-parse works on Node's Buffer and streams (its browser build bundles a polyfill), and
 * PapaParse reads Files and Node streams but not a Web ReadableStream coming out of DecompressionStream.
 * This reader is ~150 lines, is property-tested against a serializer (csv.test.ts), and reports malformed
 * records (unterminated quotes, oversize records) as data instead of throwing mid-file.
 */
import { LIMITS } from '../core/limits.ts';

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

/** One parsed record with its 1-based starting line (for error messages). */
export interface CsvRecord {
  fields: string[];
  line: number;
  /** Set when the record is malformed as CSV (not merely wrong for a schema). */
  malformed?: 'unterminated-quote' | 'record-too-long';
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const LF = 10;
const CR = 13;

/** Push parser: `push(text)` any number of times, then `end()`. Records go to `onRecord`. */
export class CsvParser {
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  /** The previous char was a quote inside a quoted field: either an escaped quote or the closing one. */
  private quotePending = false;
  private started = false;
  private line = 1;
  private recordLine = 1;
  private recordLength = 0;
  private skippingOversize = false;
  private lastWasCR = false;

  constructor(
    private readonly onRecord: (record: CsvRecord) => void,
    private readonly maxRecordChars: number = LIMITS.csvMaxRecordChars,
  ) {}

  push(text: string): void {
    let i = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    let fieldStart = i;
    let recordStart = i;
    const n = text.length;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.lastWasCR) {
        this.lastWasCR = false;
        if (c === LF) {
          fieldStart = i + 1;
          continue;
        }
      }
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === QUOTE) {
            // doubled quote: an escaped quote character
            this.field += '"';
            fieldStart = i + 1;
            continue;
          }
          this.inQuotes = false; // that quote closed the field; fall through to handle c unquoted
        } else if (c === QUOTE) {
          this.field += text.slice(fieldStart, i);
          this.quotePending = true;
          fieldStart = i + 1;
          continue;
        } else {
          if (c === LF) this.line++;
          continue;
        }
      }
      if (c === COMMA) {
        this.endField(text.slice(fieldStart, i));
        fieldStart = i + 1;
      } else if (c === LF || c === CR) {
        if (this.recordLength + (i - recordStart) > this.maxRecordChars) this.skippingOversize = true;
        this.endField(text.slice(fieldStart, i));
        this.endRecord();
        this.line++;
        this.lastWasCR = c === CR;
        fieldStart = i + 1;
        recordStart = i + 1;
      } else if (c === QUOTE && this.field.length === 0 && i === fieldStart) {
        this.inQuotes = true;
        fieldStart = i + 1;
      }
    }
    if (fieldStart < n) this.field += text.slice(fieldStart, n);
    this.recordLength += n - recordStart;
    if (this.recordLength > this.maxRecordChars && !this.skippingOversize) this.skippingOversize = true;
    if (this.skippingOversize) {
      // Do not keep growing an unbounded record in memory: drop its text, report it once it ends.
      this.field = '';
      this.fields = [];
    }
  }

  end(): void {
    if (this.skippingOversize || this.recordLength + this.field.length > this.maxRecordChars) {
      this.onRecord({ fields: [], line: this.recordLine, malformed: 'record-too-long' });
      this.reset();
      return;
    }
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) {
      this.onRecord({
        fields: [...this.fields, this.field],
        line: this.recordLine,
        malformed: 'unterminated-quote',
      });
      this.reset();
      return;
    }
    if (this.field.length > 0 || this.fields.length > 0) {
      this.endField('');
      this.endRecord();
    }
  }

  private endField(tail: string): void {
    this.fields.push(this.field + tail);
    this.field = '';
  }

  private endRecord(): void {
    const fields = this.fields;
    const isBlank = fields.length === 1 && fields[0] === '';
    if (this.skippingOversize) {
      this.onRecord({ fields: [], line: this.recordLine, malformed: 'record-too-long' });
    } else if (!isBlank) {
      this.onRecord({ fields, line: this.recordLine });
    }
    this.reset();
  }

  private reset(): void {
    this.fields = [];
    this.field = '';
    this.inQuotes = false;
    this.quotePending = false;
    this.skippingOversize = false;
    this.recordLength = 0;
    this.recordLine = this.line + 1;
  }
}

export interface ReadProgress {
  /** Bytes of the source consumed so far (compressed bytes for a .gz source). */
  bytesRead: number;
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Counts bytes as they pass, for progress reports. */
function countingStream(onBytes: (n: number) => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      onBytes(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

/** Gunzips when the stream starts with the gzip magic bytes, else passes through. */
async function maybeGunzip(source: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = source.getReader();
  const first = await reader.read();
  const head = first.value ?? new Uint8Array(0);
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.byteLength > 0) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gz = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  return gz
    ? rest.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>)
    : rest;
}

/**
 * Reads CSV records from a byte stream (plain or gzip). Yields batches of records so the consumer's loop
 * costs one await per chunk, not per row.
 */
export async function* readCsv(
  source: ReadableStream<Uint8Array>,
  onProgress?: (p: ReadProgress) => void,
): AsyncGenerator<CsvRecord[]> {
  let bytesRead = 0;
  const counted = source.pipeThrough(
    countingStream((n) => {
      bytesRead += n;
    }),
  );
  let text: ReadableStream<string>;
  try {
    text = (await maybeGunzip(counted)).pipeThrough(
      new TextDecoderStream('utf-8') as unknown as TransformStream<Uint8Array, string>,
    );
  } catch (err) {
    throw new CsvFormatError(`could not open the CSV stream: ${(err as Error).message}`);
  }
  let batch: CsvRecord[] = [];
  const parser = new CsvParser((r) => batch.push(r));
  const reader = text.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new CsvFormatError(
          `the file could not be decoded after ${bytesRead} bytes (corrupt gzip?): ${(err as Error).message}`,
        );
      }
      if (chunk.done) break;
      parser.push(chunk.value);
      onProgress?.({ bytesRead });
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    parser.end();
    if (batch.length > 0) yield batch;
  } finally {
    reader.releaseLock();
  }
}

/** Serializes one record (quotes a field only when it needs it). Used by exports and by tests. */
export function formatCsvRecord(fields: readonly string[]): string {
  return fields
    .map((f) => (/[",\r\n]/.test(f) || f.startsWith('\ufeff') ? `"${f.replaceAll('"', '""')}"` : f))
    .join(',');
}
