/**
 * What one `pg` statement costs the client process in CPU, on this machine:
 * one at a time (a round trip each, as a lone read), 16 pipelined on one
 * session (as the committer sends a transaction), and through a pool (as
 * buildcoord's reads go). It bounds what the shared store's client can save:
 * the cost is the round trip (wake-up, socket, parser, promises), not the
 * rows. Medians of several rounds of one second each.
 *
 *   node --import tsx bench/pgRoundTrip.ts postgresql://… [--rounds N]
 */
import pg from 'pg';
import { median } from './stats.ts';
import { connectionConfig } from '../src/persistence/postgres/url.ts';

const [url, ...rest] = process.argv.slice(2);
if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
  console.error('usage: node --import tsx bench/pgRoundTrip.ts postgresql://… [--rounds N]');
  process.exit(2);
}
const ROUNDS = rest[0] === '--rounds' ? Number(rest[1]) : 5;
const { config } = connectionConfig(url, { sync: true });
const keys = Array.from({ length: 5 }, (_, i) => Buffer.from(`r/buildrequest/${i}`));
const read = { name: 'rt.read', text: 'SELECT k FROM unnest($1::bytea[]) AS k' };

/** A probe sends `statements` statements and waits for all of their answers. */
type Probe = { name: string; statements: number; send: () => Promise<unknown> };

async function main(): Promise<void> {
  const client = new pg.Client({ ...config, pipeline: true } as pg.ClientConfig);
  await client.connect();
  const pool = new pg.Pool({ ...config, max: 4 });
  const probes: Probe[] = [
    { name: 'one at a time, 5 keys', statements: 1, send: () => client.query({ ...read, values: [keys] }) },
    { name: '16 pipelined on one session', statements: 16, send: () => Promise.all(Array.from({ length: 16 }, () => client.query({ ...read, values: [keys] }))) },
    { name: 'one at a time through a pool', statements: 1, send: () => pool.query({ ...read, values: [keys] }) },
  ];
  const figures = new Map(probes.map((p) => [p.name, [] as number[]]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const probe of probes) {
        let statements = 0;
        const cpu = process.cpuUsage();
        const started = performance.now();
        while (performance.now() - started < 1000) {
          await probe.send();
          statements += probe.statements;
        }
        const used = process.cpuUsage(cpu);
        figures.get(probe.name)!.push((used.user + used.system) / statements);
      }
    }
  } finally {
    await client.end();
    await pool.end();
  }
  console.log(`client CPU per statement (µs), median of ${ROUNDS} rounds of 1 s:`);
  for (const [name, values] of figures) console.log(`  ${median(values).median.toFixed(1).padStart(6)}  ${name}`);
}

await main();
