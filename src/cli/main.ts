/**
 * The `pqfed` command. Every subcommand takes --json and then prints exactly one JSON object on stdout;
 * progress goes to stderr. Bad arguments or bad files: a line on stderr naming the problem (a bad experiment
 * file: that line, then one indented line per problem), exit code 2. `pqfed <command> --help`,
 * `pqfed help <command>` and `pqfed --version` exit 0.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import {
  type BenchOptions,
  benchDefinition,
  type ImportOptions,
  importDefinition,
  type ServeOptions,
  type SimulateOptions,
  serveDefinition,
  simulateDefinition,
  type TrainOptions,
  trainDefinition,
} from './commands.ts';
import { isInputError, UsageError } from './errors.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface Outcome {
  result: unknown;
  text: string;
  json: boolean;
}

/** The whole command line: `program` parses; the action that ran leaves its outcome here. */
function buildProgram(): { program: Command; outcome: () => Outcome | null } {
  let outcome: Outcome | null = null;
  const program = new Command('pqfed')
    .description('PQFed: browser-native federated learning, sealed with post-quantum cryptography')
    .version(VERSION, '-V, --version', 'print the version')
    .helpCommand('help [command]', 'help for a command')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, outputError: () => {} });
  const add = <O>(
    definition: Command,
    run: (opts: O, args: string[]) => Promise<Omit<Outcome, 'json'> | null>,
  ) => {
    definition.copyInheritedSettings(program);
    // commander passes the arguments, the options, then the command itself
    definition.action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const opts = cmd.opts<O & { json?: boolean }>();
      const r = await run(opts, cmd.args);
      outcome = r && { ...r, json: opts.json === true };
    });
    program.addCommand(definition);
  };
  // Each command's module is loaded when it runs, so --help, --version and flag errors answer at once.
  add<ServeOptions>(serveDefinition(), async (o) => {
    const { serveCommand } = await import('./serve.ts');
    await serveCommand(o);
    return null;
  });
  add<SimulateOptions>(simulateDefinition(), async (o) => {
    const { formatSimulate, simulateCommand } = await import('./simulate.ts');
    const r = await simulateCommand(o);
    return { result: r, text: formatSimulate(r) };
  });
  add<ImportOptions>(importDefinition(), async (o, args) => {
    const { formatImport, importCommand } = await import('./import.ts');
    const r = await importCommand(args[0]!, o);
    return { result: r, text: formatImport(r) };
  });
  add<TrainOptions>(trainDefinition(), async (o) => {
    const { formatTrain, trainCommand } = await import('./train.ts');
    const r = await trainCommand(o);
    return { result: r, text: formatTrain(r) };
  });
  add<BenchOptions>(benchDefinition(), async (o) => {
    const { benchCommand, formatBench } = await import('./bench.ts');
    const r = await benchCommand(o);
    return { result: r, text: formatBench(r) };
  });
  return { program, outcome: () => outcome };
}

async function main(argv: string[]): Promise<number> {
  const { program, outcome } = buildProgram();
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return 2;
  }
  const names = program.commands.map((c) => c.name());
  const unknown = (name: string) =>
    new UsageError(`unknown command '${name}' (commands: ${names.join(', ')})`);
  if (argv[0] === 'help' && argv[1] !== undefined && !names.includes(argv[1])) throw unknown(argv[1]);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, help <command> and --version end here with exit code 0
      if (err.exitCode === 0) return 0;
      if (err.code === 'commander.unknownCommand') throw unknown(argv[0]!);
      throw new UsageError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const done = outcome();
  if (done) process.stdout.write(done.json ? `${JSON.stringify(done.result)}\n` : `${done.text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    const input = isInputError(err);
    // An input error's message is for the user as it is (a bad experiment file lists every problem,
    // one per indented line); anything else is a bug: its first line, and the stack with PQFED_DEBUG.
    const text = input ? err.message : `${err.name}: ${err.message.split('\n')[0]}`;
    process.stderr.write(`pqfed: ${text}\n`);
    if (!input && process.env.PQFED_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = input ? 2 : 1;
  },
);
