/**
 * Crash-kill torture on a shared PostgreSQL store: several worker processes
 * (reliability/pgWorker.ts, one master each) drive random commands on one
 * schema at durability 'sync'. Each cycle SIGKILLs one of them: odd cycles
 * at a random moment, even ones between sending a writing COMMIT and
 * reading its answer (reliability/commitKill.ts, armed over stdin); then a
 * survivor deactivates the dead master and claims what is free, and a
 * replacement process takes the dead one's master name. At the end every
 * worker is SIGKILLed and the history of every call of every process is
 * checked against the store:
 *
 * - every acknowledged addBuildset, completion and setState is there
 *   (a setState may be overwritten only by one that may have followed it);
 * - every acknowledged claim is still held, unless something that releases
 *   it (the owner's unclaim, an expiry, the owner's deactivation) may have
 *   followed it;
 * - no request was claimed twice: of two acknowledged claims of one request,
 *   a release of the first must fit between them (in some order they may
 *   have taken effect in);
 * - every claim held at the end was made by its holder, and a claim older
 *   than the holder's last deactivation is gone (the takeover);
 * - the change source: of two acknowledged wins, the first's master must
 *   have been deactivated between them; its final owner is active;
 * - verifyBackend finds nothing wrong.
 *
 * Times are each process's wall clock (one machine), so "may have followed"
 * means: issued before the other was answered. A call never answered (its
 * process died), or answered with StorageError, may have taken effect.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pgConfig, quoteIdent, schemaName, schemaOf, withoutSchema, withSchema } from '../src/persistence/postgres/url.ts';
import { maskLocation } from '../src/persistence/postgres/location.ts';
import { inspect } from './inspect.ts';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'pgWorker.ts');
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Calls refused for a reason of the model, not the store's. */
const REFUSALS = new Set(['ALREADY_CLAIMED', 'NOT_CLAIMED', 'CHANGESOURCE_ALREADY_CLAIMED']);

export interface PgTortureOptions {
  /** A PostgreSQL URL. With `schema=NAME` that (empty) schema is used and kept; without, a fresh one is made and dropped. */
  location: string;
  cycles: number;
  seed?: number;
  /** Worker processes at once (default 3). */
  workers?: number;
  /** Keep a schema this run made (default: drop it when the run found nothing wrong). */
  keep?: boolean;
  /** Makes the workers acknowledge claims, completions and setStates before they are answered: for proving the checker catches that. */
  ackEarly?: boolean;
  onCycle?: (cycle: number, acknowledged: number, info: string) => void;
}

export interface PgTortureResult {
  cycles: number;
  acknowledged: number;
  violations: string[];
  /** Cycles whose victim died between sending a writing COMMIT and reading its answer. */
  commitWindowKills: number;
  /** Of the COMMITs interrupted so, how many landed (read back from bc_writers) and how many did not. */
  interruptedCommitsLanded: number;
  interruptedCommitsLost: number;
  /** Cycles whose victim the parent killed at a random moment (or that did not reach an armed COMMIT in time). */
  randomKills: number;
  /** Calls answered to killed processes' masters... unanswered ones at their death. */
  unansweredAtDeath: number;
  /** Of those, setState calls whose value is in the store: their commit landed though never answered. */
  landedUnanswered: number;
  /** Claims acknowledged to survivors in takeovers. */
  takenOver: number;
  /** Calls answered with StorageError (the store was healthy, so these are listed as violations too). */
  storageErrors: number;
  schema: string;
}

/** One call of one process, as it went. */
interface Call {
  proc: number;
  n: number;
  masterid: number;
  op: string;
  brids?: number[];
  target?: number;
  name?: string;
  value?: unknown;
  takeover?: boolean;
  issued: number;
  /** Infinity if never answered. */
  answered: number;
  outcome: 'ack' | 'nack' | 'none';
  result?: unknown;
  error?: string;
  code?: string | null;
  message?: string;
}

