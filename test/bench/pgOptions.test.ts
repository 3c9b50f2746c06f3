// The pg scenario's options: where the server comes from, when the scenario runs or is skipped, and that a password never shows.
import { describe, expect, it } from 'vitest';
import { isDefaultFullRun, parseOptions, PG_VARIABLE, shownOptions, UsageError } from '../../bench/plan.ts';

const URL_WITH_PASSWORD = 'postgresql://bench:s3cret-pw@db.example:5432/farm';
const noEnv = {};

describe('the pg scenario options', () => {
  it('runs in a full run when --store gives a server, with 1 and 4 processes and 64 in flight by default', () => {
    const o = parseOptions(['--store', URL_WITH_PASSWORD], noEnv);
    expect(o).toMatchObject({ pg: true, pgSkipped: false, store: URL_WITH_PASSWORD, pgProcesses: [1, 4], pgInFlight: 64, pgConnections: 16, scale: true });
    expect(o.scenarios).toEqual(['claim', 'contended', 'poll']);
    expect(o.pgRequests).toBeGreaterThan(parseOptions(['--quick', '--store', URL_WITH_PASSWORD], noEnv).pgRequests);
  });

  it(`takes the server from ${PG_VARIABLE} when --store is not given, and --store over it`, () => {
    expect(parseOptions([], { [PG_VARIABLE]: 'postgres://u@h/a' })).toMatchObject({ pg: true, store: 'postgres://u@h/a' });
    expect(parseOptions(['--store', 'postgresql://u@h/b'], { [PG_VARIABLE]: 'postgres://u@h/a' }).store).toBe('postgresql://u@h/b');
    expect(parseOptions([], { [PG_VARIABLE]: '  ' })).toMatchObject({ pg: false, pgSkipped: true, store: null });
  });

  it('is skipped, and says so, in a full run without a server; other scenario lists leave it out silently', () => {
    expect(parseOptions([], noEnv)).toMatchObject({ pg: false, pgSkipped: true });
    expect(parseOptions(['--quick'], noEnv)).toMatchObject({ pg: false, pgSkipped: true });
    expect(parseOptions(['--scenario', 'claim'], noEnv)).toMatchObject({ pg: false, pgSkipped: false });
    // A server in the environment does not drag pg into a run that did not choose it.
    expect(parseOptions(['--scenario', 'claim'], { [PG_VARIABLE]: 'postgres://u@h/a' })).toMatchObject({ pg: false, pgSkipped: false });
  });

  it('--scenario pg runs it alone, with its own sizes', () => {
    const o = parseOptions(
      ['--scenario', 'pg', '--store', 'postgres://u@h/db', '--pg-processes', '1,2', '--pg-in-flight', '32', '--pg-requests', '1_000', '--pg-warmup', '0', '--pg-connections', '8'],
      noEnv,
    );
    expect(o).toMatchObject({ scenarios: [], scale: false, pg: true, pgProcesses: [1, 2], pgInFlight: 32, pgRequests: 1_000, pgWarmup: 0, pgConnections: 8 });
  });

  it.each([
    [['--scenario', 'pg'], /needs a server: --store URL or BUILDCOORD_BENCH_PG/],
    [['--scenario', 'claim', '--store', 'postgres://u@h/db'], /--store is for the pg scenario/],
    [['--store', '/var/lib/state'], /must be a PostgreSQL URL/],
    [['--scenario', 'pg', '--store', 'postgres://u@h/db', '--pg-processes', '8', '--pg-in-flight', '4'], /every process needs a claimer/],
    [['--scenario', 'pg', '--store', 'postgres://u@h/db', '--pg-processes', '0'], /--pg-processes must be an integer >= 1/],
    [['--pg-requests', '0', '--store', 'postgres://u@h/db'], /--pg-requests must be an integer >= 1/],
  ])('refuses %j', (argv, why) => {
    expect(() => parseOptions(argv, noEnv)).toThrow(UsageError);
    expect(() => parseOptions(argv, noEnv)).toThrow(why);
  });

  it('never shows a password: not in refusals, not in the options written out', () => {
    const refusal = (() => {
      try {
        parseOptions(['--store', 'mysql://bench:s3cret-pw@db/farm'], noEnv);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(refusal).toMatch(/must be a PostgreSQL URL/);
    expect(refusal).not.toContain('s3cret-pw');
    const shown = shownOptions(parseOptions(['--store', URL_WITH_PASSWORD], noEnv));
    expect(shown.store).toBe('postgresql://bench:***@db.example:5432/farm');
    expect(JSON.stringify(shown)).not.toContain('s3cret-pw');
  });

  it('a full run with only a server given is still the published full run', () => {
    expect(isDefaultFullRun(['--store', URL_WITH_PASSWORD])).toBe(true);
    expect(isDefaultFullRun([`--store=${URL_WITH_PASSWORD}`])).toBe(true);
    expect(isDefaultFullRun(['--store', URL_WITH_PASSWORD, '--quick'])).toBe(false);
  });
});
