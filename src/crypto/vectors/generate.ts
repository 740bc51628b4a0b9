/**
 * Writes the known-answer vectors of `src/crypto/` (handshake.json, update.json, announcements.json beside
 * this file). Run after an intended change to a wire format: `npx tsx src/crypto/vectors/generate.ts`, then
 * review the diff. `vectors.test.ts` beside it fails until the files match the code.
 */
import { writeFile } from 'node:fs/promises';
import { computeVectors } from './compute.ts';

const vectors = await computeVectors();
for (const [name, content] of Object.entries(vectors)) {
  const file = new URL(`./${name}.json`, import.meta.url);
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`);
  process.stderr.write(`wrote ${file.pathname}\n`);
}