class Worker {
  readonly calls = new Map<number, Call>();
  readonly exited: Promise<void>;
  masterid = 0;
  objectid = 0;
  cs = 0;
  answered = 0;
  commitKill = false;
  /** The interrupted COMMIT's mark in bc_writers: writer and attempt numbers. */
  commitMark: { writer: string; attempt: string } | null = null;
  diedAt = Infinity;
  stderr = '';
  private dead = false;
  private waiters: { t: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  private readonly seen = new Map<string, Record<string, unknown>>();

  constructor(
    readonly proc: number,
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        this.dead = true;
        this.diedAt = Math.min(this.diedAt, now());
        resolve();
      }),
    );
    void this.read();
  }

  private async read(): Promise<void> {
    for await (const text of createInterface({ input: this.child.stdout! })) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue; // cut off by the kill
      }
      const t = line.t as string;
      if (t === 'issue') {
        const l = line as { n: number; ts: number; op: string; brids?: number[]; target?: number; name?: string; value?: unknown; takeover?: boolean };
        this.calls.set(l.n, {
          proc: this.proc,
          n: l.n,
          masterid: this.masterid,
          op: l.op,
          brids: l.brids,
          target: l.target,
          name: l.name,
          value: l.value,
          takeover: l.takeover,
          issued: l.ts,
          answered: Infinity,
          outcome: 'none',
        });
      } else if (t === 'ack' || t === 'nack') {
        const call = this.calls.get(line.n as number);
        if (call !== undefined) {
          call.answered = line.ts as number;
          call.outcome = t;
          call.result = line.value;
          call.error = line.error as string | undefined;
          call.code = line.code as string | null | undefined;
          call.message = line.message as string | undefined;
          this.answered++;
        }
      } else if (t === 'ready') {
        this.masterid = line.masterid as number;
        this.objectid = line.objectid as number;
        this.cs = line.cs as number;
      } else if (t === 'commit-kill') {
        this.commitKill = true;
        this.diedAt = line.ts as number;
        if (typeof line.writer === 'string' && typeof line.attempt === 'string') this.commitMark = { writer: line.writer, attempt: line.attempt };
      }
      this.seen.set(t, line);
      this.waiters = this.waiters.filter((w) => {
        if (w.t !== t) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  get alive(): boolean {
    return !this.dead;
  }

  waitFor(t: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const seen = this.seen.get(t);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.name} (process ${this.proc}): no "${t}" within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      void this.exited.then(() =>
        setTimeout(() => {
          clearTimeout(timer);
          reject(new Error(`worker ${this.name} (process ${this.proc}) exited before "${t}"; stderr: ${this.stderr}`));
        }, 100),
      );
      this.waiters.push({
        t,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  forget(t: string): void {
    this.seen.delete(t);
  }

  send(message: object): void {
    if (!this.dead) this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** Died without being killed by the run (and not by its armed COMMIT kill): it crashed. */
  get crashed(): boolean {
    return this.dead && !this.killedByRun && !this.commitKill;
  }

  killedByRun = false;
  /** Whether its crash has been reported. */
  reported = false;

  async kill(): Promise<void> {
    if (!this.dead) {
      this.killedByRun = true;
      this.diedAt = Math.min(this.diedAt, now());
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

export async function torturePostgres(options: PgTortureOptions): Promise<PgTortureResult> {
  let seed = options.seed ?? Date.now() % 1_000_000;
  const random = () => (seed = (seed * 48271) % 2147483647 || 1) / 2147483647;
  const given = schemaOf(options.location);
  const schema = given === undefined ? `bc_torture_${randomBytes(5).toString('hex')}` : schemaName(options.location);
  const url = withSchema(options.location, schema);
  await prepareSchema(options.location, schema, given === undefined);

  const result: PgTortureResult = {
    cycles: 0,
    acknowledged: 0,
    violations: [],
    commitWindowKills: 0,
    interruptedCommitsLanded: 0,
    interruptedCommitsLost: 0,
    randomKills: 0,
    unansweredAtDeath: 0,
    landedUnanswered: 0,
    takenOver: 0,
    storageErrors: 0,
    schema,
  };
  const all: Worker[] = [];
  let procs = 0;
  const start = async (name: string): Promise<Worker> => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, name, String(Math.floor(random() * 1e9))], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TORTURE_ACK_EARLY: options.ackEarly ? '1' : '0' },
    });
    const worker = new Worker(++procs, name, child);
    all.push(worker);
    await worker.waitFor('ready', 60_000);
    return worker;
  };

  const count = options.workers ?? 3;
  const workers: Worker[] = [];
  /** Processes that died on their own (a crash of the library is a failure of the run too). */
  const crashes: string[] = [];
  const reportCrashes = () => {
    for (const w of all) {
      if (!w.crashed || w.reported) continue;
      w.reported = true;
      crashes.push(`process ${w.proc} (master ${w.name}) died on its own: ${w.stderr.trim().split('\n').slice(0, 12).join(' | ')}`);
    }
  };
  /** Starts a process for a master name; one that crashes while starting is reported and started again (three tries). */
  const startReplacing = async (name: string): Promise<Worker> => {
    for (let tries = 1; ; tries++) {
      try {
        return await start(name);
      } catch (error) {
        reportCrashes();
        if (tries >= 3) throw error;
      }
    }
  };
  try {
    for (let i = 0; i < count; i++) workers.push(await startReplacing(`torture-m${i}`));
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      await sleep(200 + random() * 1000);
      reportCrashes();
      for (let i = 0; i < workers.length; i++) if (!workers[i]!.alive) workers[i] = await startReplacing(workers[i]!.name);
      const v = Math.floor(random() * workers.length);
      const victim = workers[v]!;
      if (cycle % 2 === 0) {
        victim.send({ t: 'arm', commits: 1 + Math.floor(random() * 4) });
        await Promise.race([victim.exited, sleep(10_000)]);
      }
      await victim.kill();
      if (victim.commitKill) result.commitWindowKills++;
      else result.randomKills++;
      const dead = [...victim.calls.values()].filter((c) => c.outcome === 'none');
      result.unansweredAtDeath += dead.length;

      const survivors = workers.filter((w) => w !== victim && w.alive);
      const survivor = survivors[Math.floor(random() * survivors.length)];
      if (survivor !== undefined) {
        survivor.forget('takeover-done');
        survivor.send({ t: 'takeover', masterid: victim.masterid });
        await survivor.waitFor('takeover-done', 60_000).catch(() => reportCrashes());
      }
      workers[v] = await startReplacing(victim.name);
      result.cycles = cycle;
      result.acknowledged = all.reduce((sum, w) => sum + w.answered, 0);
      options.onCycle?.(cycle, result.acknowledged, victim.commitKill ? 'killed between COMMIT and its answer' : 'killed at a random moment');
    }
    await sleep(300);
  } finally {
    reportCrashes();
    await Promise.all(all.map((w) => w.kill()));
  }

  const calls = all.flatMap((w) => [...w.calls.values()]);
  result.acknowledged = calls.filter((c) => c.outcome !== 'none').length;
  result.takenOver = calls.filter((c) => c.takeover && c.outcome === 'ack').length;
  result.storageErrors = calls.filter((c) => c.code === 'STORAGE_ERROR').length;
  const marks = all.flatMap((w) => (w.commitMark === null ? [] : [w.commitMark]));
  if (marks.length > 0) {
    const landed = await withAdmin(options.location, async (client) => {
      const { rows } = await client.query<{ writer: string; last: string }>(`SELECT writer::text AS writer, last_commit::text AS last FROM ${quoteIdent(schema)}.bc_writers`);
      const last = new Map(rows.map((r) => [r.writer, BigInt(r.last)]));
      return marks.filter((m) => (last.get(m.writer) ?? -1n) >= BigInt(m.attempt)).length;
    });
    result.interruptedCommitsLanded = landed;
    result.interruptedCommitsLost = marks.length - landed;
  }
  const { violations, landedUnanswered } = await check(url, calls, all);
  result.violations = [...crashes, ...violations];
  result.landedUnanswered = landedUnanswered;
  if (given === undefined && !options.keep && (violations.length === 0 || options.ackEarly)) {
    await dropSchema(options.location, schema).catch((error: unknown) => process.stderr.write(`could not drop schema ${schema}: ${(error as Error).message}\n`));
  }
  return result;
}

async function withAdmin<T>(location: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(pgConfig(withoutSchema(location)));
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Makes the schema, or checks that the one given holds no store rows yet (the checks read the whole history). */
async function prepareSchema(location: string, schema: string, fresh: boolean): Promise<void> {
  await withAdmin(location, async (client) => {
    if (fresh) {
      await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
      return;
    }
    const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${quoteIdent(schema)}.bc_kv`]);
    if (rows[0]?.t == null) return;
    const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.bc_kv`);
    if (counted[0]!.n !== '0') throw new Error(`schema ${schema} of ${maskLocation(location)} already holds a store; give an empty schema, or none for a fresh one`);
  });
}

async function dropSchema(location: string, schema: string): Promise<void> {
  await withAdmin(location, (client) => client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`));
}

/** May this call have changed the store? (A refusal did not; StorageError may have.) */
const mayHaveActed = (c: Call) => c.outcome !== 'nack' || c.code === 'STORAGE_ERROR';

async function check(url: string, calls: readonly Call[], workers: readonly Worker[]): Promise<{ violations: string[]; landedUnanswered: number }> {
  const violations: string[] = [];
  const label = (c: Call) => `process ${c.proc} (master ${c.masterid}) call ${c.n} ${c.op}${c.brids ? ` ${JSON.stringify(c.brids)}` : ''}${c.target ? ` of ${c.target}` : ''}`;
  const { requests, buildsets, states, sources, masters, report } = await inspect(url, async (store) => ({
    requests: await store.requests(),
    buildsets: await store.buildsetIds(),
    states: await store.states(),
    sources: await store.changeSources(),
    masters: await store.masters(),
    report: await store.verify(),
  }));
  for (const p of report.problems) violations.push(`verify: ${p.key}: ${p.problem}`);

  for (const c of calls) {
    if (c.outcome === 'nack' && !REFUSALS.has(c.code ?? '')) violations.push(`${label(c)}: answered ${c.error} (${c.code}): ${c.message}`);
  }

  const acked = calls.filter((c) => c.outcome === 'ack');
  const objectid = workers[0]!.objectid;
  // Acknowledged writes are there.
  for (const c of acked) {
    if (c.op === 'addBuildset') {
      const [bsid, brids] = c.result as [number, Record<string, number>];
      if (!buildsets.has(bsid)) violations.push(`${label(c)}: buildset ${bsid} lost`);
      for (const brid of Object.values(brids)) if (requests.get(brid)?.buildsetid !== bsid) violations.push(`${label(c)}: build request ${brid} lost`);
    } else if (c.op === 'complete') {
      for (const brid of c.brids!) if (!requests.get(brid)?.complete) violations.push(`${label(c)}: completion of ${brid} lost`);
    } else if (c.op === 'setState') {
      const found = states.get(`${objectid}/${c.name}`);
      const later = calls.filter((o) => o !== c && o.op === 'setState' && o.name === c.name && mayHaveActed(o) && o.answered > c.issued).map((o) => JSON.stringify(o.value));
      if (found === undefined || (found !== JSON.stringify(c.value) && !later.includes(found))) {
        violations.push(`${label(c)}: state ${c.name} is ${found}, not the acknowledged ${JSON.stringify(c.value)} or a later one`);
      }
    }
  }

  // What may release master m's claim on brid: its unclaim, any expiry, m's deactivation.
  const expiries = calls.filter((c) => c.op === 'expire' && mayHaveActed(c));
  const deactivations = calls.filter((c) => c.op === 'deactivate' && mayHaveActed(c));
  const unclaims = new Map<string, Call[]>();
  for (const c of calls) {
    if (c.op !== 'unclaim' || !mayHaveActed(c)) continue;
    for (const brid of c.brids!) unclaims.set(`${c.masterid}/${brid}`, [...(unclaims.get(`${c.masterid}/${brid}`) ?? []), c]);
  }
  const releasesOf = (m: number, brid: number) => [...expiries, ...deactivations.filter((c) => c.target === m), ...(unclaims.get(`${m}/${brid}`) ?? [])];
  /** A release of `first`'s claim that may have come after it and before `second` took effect. */
  const releasedBetween = (first: Call, second: Call, brid: number) => releasesOf(first.masterid, brid).some((r) => r.issued < second.answered && r.answered > first.issued);

  const claims = calls.filter((c) => c.op === 'claim');
  const claimsOf = new Map<number, Call[]>();
  for (const c of claims) for (const brid of c.brids!) claimsOf.set(brid, [...(claimsOf.get(brid) ?? []), c]);

  for (const [brid, list] of claimsOf) {
    const state = requests.get(brid);
    const won = list.filter((c) => c.outcome === 'ack');
    // An acknowledged claim holds unless a release may have followed it.
    for (const c of won) {
      const released = releasesOf(c.masterid, brid).some((r) => r.answered > c.issued);
      if (!released && state?.claimedBy !== c.masterid) violations.push(`${label(c)}: claim of ${brid} lost (held by ${state?.claimedBy ?? 'nobody'})`);
    }
    // No double claim.
    for (let i = 0; i < won.length; i++) {
      for (let j = i + 1; j < won.length; j++) {
        const [a, b] = [won[i]!, won[j]!];
        const aFirst = a.issued < b.answered && releasedBetween(a, b, brid);
        const bFirst = b.issued < a.answered && releasedBetween(b, a, brid);
        if (!aFirst && !bFirst) violations.push(`request ${brid} claimed twice: ${label(a)} and ${label(b)}, with no release between`);
      }
    }
  }
  for (const [brid, state] of requests) {
    if (state.claimedBy === null) continue;
    const holder = state.claimedBy;
    const own = (claimsOf.get(brid) ?? []).filter((c) => c.masterid === holder && mayHaveActed(c));
    if (own.length === 0) {
      violations.push(`request ${brid} is claimed by master ${holder}, which never claimed it`);
      continue;
    }
    if (state.complete) continue; // deactivation leaves complete requests' claims, as 0.8.8 does
    const lastOff = deactivations.filter((d) => d.target === holder && d.outcome === 'ack').reduce((latest, d) => Math.max(latest, d.issued), -Infinity);
    if (!own.some((c) => c.answered > lastOff)) violations.push(`request ${brid}: master ${holder}'s claim from before its deactivation survived it`);
  }

  // The change source: never two active owners.
  const wins = calls.filter((c) => c.op === 'setChangeSourceMaster' && c.outcome === 'ack');
  const offBetween = (first: Call, second: Call) => deactivations.some((d) => d.target === first.masterid && d.issued < second.answered && d.answered > first.issued);
  for (let i = 0; i < wins.length; i++) {
    for (let j = i + 1; j < wins.length; j++) {
      const [a, b] = [wins[i]!, wins[j]!];
      if (!(a.issued < b.answered && offBetween(a, b)) && !(b.issued < a.answered && offBetween(b, a))) {
        violations.push(`change source taken twice with its owner active: ${label(a)} and ${label(b)}`);
      }
    }
  }
  const cs = sources.find((s) => s.id === workers[0]!.cs);
  if (cs?.masterid != null) {
    const owner = cs.masterid;
    if (!masters.find((m) => m.id === owner)?.active) violations.push(`change source owned by inactive master ${owner}`);
    if (!calls.some((c) => c.op === 'setChangeSourceMaster' && c.masterid === owner && mayHaveActed(c)))
      violations.push(`change source owned by master ${owner}, which never took it`);
  }

  // Killed processes' last calls: those whose commit landed though never answered (setState values are unique).
  const found = new Set(states.values());
  const landedUnanswered = calls.filter((c) => c.op === 'setState' && c.outcome === 'none' && found.has(JSON.stringify(c.value))).length;
  return { violations, landedUnanswered };
}
