import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit.ts';

/** The checkout this file belongs to (src/cli/ or dist/cli/ alike). */
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs bench/main.ts as `npm run bench` does (through tsx, from the
 * checkout's root, where its reports go), passing every argument on. The
 * benchmark lives beside the sources, not in the built package, so this
 * needs a clone with its dev dependencies.
 */
function runBench(args: string[]): Promise<number> {
  const script = `${root}bench/main.ts`;
  if (!existsSync(script)) {
    return Promise.reject(new CliError(`the benchmark is not here (${script}): it ships with the source repository, run it from a clone after "npm ci"`, EXIT.failed));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? EXIT.failed : EXIT.ok)));
  });
}

export function registerBench(program: Command): void {
  const command = program
    .command('bench')
    .description('run the claim benchmark (bench/main.ts, as "npm run bench")')
    .argument('[args...]', "the benchmark's own options, e.g. --quick")
    .helpOption(false)
    .allowUnknownOption()
    .addHelpText(
      'after',
      `
Every option is passed to the benchmark; its own are listed below.
Needs a clone of the repository with its dev dependencies ("npm ci").`,
    )
    .action(async (args: string[]) => {
      if (args.includes('--help') || args.includes('-h')) {
        command.outputHelp();
        await runBench(['--help']);
        return;
      }
      const code = await runBench(args);
      if (code !== 0) throw new CliError(`the benchmark exited with code ${code}`, code === EXIT.usage ? EXIT.usage : EXIT.failed);
    });
}
