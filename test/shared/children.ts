/**
 * The parent's side of the race children (test/shared/child.ts): start them,
 * give each a batch of ops, release every batch at once (a barrier: each
 * child has parsed its batch and said "armed" before any is told "go"),
 * and collect what each issued and was answered.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Op } from './child.ts';

export type { Op } from './child.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.ts');

export interface Line {
  t: string;
  n?: number;
  id?: number;
  ts?: number;
  value?: unknown;
  error?: string;
  code?: string | null;
  message?: string;
  [key: string]: unknown;
}

/** One op as it went: who ran it, when it was issued and answered (child clocks, ms), and the answer. */
export interface Outcome {
  op: Op;
  child: number;
  issued: number;
  /** Infinity when never answered (the child died first). */
  answered: number;
  ok: boolean | null;
  value?: unknown;
  error?: string;
  code?: string | null;
  message?: string;
}

export class Child {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  private waiters: { test: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  private dead = false;

  private constructor(
    readonly index: number,
    private readonly process: ChildProcess,
  ) {
    process.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        this.dead = true;
        resolve({ code, signal });
      }),
    );
    void (async () => {
      for await (const text of createInterface({ input: process.stdout! })) {
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          continue; // cut off by a kill
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    })();
  }

  static async start(url: string, index: number, env: Record<string, string> = {}): Promise<Child> {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, url], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const child = new Child(index, proc);
    await child.waitFor((l) => l.t === 'ready', 60_000, 'ready');
    return child;
  }

  get pid(): number {
    return this.process.pid!;
  }

  get alive(): boolean {
    return !this.dead;
  }

  send(message: object): void {
    this.process.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** The first line (already seen or to come) that passes `test`. */
  waitFor(test: (line: Line) => boolean, timeoutMs: number, what: string): Promise<Line> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child ${this.index}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      const onExit = () => reject(new Error(`child ${this.index} exited while waiting for ${what}; stderr: ${this.stderr.slice(-2000)}`));
      if (this.dead) return onExit();
      void this.exited.then(() => setTimeout(onExit, 50)); // lines already piped still arrive first
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<unknown> {
    if (!this.dead) this.process.kill(signal);
    return this.exited;
  }

  async exit(): Promise<void> {
    if (this.dead) return;
    this.send({ t: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Outcomes of ops with these numbers, from this child's lines. */
  outcomes(ops: readonly Op[]): Outcome[] {
    const issued = new Map<number, Line>();
    const answered = new Map<number, Line>();
    for (const line of this.lines) {
      if (line.t === 'issue') issued.set(line.n!, line);
      else if (line.t === 'ack' || line.t === 'nack') answered.set(line.n!, line);
    }
    return ops
      .filter((op) => issued.has(op.n))
      .map((op) => {
        const a = answered.get(op.n);
        return {
          op,
          child: this.index,
          issued: issued.get(op.n)!.ts!,
          answered: a?.ts ?? Infinity,
          ok: a === undefined ? null : a.t === 'ack',
          value: a?.value,
          error: a?.error,
          code: a?.code,
          message: a?.message,
        };
      });
  }
}

let batchIds = 0;
let opNumbers = 0;

/** An op with a fresh number. */
export function op(call: string, args: unknown[] = [], more: { master?: string; lane?: number } = {}): Op {
  return { n: ++opNumbers, call, args: args.map(toWire), ...more };
}

/** A Date as the child reads it. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  return value;
}

/** Reads `{ $date }` back into Dates. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (typeof o.$date === 'number' && Object.keys(o).length === 1) return new Date(o.$date);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

/**
 * Gives child i the ops `batches[i]`, waits until every child holds its batch,
 * releases all at once, and resolves to every op's outcome when all are answered.
 */
export async function round(children: readonly Child[], batches: readonly (readonly Op[])[], timeoutMs = 60_000): Promise<Outcome[]> {
  const id = ++batchIds;
  const taking = children.map((child, i) => (batches[i]?.length ? child : null));
  for (const [i, child] of taking.entries()) child?.send({ t: 'batch', id, ops: batches[i] });
  await Promise.all(taking.map((child) => child?.waitFor((l) => l.t === 'armed' && l.id === id, timeoutMs, `armed ${id}`)));
  for (const child of taking) child?.send({ t: 'go', id });
  await Promise.all(taking.map((child) => child?.waitFor((l) => l.t === 'done' && l.id === id, timeoutMs, `done ${id}`)));
  return taking.flatMap((child, i) => (child === null ? [] : child.outcomes(batches[i]!)));
}

/** The one outcome of each op, by op number. */
export const byNumber = (outcomes: readonly Outcome[]): Map<number, Outcome> => new Map(outcomes.map((o) => [o.op.n, o]));

/** Shuffles a copy with Math.random. */
export function shuffled<T>(list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
