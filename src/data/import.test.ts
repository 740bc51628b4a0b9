import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type FlowTable,
  hash53,
  ImportError,
  type ImportReport,
  importCsv,
  parseNumber,
  SchemaError,
} from './import.ts';
import type { DatasetId } from './schema.ts';
import { RELEASES } from './schemas/index.ts';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures');

function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
}

function textStream(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

function importFixture(name: string, dataset: DatasetId) {
  return importCsv(fileStream(join(FIXTURES, name)), { dataset });
}

function column(table: FlowTable, name: string): number[] {
  const j = table.numericNames.indexOf(name);
  expect(j).toBeGreaterThanOrEqual(0);
  const d = table.numericNames.length;
  return Array.from({ length: table.n }, (_, i) => table.numeric[i * d + j]!);
}

function dictionary(table: FlowTable, name: string): string[] {
  const j = table.categoricalNames.indexOf(name);
  expect(j).toBeGreaterThanOrEqual(0);
  return table.dictionaries[j]!;
}

function expectNoIdentifiers(report: ImportReport): void {
  const schema = RELEASES.find((s) => s.dataset === report.dataset && s.release === report.release)!;
  expect(schema.drop.length).toBeGreaterThan(0);
  expect(report.droppedColumns).toEqual([...schema.drop]);
  for (const c of schema.drop) expect(report.features).not.toContain(c);
  for (const c of schema.qoe) expect(report.features).not.toContain(c);
  expect(report.features).not.toContain(schema.label);
  if (schema.binaryLabel) expect(report.features).not.toContain(schema.binaryLabel);
}

describe('importCsv on the CICIoT2023 original fixture', () => {
  it('counts rows, skips by reason and drops duplicates', async () => {
    const { table, report } = await importFixture('ciciot2023_original.csv', 'ciciot2023');
    expect(report.dataset).toBe('ciciot2023');
    expect(report.release).toBe('original');
    expect(report.rowsRead).toBe(15);
    expect(report.rowsKept).toBe(6);
    expect(report.rowsSkipped).toBe(9);
    expect(report.skipped).toEqual({
      'wrong-column-count': 2,
      'bad-number': 2,
      'non-finite': 3,
      'unknown-label': 2,
    });
    // The Mirai row repeated with other Number / Weight (dropped) and IAT (QoE only) is a duplicate.
    expect(report.duplicatesDropped).toBe(1);
    expect(report.rowsUnique).toBe(5);
    expect(table.n).toBe(5);
    expect(report.classes).toEqual({
      BenignTraffic: 2,
      'DDoS-SYN_Flood': 1,
      'Mirai-udpplain': 2,
      'Recon-PortScan': 1,
    });
    // after deduplication: one Mirai row fewer, and the unique counts add up to rowsUnique
    expect(report.classesUnique).toEqual({
      BenignTraffic: 2,
      'DDoS-SYN_Flood': 1,
      'Mirai-udpplain': 1,
      'Recon-PortScan': 1,
    });
    expect(Object.values(report.classesUnique).reduce((a, b) => a + b, 0)).toBe(report.rowsUnique);
    expect(report.features).toHaveLength(46 - 2 - 2); // 46 features, less Number, Weight and the 2 QoE columns
    expectNoIdentifiers(report);
    // A quoted number ("64.0") is a number.
    expect(column(table, 'Duration')).toContain(64);
  });

  it('keeps line numbers right across blank lines and a multi-line record', async () => {
    const { report } = await importFixture('ciciot2023_original.csv', 'ciciot2023');
    expect(report.examples.map((e) => [e.line, e.reason])).toEqual([
      [8, 'wrong-column-count'],
      [9, 'bad-number'],
      [10, 'non-finite'],
      [11, 'non-finite'],
      [12, 'non-finite'],
      [13, 'unknown-label'],
      [14, 'bad-number'],
      [15, 'unknown-label'],
      [18, 'wrong-column-count'],
    ]);
  });
});

describe('importCsv on the CICIoT2023 MERGED_CSV fixture (CRLF, upper-case labels)', () => {
  it('counts rows, maps upper-case labels to the canonical classes', async () => {
    const { table, report } = await importFixture('ciciot2023_merged.csv', 'ciciot2023');
    expect(report.release).toBe('merged');
    expect(report.rowsRead).toBe(14);
    expect(report.rowsKept).toBe(7);
    expect(report.rowsSkipped).toBe(7);
    expect(report.skipped).toEqual({
      'wrong-column-count': 1,
      'bad-number': 2,
      'non-finite': 2,
      'unknown-label': 2,
    });
    expect(report.duplicatesDropped).toBe(1);
    expect(table.n).toBe(6);
    expect(report.classes).toEqual({
      BenignTraffic: 1,
      'DDoS-PSHACK_Flood': 2,
      'DDoS-UDP_Flood': 1,
      'Mirai-greip_flood': 1,
      DNS_Spoofing: 1,
      XSS: 1,
    });
    expect(report.features).toHaveLength(39 - 1 - 2);
    expectNoIdentifiers(report);
    // CRLF inside the quoted label is part of the field; the record after it starts on the right line.
    expect(report.examples.at(-1)).toMatchObject({ line: 13, reason: 'unknown-label' });
    expect(report.examples.at(-1)!.detail).toContain('\r\n');
  });
});

describe('importCsv on the Edge-IIoTset fixture', () => {
  it('counts rows, label mismatches and duplicates', async () => {
    const { table, report } = await importFixture('edgeiiot.csv', 'edgeiiot');
    expect(report.release).toBe('ml-dnn');
    expect(report.rowsRead).toBe(14);
    expect(report.rowsKept).toBe(7);
    expect(report.rowsSkipped).toBe(7);
    expect(report.skipped).toEqual({
      'wrong-column-count': 1,
      'bad-number': 1,
      'non-finite': 2,
      'unknown-label': 1,
      'label-mismatch': 2,
    });
    expect(report.duplicatesDropped).toBe(1);
    expect(table.n).toBe(6);
    expect(report.classes).toEqual({ Normal: 2, DDoS_UDP: 2, XSS: 1, SQL_injection: 1, Backdoor: 1 });
    expectNoIdentifiers(report);
    expect(report.examples.filter((e) => e.reason === 'label-mismatch').map((e) => e.line)).toEqual([14, 15]);
  });

  it('keeps the record whose quoted http.file_data spans three lines', async () => {
    const { table, report } = await importFixture('edgeiiot.csv', 'edgeiiot');
    expect(report.classes.SQL_injection).toBe(1);
    const sqli = table.schema.classes.indexOf('SQL_injection');
    expect(Array.from(table.label)).toContain(sqli);
    expect(dictionary(table, 'http.request.method')).toEqual(['0', 'GET', 'POST']);
    // The short row after the multi-line record is reported on its own line.
    expect(report.examples[0]).toMatchObject({ line: 9, reason: 'wrong-column-count' });
  });

  it('reads an empty numeric field as missing (NaN)', async () => {
    const { table } = await importFixture('edgeiiot.csv', 'edgeiiot');
    expect(column(table, 'mbtcp.len').filter(Number.isNaN)).toHaveLength(1);
  });
});

describe('importCsv on the TON_IoT train_test fixture (UTF-8 BOM)', () => {
  it('strips the BOM, counts rows and drops duplicates', async () => {
    const { table, report } = await importFixture('toniot.csv', 'toniot');
    expect(report.release).toBe('train_test_network');
    expect(report.rowsRead).toBe(13);
    expect(report.rowsKept).toBe(7);
    expect(report.rowsSkipped).toBe(6);
    expect(report.skipped).toEqual({
      'wrong-column-count': 1,
      'bad-number': 1,
      'non-finite': 2,
      'unknown-label': 1,
      'label-mismatch': 1,
    });
    // An exact repeat, and a repeat that differs only in IPs, ports (dropped) and src_pkts (QoE).
    expect(report.duplicatesDropped).toBe(2);
    expect(table.n).toBe(5);
    expect(report.classes).toEqual({ normal: 2, ddos: 1, ransomware: 1, scanning: 2, xss: 1 });
    expectNoIdentifiers(report);
    expect(report.features).not.toContain('src_ip');
    expect(report.features).not.toContain('http_uri');
  });

  it('keeps the xss record whose quoted http_uri has a comma, doubled quotes and a line break', async () => {
    const { table, report } = await importFixture('toniot.csv', 'toniot');
    expect(report.classes.xss).toBe(1);
    expect(Array.from(table.label)).toContain(table.schema.classes.indexOf('xss'));
    expect(dictionary(table, 'http_method')).toContain('GET');
    expect(report.examples[0]).toMatchObject({ line: 8, reason: 'wrong-column-count' });
  });

  it('reads "-" in a numeric column as missing (NaN)', async () => {
    const { table } = await importFixture('toniot.csv', 'toniot');
    expect(column(table, 'dst_bytes').filter(Number.isNaN)).toHaveLength(1);
    expect(column(table, 'http_trans_depth').filter((v) => v === 1)).toHaveLength(1);
  });
});

describe('importCsv on gzip input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqfed-import-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, dataset] of [
    ['toniot.csv', 'toniot'],
    ['edgeiiot.csv', 'edgeiiot'],
  ] as const) {
    it(`imports ${name}.gz identically to ${name}`, async () => {
      const gz = join(dir, `${name}.gz`);
      const plain = readFileSync(join(FIXTURES, name));
      writeFileSync(gz, gzipSync(plain));
      expect(readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const a = await importFixture(name, dataset);
      const b = await importCsv(fileStream(gz), { dataset });
      expect(b.report).toEqual(a.report);
      expect(b.table).toEqual(a.table);
      expect(b.report.rowsKept).toBeGreaterThan(0);
    });
  }
});

