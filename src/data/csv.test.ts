import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, type CsvRecord, formatCsvRecord, readCsv } from './csv.ts';

function parse(chunks: readonly string[], maxRecordChars?: number): CsvRecord[] {
  const out: CsvRecord[] = [];
  const parser = new CsvParser((r) => out.push(r), maxRecordChars);
  for (const c of chunks) parser.push(c);
  parser.end();
  return out;
}

const fields = (chunks: readonly string[]) => parse(chunks).map((r) => r.fields);

/** Splits `text` at the given cut points (any integers; taken modulo the length). */
function split(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => (text.length === 0 ? 0 : c % (text.length + 1))))].sort(
    (a, b) => a - b,
  );
  const out: string[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  out.push(text.slice(prev));
  return out;
}

describe('CsvParser', () => {
  it('parses simple records with LF and CRLF line ends', () => {
    expect(fields(['a,b,c\n1,2,3\n'])).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(fields(['a,b\r\n1,2\r\n'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields(['a,b\r', '\n1,2'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('strips a UTF-8 BOM at the start only', () => {
    expect(fields(['\ufeffa,b\n\ufeffc,d'])).toEqual([
      ['a', 'b'],
      ['\ufeffc', 'd'],
    ]);
  });

  it('handles quoted commas, doubled quotes and line breaks in quotes', () => {
    const recs = parse(['x,"a,b","say ""hi""","line1\nline2\r\nline3"\nnext,1\n']);
    expect(recs.map((r) => r.fields)).toEqual([
      ['x', 'a,b', 'say "hi"', 'line1\nline2\r\nline3'],
      ['next', '1'],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 4]);
    expect(recs.every((r) => r.malformed === undefined)).toBe(true);
  });

  it('handles a quote split across chunks (escaped or closing)', () => {
    expect(fields(['"a"', '"b",c\n'])).toEqual([['a"b', 'c']]);
    expect(fields(['"a"', ',c\n'])).toEqual([['a', 'c']]);
  });

  it('keeps empty fields and skips blank lines', () => {
    expect(fields(['a,,\n\n\r\n,b\n\n'])).toEqual([
      ['a', '', ''],
      ['', 'b'],
    ]);
    expect(parse(['\n\n'])).toEqual([]);
  });

  it('counts lines for each record, blank lines included', () => {
    expect(parse(['a\n\nb\r\nc']).map((r) => r.line)).toEqual([1, 3, 4]);
  });

  it('reports an unterminated quote at EOF as malformed', () => {
    const recs = parse(['a,b\nc,"open field\nmore']);
    expect(recs).toHaveLength(2);
    expect(recs[1]).toEqual({ fields: ['c', 'open field\nmore'], line: 2, malformed: 'unterminated-quote' });
  });

  it('reports a record longer than maxRecordChars once, then resumes', () => {
    const recs = parse(['a,b\n', 'x'.repeat(30), 'y'.repeat(30), ',z\nc,d\n'], 16);
    expect(recs.map((r) => [r.fields, r.malformed])).toEqual([
      [['a', 'b'], undefined],
      [[], 'record-too-long'],
      [['c', 'd'], undefined],
    ]);
  });

  // Regression: the length check once ran only at the end of each push(), on the record still open, so a
  // record that starts and ends inside one chunk is never checked. Minimal input: maxRecordChars = 4,
  // push('aaaaaaaa\nb\n') → ['aaaaaaaa'] is emitted as valid.
  it('reports an oversize record that lies inside one chunk', () => {
    expect(parse(['aaaaaaaa\nb\n'], 4).map((r) => r.malformed)).toEqual(['record-too-long', undefined]);
  });

  // Regression: an oversize last record with no final line break was once lost: push() cleared its
  // fields, and end() only emits when a field or fields remain. Minimal input: maxRecordChars = 4,
  // push('a\n'), push('bbbbbbbb'), end() → only ['a'], no 'record-too-long' report.
  it('reports an oversize last record without a final line break', () => {
    expect(parse(['a\n', 'bbbbbbbb'], 4).map((r) => r.malformed)).toEqual([undefined, 'record-too-long']);
  });

  // Regression: the BOM check once ran on the first push() only, so an empty first chunk let the BOM
  // through into the first header name. Minimal input: push(''), push('\ufeffa,b\n') → ['\ufeffa', 'b'].
  it('strips the BOM after an empty first chunk', () => {
    expect(fields(['', '\ufeffa,b\n'])).toEqual([['a', 'b']]);
  });
});

describe('formatCsvRecord', () => {
  it('quotes only the fields that need it', () => {
    expect(formatCsvRecord(['a', 'b c', 'd,e', 'f"g', 'h\ni', '\ufeffj', ''])).toBe(
      'a,b c,"d,e","f""g","h\ni","\ufeffj",',
    );
  });
});

/** Fields rich in the characters CSV cares about. */
const field = fc.oneof(
  fc.string({ unit: fc.constantFrom(',', '"', '\n', '\r', 'a', ' ', '\ufeff'), maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const record = fc
  .array(field, { minLength: 1, maxLength: 6 })
  .filter((r) => !(r.length === 1 && r[0] === ''));

describe('CsvParser round trip (property)', () => {
  it('parses formatCsvRecord output back, whatever the line ends and chunk splits', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (records, eol, trailing, cuts) => {
          const text = records.map(formatCsvRecord).join(eol) + (trailing && records.length > 0 ? eol : '');
          const parsed = parse(split(text, cuts));
          expect(parsed.map((r) => r.fields)).toEqual(records);
          expect(parsed.every((r) => r.malformed === undefined)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('ignores a leading BOM when the first chunk is not empty', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (records, cuts) => {
          const text = `\ufeff${records.map(formatCsvRecord).join('\n')}`;
          const chunks = split(text, cuts).filter((c) => c.length > 0);
          expect(parse(chunks).map((r) => r.fields)).toEqual(records);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('readCsv', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const streamOf = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
  async function all(source: ReadableStream<Uint8Array>): Promise<string[][]> {
    const out: string[][] = [];
    for await (const batch of readCsv(source)) for (const r of batch) out.push(r.fields);
    return out;
  }

  it('decodes UTF-8 split across chunks', async () => {
    const b = bytes('é,"€\n😀"\n');
    expect(await all(streamOf([b.slice(0, 1), b.slice(1, 5), b.slice(5)]))).toEqual([['é', '€\n😀']]);
  });

  it('gunzips a gzip stream and reports progress', async () => {
    const text = 'a,b\n1,2\n';
    const gz = new Uint8Array(
      await new Response(
        new Response(text).body!.pipeThrough(new CompressionStream('gzip') as unknown as TransformStream),
      ).arrayBuffer(),
    );
    expect(gz[0]).toBe(0x1f);
    let last = 0;
    const out: string[][] = [];
    for await (const batch of readCsv(streamOf([gz]), (p) => {
      last = p.bytesRead;
    })) {
      for (const r of batch) out.push(r.fields);
    }
    expect(out).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(last).toBe(gz.byteLength);
  });
});
