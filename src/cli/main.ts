/**
 * The `pqfed` command. Every subcommand takes --json and then prints exactly one JSON object on stdout;
 * progress goes to stderr. Bad arguments or bad files: one line on stderr naming the problem, exit code 2.
 */
import { UsageError } from './args.ts';
import { formatImport, importCommand } from './import.ts';
import { serveCommand } from './serve.ts';
import { formatSimulate, simulateCommand } from './simulate.ts';
import { formatTrain, trainCommand } from './train.ts';

const USAGE = `usage: pqfed <command> [options]
  serve    [--port N] [--host H] [--data-dir DIR] [--config experiment.json]
           the aggregator and the app (http://localhost:8080)
  simulate --dataset D --data FILE [--test FILE] --clients N --rounds R [--alpha A | --iid]
           [--strategy fedavg|fedprox|fedadam|median|trimmed-mean|krum|multi-krum] [--json]
  import   FILE --dataset toniot|ciciot2023|edgeiiot [--out FILE] [--json]
  train    --dataset D --data FILE [--test FILE] [--epochs N] [--batch N] [--lr X]
           [--backend wasm|cpu] [--seed S] [--labels fine|category|binary] [--json]
  bench    [--quick] [--clients N] [--json]
           training samples/s (wasm, cpu, PyTorch), crypto per update, aggregator updates/s, wire bytes`;

/** Errors that mean "bad input": exit 2 with one line. */
const INPUT_ERRORS = new Set([
  'UsageError',
  'ConfigError',
  'CheckpointError',
  'SchemaError',
  'ImportError',
  'CsvFormatError',
  'RangeError',
]);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  let result: unknown;
  let text: string | undefined;
  switch (command) {
    case 'import': {
      const r = await importCommand(rest);
      result = r;
      text = formatImport(r);
      break;
    }
    case 'train': {
      const r = await trainCommand(rest);
      result = r;
      text = formatTrain(r);
      break;
    }
    case 'simulate': {
      const r = await simulateCommand(rest);
      result = r;
      text = formatSimulate(r);
      break;
    }
    case 'bench': {
      // loaded on demand: it pulls in the aggregator, the crypto benches and both tfjs backends
      const { benchCommand, formatBench } = await import('./bench.ts');
      const r = await benchCommand(rest);
      result = r;
      text = formatBench(r);
      break;
    }
    case 'serve':
      await serveCommand(rest);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    const input = INPUT_ERRORS.has(err.name);
    process.stderr.write(`pqfed: ${input ? '' : `${err.name}: `}${err.message.split('\n')[0]}\n`);
    if (!input && process.env.PQFED_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = input ? 2 : 1;
  },
);
