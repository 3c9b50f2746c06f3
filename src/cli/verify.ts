import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { isPostgresLocation } from '../persistence/postgres/location.ts';
import { verify } from '../verify.ts';
import { CliError, EXIT } from './exit.ts';
import { storeError } from './store.ts';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check a store, changing nothing: its files (checksums, log, mark), records, index entries, actor states and id counters')
    .argument('<dir>', 'the store directory (LevelDB)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
Exits 0 when the store is sound and 1 when problems were found, each printed
with the file and byte offset, or the key, where it was found. Reads only:
every file is left byte for byte as it was (the contents are read through a
scratch copy). The store must not be open in another process.`)
    .action(async (dir: string, options: { json?: boolean }) => {
      if (!isPostgresLocation(dir) && !existsSync(dir)) throw new CliError(`no store at ${dir}: the directory does not exist`, EXIT.noStore);
      const report = await verify(dir).catch((error: unknown) => {
        throw storeError(dir, error);
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        for (const { key, problem } of report.problems) process.stdout.write(`${key}: ${problem}\n`);
        process.stdout.write(`${dir}: ${report.records} records, ${report.indexEntries} index entries, ${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problem(s)`}\n`);
      }
      if (!report.ok) throw new CliError(`${dir}: ${report.problems.length} problem(s) found`, EXIT.failed);
    });
}
