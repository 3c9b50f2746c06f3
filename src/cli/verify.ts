import type { Command } from 'commander';
import { LOCATION_FORMS, maskLocation, probeStore } from '../persistence/stores.ts';
import { verify } from '../verify.ts';
import { CliError, EXIT } from './exit.ts';
import { storeError } from './store.ts';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check a store, changing nothing: its files (checksums, log, mark), records, index entries, actor states and id counters')
    .argument('<dir>', `the store: ${LOCATION_FORMS}`)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exits 0 when the store is sound and 1 when problems were found, each printed
with the file and byte offset, or the key, where it was found. Reads only:
every file is left byte for byte as it was (the contents are read through a
scratch copy). A LevelDB directory must not be open in another process.
A PostgreSQL store is checked on one snapshot while its masters run (its id
sequences stand for the counters; its files are the server's); a URL's
password is never shown.`,
    )
    .action(async (dir: string, options: { json?: boolean }) => {
      const shown = maskLocation(dir);
      const report = await probeStore(dir)
        .then(() => verify(dir))
        .catch((error: unknown) => {
          throw storeError(dir, error);
        });
      if (options.json) {
        process.stdout.write(`${maskLocation(JSON.stringify(report, null, 2))}\n`);
      } else {
        for (const { key, problem } of report.problems) process.stdout.write(`${maskLocation(`${key}: ${problem}`)}\n`);
        process.stdout.write(
          `${shown}: ${report.records} records, ${report.indexEntries} index entries, ${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problem(s)`}\n`,
        );
      }
      if (!report.ok) throw new CliError(`${shown}: ${report.problems.length} problem(s) found`, EXIT.failed);
    });
}
