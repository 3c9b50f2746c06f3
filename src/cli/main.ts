import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.ts';
import { registerDemo } from './demo.ts';
import { maskLocation } from '../persistence/stores.ts';
import { CliError, EXIT, EXIT_CODES_HELP } from './exit.ts';
import { registerSalvage } from './salvage.ts';
import { registerServe } from './serve.ts';
import { registerStats } from './stats.ts';
import { registerVerify } from './verify.ts';

/** package.json is two levels up from src/cli/ and dist/cli/ alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function program(): Command {
  const root = new Command('buildcoord')
    .description("Buildbot's database connector API as an in-process actor coordinator on LevelDB")
    .version(version)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  // Subcommands made with .command() inherit exitOverride and showHelpAfterError.
  registerDemo(root);
  registerServe(root);
  registerStats(root);
  registerVerify(root);
  registerSalvage(root);
  registerBench(root);
  return root;
}

/** Runs the command line `argv` (node's, with the two leading entries) and resolves to its exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const cli = program();
  if (argv.length <= 2) {
    cli.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await cli.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander has said why
    if (error instanceof CliError) {
      process.stderr.write(`buildcoord: ${maskLocation(error.message)}\n`);
      return error.exitCode;
    }
    process.stderr.write(`buildcoord: ${maskLocation(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return EXIT.failed;
  }
}

// Run as a script (tsx src/cli/main.ts, as npm run demo does); bin/buildcoord.js calls main() itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exit(await main());
}
