import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TONIOT_TRAIN_TEST } from '../data/schemas/toniot.ts';
import { syntheticCsv } from '../data/synthetic.ts';

const BIN = new URL('../../bin/pqfed.js', import.meta.url).pathname;
const REAL = new URL('../../../shared/data/ton_iot/ton_iot_network.dev.csv.gz', import.meta.url).pathname;
const FIXTURE = new URL('../../test/fixtures/toniot.csv', import.meta.url).pathname;

function pqfed(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pqfed CLI', () => {
  it('rejects bad arguments with one line on stderr and exit code 2', () => {
    for (const args of [
      ['import', FIXTURE, '--dataset', 'nope', '--json'],
      ['import', '/no/such/file.csv', '--dataset', 'toniot', '--json'],
      ['import', '--dataset', 'toniot'],
      ['train', '--dataset', 'toniot', '--json'],
      ['train', '--dataset', 'toniot', '--data', FIXTURE, '--epochs', 'x'],
      ['frobnicate'],
      ['serve', '--open-threads', '-1'],
      ['serve', '--open-threads', '65', '--port', '0'],
      ['import', FIXTURE, '--dataset', 'edgeiiot', '--json'],
      ['import', FIXTURE, 'extra.csv', '--dataset', 'toniot'],
      ['simulate', '--alpha', '-1'],
      ['simulate', '--iid', '--alpha', '1'],
      ['simulate', '--bogus'],
      ['simulate', '--config', '/no/such/experiment.json'],
      ['serve', '--port', 'x'],
      ['bench', '--clients', '-3'],
    ]) {
      const r = pqfed(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('pqfed:')),
      ).toHaveLength(1);
    }
    expect(pqfed('import', FIXTURE, '--dataset', 'edgeiiot').stderr).toMatch(/needs: .*frame\.time/);
  }, 180_000);

  it('parses negative numbers and says which range a flag has', () => {
    expect(pqfed('simulate', '--alpha', '-1').stderr).toBe('pqfed: --alpha must be a number > 0, got "-1"\n');
    expect(pqfed('simulate', '--rounds', '-2').stderr).toBe(
      'pqfed: --rounds must be an integer from 1 to 1e6, got "-2"\n',
    );
    expect(pqfed('simulate', '--nope', '1').stderr).toBe("pqfed: unknown option '--nope'\n");
    expect(pqfed('serve', '--dp-noise', '-1').stderr).toBe(
      'pqfed: --dp-noise must be a number from 0 to 10000, got "-1"\n',
    );
    expect(pqfed('simulate', '--delta', '0.5').stderr).toBe(
      'pqfed: --delta must be a number from 1e-12 to 0.1, got "0.5"\n',
    );
  }, 60_000);

  it('imports a fixture and prints exactly one JSON object', { timeout: 60_000 }, () => {
    const r = pqfed('import', FIXTURE, '--dataset', 'toniot', '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining([
        'dataset',
        'rowsRead',
        'rowsKept',
        'rowsSkipped',
        'skipped',
        'duplicatesDropped',
        'features',
        'classes',
      ]),
    );
    expect(report.rowsRead).toBe(report.rowsKept + report.rowsSkipped);
  });

  it(
    'writes the cleaned table atomically with --out, without identifier columns',
    {
      timeout: 60_000,
    },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'pqfed-cli-'));
      const out = join(dir, 'clean.csv');
      const r = pqfed('import', FIXTURE, '--dataset', 'toniot', '--out', out, '--json');
      expect(r.code).toBe(0);
      const header = readFileSync(out, 'utf8').split('\n')[0]!.split(',');
      expect(header).toContain('duration');
      expect(header).toContain('mos_proxy');
      for (const id of ['src_ip', 'dst_ip', 'src_port', 'dst_port', 'dns_query', 'http_uri'])
        expect(header).not.toContain(id);
      // float32 values as the shortest text that reads back as the same float32 (0.001, not
      // 0.0010000000474974513): never more digits than a float32 holds
      const text = readFileSync(out, 'utf8');
      expect(text).toMatch(/(^|,)0\.001(,|$)/m);
      expect(text).not.toMatch(/\d{10,}/);
    },
  );

  it('shows the class counts before and after deduplication', { timeout: 60_000 }, () => {
    const r = pqfed('import', FIXTURE, '--dataset', 'toniot');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/class +valid rows +unique\n {2}normal +2 +1\n/);
    const json = JSON.parse(pqfed('import', FIXTURE, '--dataset', 'toniot', '--json').stdout);
    expect(json.classes).toEqual({ normal: 2, ddos: 1, ransomware: 1, scanning: 2, xss: 1 });
    expect(json.classesUnique).toEqual({ normal: 1, ddos: 1, ransomware: 1, scanning: 1, xss: 1 });
  });

  it('trains on a small synthetic file and reports the DESIGN.md fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-cli-'));
    const file = join(dir, 'synthetic_toniot.csv');
    writeFileSync(file, syntheticCsv(TONIOT_TRAIN_TEST, 800, 4));
    const r = pqfed(
      'train',
      '--dataset',
      'toniot',
      '--data',
      file,
      '--epochs',
      '1',
      '--backend',
      'wasm',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const k of ['accuracy', 'macroF1', 'perClass', 'mos', 'majorityBaseline', 'rows', 'samplesPerSec']) {
      expect(report).toHaveProperty(k);
    }
    expect(report.mos).toHaveProperty('mae');
    expect(report.mos).toHaveProperty('rmse');
    expect(report.majorityBaseline).toHaveProperty('accuracy');
    expect(report.majorityBaseline).toHaveProperty('macroF1');
    expect(report.rows.train + report.rows.test).toBeGreaterThan(0);
    expect(report.backend.name).toBe('wasm');
    // the default engine: the fused WASM engine (built by pretest:unit), nothing fallen back
    expect(report.engine).toBe('fused');
    expect(report).not.toHaveProperty('engineFallback');
    expect(r.stderr).not.toMatch(/training with tfjs/);
    const first = Object.values(report.perClass)[0] as Record<string, number>;
    expect(Object.keys(first).sort()).toEqual(['f1', 'precision', 'recall', 'support']);
  }, 300_000);

  it.runIf(existsSync(REAL))(
    'imports the shipped TON_IoT subset: 141,625 rows and the SCHEMAS.md class counts',
    () => {
      const r = pqfed('import', REAL, '--dataset', 'toniot', '--json');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.rowsRead).toBe(141_625);
      expect(report.rowsSkipped).toBe(0);
      expect(report.classes).toEqual({
        normal: 29_823,
        scanning: 18_559,
        ransomware: 16_109,
        backdoor: 14_375,
        password: 14_268,
        injection: 13_982,
        ddos: 13_717,
        dos: 12_616,
        xss: 7_451,
        mitm: 725,
      });
      for (const id of ['src_ip', 'src_port', 'dst_ip', 'dst_port', 'dns_query', 'ssl_subject', 'http_uri']) {
        expect(report.features).not.toContain(id);
      }
      for (const q of report.qoeColumns) expect(report.features).not.toContain(q);
    },
    120_000,
  );
});
