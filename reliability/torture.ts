/**
 * Crash-kill torture. Given a PostgreSQL URL as --location, the shared-store
 * run of reliability/pgTorture.ts (several processes on one schema, one of
 * them SIGKILLed each cycle); otherwise the LevelDB run below.
 *
 *   npm run torture -- --location 'postgresql://user@host/db[?schema=NAME]' --cycles 50 [--workers 3] [--keep] [--seed N]
 *
 * LevelDB: runs reliability/worker.ts against a LevelDB store,
 * kills it with SIGKILL after a random number of answered calls, reopens
 * the store and checks that every acknowledged write is there, that the
 * store is sound (verify: indexes, counters, machine states), and that no
 * claim is held by a master the acknowledged calls say lost it. Repeats.
 *
 *   npm run torture -- --cycles 200 [--location DIR] [--seed N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openCoordinator, verify } from '../src/api.ts';
import { isSharedLocation, maskLocation } from '../src/persistence/stores.ts';
import { torturePostgres } from './pgTorture.ts';

interface Line {
  t: 'ready' | 'issue' | 'ack' | 'nack';
  n: number;
  at: number; // position in the stream: issue and answer order
  op?: string;
  [key: string]: unknown;
}

export interface TortureResult {
  cycles: number;
  acknowledged: number;
  violations: string[];
}

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

/** One cycle: run the worker until it has answered `killAfter` calls, then SIGKILL it. */
async function runWorker(location: string, seed: number, killAfter: number, ackEarly: boolean): Promise<Line[]> {
  const env = { ...process.env, TORTURE_ACK_EARLY: ackEarly ? '1' : '0' };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, location, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const lines: Line[] = [];
  let answered = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Read to the end: what the worker printed before it died (even after the kill was sent) is its history.
  for await (const text of createInterface({ input: child.stdout })) {
    let line: Line;
    try {
      line = { ...JSON.parse(text), at: lines.length } as Line;
    } catch {
      break; // a line cut off by the kill
    }
    lines.push(line);
    if ((line.t === 'ack' || line.t === 'nack') && ++answered === killAfter) child.kill('SIGKILL');
  }
  child.kill('SIGKILL');
  await exited;
  if (!lines.some((l) => l.t === 'ready')) throw new Error(`worker did not start: ${stderr}`);
  return lines;
}

/** Checks the reopened store against what the killed worker was told. */
async function check(location: string, lines: Line[]): Promise<string[]> {
  const violations: string[] = [];
  const report = await verify(location);
  for (const p of report.problems) violations.push(`verify: ${p.key}: ${p.problem}`);

  const ready = lines.find((l) => l.t === 'ready')!;
  const masterIds = ready.masters as number[];
  const objectid = ready.objectid as number;
  const issued = new Map(lines.filter((l) => l.t === 'issue').map((l) => [l.n, l]));
  // Each acknowledged call: what was issued, what it answered, and where in the stream.
  const acks: (Line & { result: unknown; ackAt: number })[] = lines.filter((l) => l.t === 'ack').map((a) => ({ ...issued.get(a.n)!, result: a.value, ackAt: a.at }));
  // A call may take effect after acknowledged call `a` unless it was refused or answered before `a` was issued.
  const answers = new Map(lines.filter((l) => l.t === 'ack' || l.t === 'nack').map((l) => [l.n, l]));
  const mayFollow = (a: Line, touches: (l: Line) => boolean) =>
    [...issued.values()].filter((l) => l.n !== a.n && answers.get(l.n)?.t !== 'nack' && (answers.get(l.n)?.at ?? Infinity) > a.at && touches(l));

  const coordinator = await openCoordinator({ location });
  try {
    // The worker's own masters (connecting marks them active; claims are untouched).
    const owners = [await coordinator.connect('m0'), await coordinator.connect('m1'), await coordinator.connect('m2')];
    const db = owners[0]!;
    for (const a of acks) {
      const label = `call ${a.n} (${a.op})`;
      if (a.op === 'addBuildset') {
        const [bsid, brids] = a.result as [number, Record<string, number>];
        if ((await db.buildsets.getBuildset(bsid)) === null) violations.push(`${label}: buildset ${bsid} lost`);
        for (const brid of Object.values(brids)) {
          if ((await db.buildrequests.getBuildRequest(brid))?.buildsetid !== bsid) violations.push(`${label}: build request ${brid} lost`);
        }
      } else if (a.op === 'complete') {
        for (const brid of a.brids as number[]) {
          if (!(await db.buildrequests.getBuildRequest(brid))?.complete) violations.push(`${label}: completion of ${brid} lost`);
        }
      } else if (a.op === 'claim') {
        for (const brid of a.brids as number[]) {
          const released =
            mayFollow(
              a,
              (l) =>
                l.op === 'expire' ||
                (l.op === 'unclaim' && l.master === a.master && (l.brids as number[]).includes(brid)) ||
                (l.op === 'setMasterState' && l.target === a.master && l.active === false),
            ).length > 0;
          if (released) continue;
          const br = await owners[a.master as number]!.buildrequests.getBuildRequest(brid);
          if (!br?.claimed || !br.mine) violations.push(`${label}: claim of ${brid} by master ${masterIds[a.master as number]} lost`);
        }
      } else if (a.op === 'setState') {
        const later = mayFollow(a, (l) => l.op === 'setState' && l.name === a.name).map((l) => JSON.stringify(l.value));
        const found = JSON.stringify(await db.state.getState(objectid, a.name as string, { default: null }));
        if (found !== JSON.stringify(a.value) && !later.includes(found))
          violations.push(`${label}: state ${String(a.name)} is ${found}, not the acknowledged ${JSON.stringify(a.value)}`);
      }
    }
  } finally {
    await coordinator.close();
  }
  return violations;
}

