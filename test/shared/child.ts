/**
 * A race child: one coordinator in its own process on a shared PostgreSQL
 * store, driven by its parent over stdin, one JSON message a line.
 *
 *   node --import tsx test/shared/child.ts <url>
 *
 * In (stdin):
 *   {"t":"batch","id":B,"ops":[Op...]}   keep these ops; answers {"t":"armed","id":B}
 *   {"t":"go","id":B}                    run them: ops of one lane in order, lanes at once;
 *                                        answers {"t":"done","id":B} when all are answered
 *   {"t":"arm","commits":K}              SIGKILL self between sending the K-th writing COMMIT
 *                                        from now on and reading its answer (reliability/commitKill.ts)
 *   {"t":"exit"}                         close the coordinator and exit 0
 *
 * Op: {"n":N,"lane":L,"master":"name","call":"buildrequests.claimBuildRequests","args":[...]}
 *   `call` is a component method of the master's connector (connected on first use),
 *   or "connect" (args [name]: the masterid) or "sleep" (args [ms]).
 *   Dates travel as {"$date": ms} both ways.
 *
 * Out (stdout), with ts = this machine's clock in ms (fractional, comparable across processes):
 *   {"t":"ready","pid":P}
 *   {"t":"issue","n":N,"ts":...}  {"t":"ack","n":N,"ts":...,"value":...}
 *   {"t":"nack","n":N,"ts":...,"error":"AlreadyClaimedError","code":"ALREADY_CLAIMED","message":"..."}
 *   {"t":"commit-kill","flushed":true}   just before the armed SIGKILL
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { openCoordinator } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { armCommitKill } from '../../reliability/commitKill.ts';

export interface Op {
  n: number;
  lane?: number;
  master?: string;
  call: string;
  args?: unknown[];
}

const url = process.argv[2];
if (url === undefined) {
  process.stderr.write('usage: child.ts <url>\n');
  process.exit(2);
}

const now = () => performance.timeOrigin + performance.now();
const print = (line: object) => process.stdout.write(`${JSON.stringify(line, replacer)}\n`);

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Date) return { $date: original.getTime() };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.$date === 'number' && Object.keys(o).length === 1) return new Date(o.$date);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

const coordinator = await openCoordinator({ location: url, durability: 'sync' });
const masters = new Map<string, Promise<Connector>>();
const master = (name: string): Promise<Connector> => {
  let found = masters.get(name);
  if (found === undefined) masters.set(name, (found = coordinator.connect(name)));
  return found;
};

async function perform(op: Op): Promise<unknown> {
  const args = revive(op.args ?? []) as unknown[];
  if (op.call === 'sleep') return new Promise((resolve) => setTimeout(() => resolve(null), args[0] as number));
  if (op.call === 'connect') return (await master(args[0] as string)).masterid;
  if (op.master === undefined) throw new Error(`op ${op.n} (${op.call}) names no master`);
  const db = await master(op.master);
  const [component, method] = op.call.split('.') as [string, string];
  const target = (db as unknown as Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>>)[component];
  const fn = target?.[method];
  if (typeof fn !== 'function') throw new Error(`no such call ${op.call}`);
  return fn.apply(target, args);
}

async function run(op: Op): Promise<void> {
  print({ t: 'issue', n: op.n, ts: now() });
  try {
    const value = await perform(op);
    print({ t: 'ack', n: op.n, ts: now(), value: value ?? null });
  } catch (error) {
    const e = error as Error & { code?: unknown };
    print({ t: 'nack', n: op.n, ts: now(), error: e?.constructor?.name ?? typeof error, code: e?.code ?? null, message: String(e?.message ?? error) });
  }
}

const batches = new Map<number, Op[]>();

async function go(id: number): Promise<void> {
  const ops = batches.get(id) ?? [];
  batches.delete(id);
  const lanes = new Map<number, Op[]>();
  ops.forEach((op, i) => {
    const lane = op.lane ?? -1 - i; // no lane: an op of its own
    lanes.set(lane, [...(lanes.get(lane) ?? []), op]);
  });
  await Promise.all(
    [...lanes.values()].map(async (list) => {
      for (const op of list) await run(op);
    }),
  );
  print({ t: 'done', id });
}

print({ t: 'ready', pid: process.pid });

for await (const text of createInterface({ input: process.stdin })) {
  if (text.trim() === '') continue;
  const message = JSON.parse(text) as { t: string; id?: number; ops?: Op[]; commits?: number };
  if (message.t === 'batch') {
    batches.set(message.id!, message.ops ?? []);
    print({ t: 'armed', id: message.id });
  } else if (message.t === 'go') {
    void go(message.id!);
  } else if (message.t === 'arm') {
    armCommitKill(message.commits!, (kill) => print({ t: 'commit-kill', ...kill, ts: now() }));
    print({ t: 'armed-kill', commits: message.commits });
  } else if (message.t === 'exit') {
    break;
  }
}
await coordinator.close();
process.exit(0);
