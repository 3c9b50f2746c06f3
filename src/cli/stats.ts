import type { Command } from 'commander';
import { LOCATION_FORMS } from '../persistence/stores.ts';
import { countStates } from '../view/summary.ts';
import type { StateCounts } from '../view/summary.ts';
import { openReadOnly, storeError } from './store.ts';

export interface StoreStats {
  /** The store, as it may be shown: a PostgreSQL URL's password masked. */
  location: string;
  requests: StateCounts & { total: number };
  byBuilder: Record<string, StateCounts>;
  /** Per master: its claims on incomplete requests, and the complete requests it had claimed. */
  byMaster: { id: number; name: string; active: boolean; last_active: string; claimed: number; completed: number }[];
  buildsets: { open: number; complete: number };
  changeSources: { id: number; name: string; master: string | null }[];
}

/**
 * Counts of a store, read through the connector API without writing
 * anything: a LevelDB directory at rest, or a PostgreSQL store while its
 * masters run (every count from one snapshot).
 */
export async function readStats(location: string): Promise<StoreStats> {
  const store = await openReadOnly(location);
  try {
    return await store.read(async (connector) => {
      const db = connector();
      const [masters, requests, buildsets, sources] = await Promise.all([
        db.masters.getMasters(),
        db.buildrequests.getBuildRequests(),
        db.buildsets.getBuildsets(),
        db.changesources.getChangeSources(),
      ]);
      masters.sort((a, b) => a.id - b.id);
      const byBuilder: Record<string, StateCounts> = {};
      for (const name of [...new Set(requests.map((br) => br.buildername))].sort()) {
        byBuilder[name] = countStates(requests.filter((br) => br.buildername === name));
      }
      const byMaster = await Promise.all(
        masters.map(async (m) => {
          const mine = await connector(m.id).buildrequests.getBuildRequests({ claimed: 'mine' });
          const completed = mine.filter((br) => br.complete).length;
          return { id: m.id, name: m.name, active: m.active, last_active: m.last_active.toISOString(), claimed: mine.length - completed, completed };
        }),
      );
      const names = new Map(masters.map((m) => [m.id, m.name]));
      return {
        location: store.shown,
        requests: { total: requests.length, ...countStates(requests) },
        byBuilder,
        byMaster,
        buildsets: { open: buildsets.filter((bs) => !bs.complete).length, complete: buildsets.filter((bs) => bs.complete).length },
        changeSources: sources.map((cs) => ({ id: cs.id, name: cs.name, master: cs.masterid === null ? null : (names.get(cs.masterid) ?? `#${cs.masterid}`) })),
      };
    });
  } catch (error) {
    throw storeError(location, error, 'read');
  } finally {
    await store.close();
  }
}

/** Left-aligned first column, right-aligned numbers. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === 0 || typeof rows[0]?.[i] === 'string' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatStats(s: StoreStats): string {
  const r = s.requests;
  const lines = [
    `store: ${s.location}`,
    `build requests: ${r.total} (unclaimed ${r.unclaimed}, claimed ${r.claimed}, complete ${r.complete})`,
    `buildsets: ${s.buildsets.open + s.buildsets.complete} (open ${s.buildsets.open}, complete ${s.buildsets.complete})`,
    '',
    table(
      ['builder', 'unclaimed', 'claimed', 'complete'],
      Object.entries(s.byBuilder).map(([name, c]) => [name, c.unclaimed, c.claimed, c.complete]),
    ),
    '',
    table(
      ['master', 'id', 'state', 'last active', 'claimed', 'completed'],
      s.byMaster.map((m) => [m.name, m.id, m.active ? 'active' : 'inactive', m.last_active, m.claimed, m.completed]),
    ),
  ];
  if (s.changeSources.length > 0) {
    lines.push(
      '',
      table(
        ['change source', 'id', 'owner'],
        s.changeSources.map((cs) => [cs.name, cs.id, cs.master ?? '-']),
      ),
    );
  }
  return lines.join('\n');
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('count build requests by state, builder and master')
    .argument('<dir>', `the store: ${LOCATION_FORMS}`)
    .option('--json', 'print the counts as JSON')
    .addHelpText(
      'after',
      `
"claimed" is a master's claims on incomplete requests; "completed", the
complete requests it had claimed. Reads only. A LevelDB directory must not be
open in another process (it is open in one process at a time); a PostgreSQL
store is read while its masters run, every count from one snapshot. A URL's
password is never shown.`,
    )
    .action(async (dir: string, options: { json?: boolean }) => {
      const stats = await readStats(dir);
      process.stdout.write(`${options.json ? JSON.stringify(stats, null, 2) : formatStats(stats)}\n`);
    });
}
