import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileProblem } from '../../errors.ts';
import { readManifest } from './files/manifest.ts';
import { checkTableFile } from './files/table.ts';

/** How often, at most, the MANIFEST is read for new tables while writes go on. */
const SCAN_INTERVAL_MS = 500;

/**
 * Checks each table file once, as it appears. LevelDB reads tables without
 * verifying their checksums, so a table written badly (a failing disk, bad
 * memory) would be served and compacted as if whole. Tables present at
 * open are checked before LevelDB opens the store (openCheck.ts); those its
 * flushes and compactions make later are checked here, in the background,
 * once the MANIFEST lists them (LevelDB lists a table only once it is
 * complete and synced). Damage found is reported to `onDamage`.
 */
export class TableWatch {
  private readonly checked = new Set<number>();
  private scanning = false;
  private last = 0;
  private stopped = false;
  /** The MANIFEST (name and size) the last scan read. */
  private seen = '';

  constructor(
    private readonly directory: string,
    private readonly onDamage: (problems: FileProblem[]) => void,
  ) {}

  /** Tables already checked (before LevelDB opened the store). */
  seed(tables: readonly number[]): void {
    for (const number of tables) this.checked.add(number);
  }

  /** Called after writes: looks for new tables, at most every SCAN_INTERVAL_MS. */
  poke(): void {
    if (this.scanning || this.stopped || Date.now() - this.last < SCAN_INTERVAL_MS) return;
    this.scanning = true;
    this.last = Date.now();
    this.scan()
      .catch(() => {}) // a MANIFEST caught mid-append, say: the next scan reads it again
      .finally(() => (this.scanning = false));
  }

  stop(): void {
    this.stopped = true;
  }

  /** Checks every live table not checked yet; resolves once done (tests wait on it). */
  async scan(): Promise<void> {
    const live = await this.liveTables();
    if (live === null) return;
    for (const table of live.tables) {
      if (this.stopped || this.checked.has(table.number)) continue;
      const name = `${String(table.number).padStart(6, '0')}.ldb`;
      let problems;
      try {
        problems = (await checkTableFile(join(this.directory, name), table.size)).problems;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // compacted away meanwhile
        throw error;
      }
      this.checked.add(table.number);
      if (problems.length > 0) {
        this.onDamage(problems.map((p) => ({ file: name, ...p })));
        return;
      }
    }
    this.seen = live.seen; // every table of this MANIFEST is checked
  }

  /** The live tables, or null when the MANIFEST is unchanged since the last look (or cannot be read whole). */
  private async liveTables() {
    const current = (await readFile(join(this.directory, 'CURRENT'), 'latin1')).trim();
    const path = join(this.directory, current);
    const seen = `${current}:${(await stat(path)).size}`;
    if (seen === this.seen) return null; // a long-lived MANIFEST grows to megabytes: read it only when it has changed
    const manifest = readManifest(await readFile(path));
    if (manifest.problems.length > 0) return null;
    return { tables: manifest.state.tables, seen };
  }
}