describe('importCsv failures and options', () => {
  it('fails with SchemaError naming the missing columns', async () => {
    const header = RELEASES[0]!.columns.filter((c) => c !== 'duration' && c !== 'conn_state').join(',');
    const run = () => importCsv(textStream(`${header}\n`), { dataset: 'toniot' });
    await expect(run()).rejects.toBeInstanceOf(SchemaError);
    await expect(run()).rejects.toThrow(/duration, conn_state/);
  });

  it('fails with SchemaError when the file is another dataset', async () => {
    await expect(importFixture('toniot.csv', 'edgeiiot')).rejects.toBeInstanceOf(SchemaError);
  });

  it('fails with ImportError on an empty file, or one with only blank lines', async () => {
    await expect(importCsv(textStream(''), { dataset: 'toniot' })).rejects.toBeInstanceOf(ImportError);
    await expect(importCsv(textStream('\n\r\n\n'), { dataset: 'toniot' })).rejects.toThrow(/empty/);
  });

  it('accepts a header-only file with zero rows', async () => {
    const { table, report } = await importCsv(textStream(`${RELEASES[0]!.columns.join(',')}\n`), {
      dataset: 'toniot',
    });
    expect(report.rowsRead).toBe(0);
    expect(report.rowsKept).toBe(0);
    expect(table.n).toBe(0);
  });

  it('stops after maxRows data rows and marks synthetic imports', async () => {
    const { report } = await importCsv(fileStream(join(FIXTURES, 'toniot.csv')), {
      dataset: 'toniot',
      maxRows: 3,
      synthetic: true,
    });
    expect(report.rowsRead).toBe(3);
    expect(report.rowsKept).toBe(3);
    expect(report.synthetic).toBe(true);
  });

  it('reports progress with the rows read', async () => {
    const seen: number[] = [];
    await importCsv(fileStream(join(FIXTURES, 'toniot.csv')), {
      dataset: 'toniot',
      onProgress: (p) => seen.push(p.rowsRead),
    });
    expect(seen.at(-1)).toBe(13);
  });
});

describe('parseNumber and hash53', () => {
  it('parses strictly and separates bad from non-finite values', () => {
    expect(parseNumber(' 1.5 ')).toBe(1.5);
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('')).toBe('bad');
    expect(parseNumber('abc')).toBe('bad');
    expect(parseNumber('1,5')).toBe('bad');
    for (const s of ['inf', '-inf', 'Infinity', '-Infinity', 'NaN', 'nan', '1e999']) {
      expect(parseNumber(s)).toBe('non-finite');
    }
  });

  it('hashes deterministically into 53 bits', () => {
    expect(hash53('abc')).toBe(hash53('abc'));
    expect(hash53('abc')).not.toBe(hash53('abd'));
    expect(hash53('abc', 1)).not.toBe(hash53('abc'));
    expect(Number.isSafeInteger(hash53('x'.repeat(100)))).toBe(true);
  });
});