export interface TortureOptions {
  cycles: number;
  location?: string;
  seed?: number;
  /** Makes the worker acknowledge calls before they are answered: for proving the checker catches lost writes. */
  ackEarly?: boolean;
  onCycle?: (cycle: number, acknowledged: number, violations: number) => void;
}

export async function torture(options: TortureOptions): Promise<TortureResult> {
  const own = options.location === undefined;
  const location = options.location ?? join(mkdtempSync(join(tmpdir(), 'buildcoord-torture-')), 'store');
  let seed = options.seed ?? Date.now() % 1_000_000;
  const result: TortureResult = { cycles: 0, acknowledged: 0, violations: [] };
  try {
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      seed = (seed * 48271) % 2147483647 || 1;
      const lines = await runWorker(location, seed, 20 + (seed % 180), options.ackEarly ?? false);
      result.acknowledged += lines.filter((l) => l.t === 'ack').length;
      result.violations.push(...(await check(location, lines)).map((v) => `cycle ${cycle} (seed ${seed}): ${v}`));
      result.cycles = cycle;
      options.onCycle?.(cycle, result.acknowledged, result.violations.length);
    }
  } finally {
    if (own) rmSync(dirname(location), { recursive: true, force: true });
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '50' },
      location: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const cycles = Number(values.cycles);
  if (!Number.isSafeInteger(cycles) || cycles < 1) {
    console.error('--cycles must be a positive integer');
    process.exit(2);
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 2)) {
    console.error('--workers must be an integer of at least 2');
    process.exit(2);
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (values.location !== undefined && isSharedLocation(values.location)) {
    const result = await torturePostgres({
      location: values.location,
      cycles,
      seed,
      workers,
      keep: values.keep,
      onCycle: (cycle, acked, info) => process.stderr.write(`cycle ${cycle}/${cycles}  acknowledged ${acked}  ${info}\n`),
    });
    for (const v of result.violations) console.log(v);
    console.log(
      `PostgreSQL ${maskLocation(values.location)} schema ${result.schema}: cycles: ${result.cycles} ` +
        `(killed between COMMIT and its answer: ${result.commitWindowKills}, that COMMIT landed in ${result.interruptedCommitsLanded} and not in ${result.interruptedCommitsLost}; ` +
        `killed at a random moment: ${result.randomKills}), ` +
        `calls answered: ${result.acknowledged}, unanswered at a kill: ${result.unansweredAtDeath} (of which setState seen landed: ${result.landedUnanswered}), ` +
        `claims taken over: ${result.takenOver}, StorageErrors: ${result.storageErrors}, violations found: ${result.violations.length}, ${elapsed()}`,
    );
    process.exit(result.violations.length === 0 ? 0 : 1);
  }
  if (workers !== undefined || values.keep) {
    console.error('--workers and --keep are for a PostgreSQL --location');
    process.exit(2);
  }
  const result = await torture({
    cycles,
    location: values.location,
    seed,
    onCycle: (cycle, acked, violations) => process.stderr.write(`\rcycle ${cycle}/${cycles}  acknowledged ${acked}  violations ${violations}`),
  });
  process.stderr.write('\n');
  for (const v of result.violations) console.log(v);
  console.log(`cycles: ${result.cycles}, operations acknowledged: ${result.acknowledged}, violations found: ${result.violations.length}, ${elapsed()}`);
  process.exit(result.violations.length === 0 ? 0 : 1);
}
