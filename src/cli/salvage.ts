import type { Command } from 'commander';
import { maskLocation, refuseSalvage } from '../persistence/stores.ts';
import { salvage } from '../salvage.ts';
import { CliError, EXIT } from './exit.ts';
import { storeError } from './store.ts';

export function registerSalvage(program: Command): void {
  program
    .command('salvage')
    .description('accept the loss in a store refused for a damaged write-ahead log or commit mark')
    .argument('<dir>', 'the store directory (LevelDB)')
    .addHelpText(
      'after',
      `
First copies the store, as it is, to DIR.damaged-<time>. Then lets LevelDB
recover what it can read of the write-ahead log (damaged records are dropped
whole), resets the commit mark to the newest commit left, and verifies the
result. Exits 0 when the salvaged store is sound, 1 when verify found what the
loss left inconsistent (printed by key). Damaged tables, CURRENT or MANIFEST
are not mended: restore those stores from a backup. A PostgreSQL store is
refused: its server keeps its files (check it with verify).`,
    )
    .action(async (dir: string) => {
      try {
        refuseSalvage(dir);
      } catch (error) {
        throw new CliError(maskLocation(error instanceof Error ? error.message : String(error)), EXIT.noStore, { cause: error });
      }
      const result = await salvage(dir).catch((error: unknown) => {
        throw storeError(dir, error);
      });
      process.stdout.write(`${dir}: the damaged store was copied to ${result.evidence}\n`);
      for (const { key, problem } of result.report.problems) process.stdout.write(`${key}: ${problem}\n`);
      process.stdout.write(
        `${dir}: salvaged at commit ${result.sequence}, ${result.report.records} records, ${result.report.problems.length === 0 ? 'no problems' : `${result.report.problems.length} problem(s)`}\n`,
      );
      if (!result.report.ok) throw new CliError(`${dir}: ${result.report.problems.length} problem(s) remain after salvage`, EXIT.failed);
    });
}
