/**
 * Prints the experiment file's JSON Schema generated from the zod schema (src/aggregator/config.ts), or with
 * `--write` refreshes the committed docs/experiment.schema.json (a test checks the two are equal).
 *
 *   npx tsx scripts/experiment-schema.ts --write
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXPERIMENT_SCHEMA_PATH, experimentJsonSchemaText } from '../src/aggregator/config.ts';

const text = experimentJsonSchemaText();
if (process.argv.includes('--write')) {
  const file = fileURLToPath(new URL(`../${EXPERIMENT_SCHEMA_PATH}`, import.meta.url));
  writeFileSync(file, text);
  process.stderr.write(`wrote ${file}\n`);
} else process.stdout.write(text);
