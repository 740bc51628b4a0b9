#!/usr/bin/env node
// Makes sure Debian's Chromium is present for the browser tests (Playwright never downloads a browser here).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

if (typeof process.getuid === 'function' && process.getuid() === 0) {
  process.stderr.write(`ensure-chromium: ${CHROMIUM} is missing, installing Debian's chromium package\n`);
  const r = spawnSync('sh', ['-c', 'apt-get update && apt-get install -y chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0 || !existsSync(CHROMIUM)) {
    process.stderr.write(`ensure-chromium: installing chromium failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  process.exit(0);
}

process.stderr.write(
  `ensure-chromium: ${CHROMIUM} is missing; install it with \`sudo apt-get install -y chromium\` (Debian/Ubuntu)\n`,
);
process.exit(1);
