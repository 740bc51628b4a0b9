/** Versions a result depends on (recorded beside `pqfed simulate --json`'s figures, so a run can be redone). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The version in the package.json of `name`, found from one of its entry points (exports hide package.json). */
function packageVersion(name: string, entry: string): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(entry)));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      }
      const up = dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  } catch {
    return 'unknown';
  }
}

export interface Versions {
  pqfed: string;
  node: string;
  tfjs: string;
  noblePostQuantum: string;
  nobleCiphers: string;
  nobleHashes: string;
}

export function versions(): Versions {
  return {
    pqfed: packageVersion('pqfed', '../../package.json'),
    node: process.version,
    tfjs: packageVersion('@tensorflow/tfjs-core', '@tensorflow/tfjs-core'),
    noblePostQuantum: packageVersion('@noble/post-quantum', '@noble/post-quantum/ml-kem.js'),
    nobleCiphers: packageVersion('@noble/ciphers', '@noble/ciphers/aes.js'),
    nobleHashes: packageVersion('@noble/hashes', '@noble/hashes/sha2.js'),
  };
}
