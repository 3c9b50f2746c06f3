import { expect, it } from 'vitest';
import { torturePostgres } from '../../reliability/pgTorture.ts';
import { describePg } from '../support/postgres.ts';

// The short version of `npm run torture -- --location postgresql://... --cycles N`: three processes on one
// schema, one SIGKILLed per cycle (at random, or between sending a COMMIT and reading its answer), a survivor
// takes over its master's claims, a replacement takes its place; then everything is checked against the store.
describePg('crash-kill torture [postgresql]', (server) => {
  it('4 cycles of SIGKILL among three processes lose no acknowledged write, claim nothing twice, leave a sound store', async () => {
    const result = await torturePostgres({ location: server, cycles: 4, seed: 20261127 });
    console.log(
      `torture [postgresql]: ${result.cycles} cycles, ${result.commitWindowKills} killed between COMMIT and its answer, ${result.randomKills} at random; ` +
        `${result.acknowledged} calls answered, ${result.unansweredAtDeath} unanswered at a kill, ${result.takenOver} claims taken over`,
    );
    expect(result.violations).toEqual([]);
    expect(result.cycles).toBe(4);
    expect(result.commitWindowKills).toBeGreaterThanOrEqual(1); // cycles 2 and 4 arm the COMMIT kill;
    expect(result.takenOver).toBeGreaterThan(0);
    expect(result.acknowledged).toBeGreaterThan(500);
  }, 120_000);

  it('the checker catches workers that acknowledge before the store answers', async () => {
    const result = await torturePostgres({ location: server, cycles: 1, seed: 7, ackEarly: true });
    expect(result.violations.length).toBeGreaterThan(0);
  }, 120_000);
});
