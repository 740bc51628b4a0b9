import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/pqfed.js', import.meta.url).pathname;
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

function pqfed(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The README's `pqfed` command table: each row's command and the flags its first cell lists. */
function readmeCommands(): Map<string, string[]> {
  const start = README.indexOf('## The `pqfed` command');
  const section = README.slice(start, README.indexOf('\n## ', start + 1));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`pqfed ([a-z]+)([^`]*)`/.exec(line);
    if (!m) continue;
    rows.set(m[1]!, [...new Set(m[2]!.match(/--[a-z][a-z0-9-]*/g) ?? [])]);
  }
  return rows;
}

describe('pqfed --help', () => {
  const table = readmeCommands();

  it('the README table lists every subcommand', () => {
    const help = pqfed('--help');
    expect(help.code).toBe(0);
    const listed = [...help.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(listed.sort()).toEqual(['bench', 'import', 'serve', 'simulate', 'train']);
    expect([...table.keys()].sort()).toEqual(listed.sort());
  });

  it('every subcommand answers --help and help <command> with every flag the README lists for it', () => {
    for (const [command, flags] of table) {
      const r = pqfed(command, '--help');
      expect(r.code, `${command} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: pqfed ${command} `));
      expect(flags.length, command).toBeGreaterThan(0);
      for (const flag of flags) {
        expect(r.stdout, `pqfed ${command} --help lacks ${flag}`).toMatch(
          new RegExp(`(^|\\s)${flag}\\b`, 'm'),
        );
      }
      expect(pqfed('help', command).stdout).toBe(r.stdout);
    }
  }, 120_000);

  it('--version prints the package version', () => {
    const r = pqfed('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PACKAGE.version);
  });
});
