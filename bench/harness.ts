/**
 * The parent side: every sample in a fresh worker process on a fresh store
 * (for scale, a copy of a seed made once per size), samples interleaved (each
 * configuration once, then again) so a burst of load from elsewhere on the
 * machine hits one sample of many configurations, not every sample of one.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from './plan.ts';
import type { Reply, Sample, Task } from './worker.ts';
import { tempRoot } from './workload.ts';

const WORKER = new URL('./worker.ts', import.meta.url);

export interface HarnessOptions {
  masters: number;
  builders: number;
  samples: number;
  /** Where CPU profiles of the timed phases go, if profiling. */
  profileDir: string | null;
  /** The URL of the build's api.js that workers import. */
  api: string;
}

/** A status line: rewritten in place on a terminal, one line per step elsewhere (CI logs). */
export class Progress {
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY === true;
  private shown = false;

  elapsed(): string {
    const s = Math.round((performance.now() - this.started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  /** `transient` lines (progress within a step) are shown only on a terminal. */
  update(text: string, transient = false): void {
    const line = `bench ${this.elapsed()}  ${text}`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      this.shown = true;
    } else if (!transient) {
      process.stderr.write(`${line}\n`);
    }
  }

  clear(): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

export class Harness {
  readonly root = tempRoot();
  private readonly seeds = new Map<string, Promise<string>>();
  private runs = 0;
  private current: ChildProcess | null = null;

  constructor(
    private readonly options: HarnessOptions,
    private readonly progress: Progress,
  ) {}

  /** Runs every job `samples` times; resolves to each job's samples, in job order. */
  async run(jobs: readonly Job[]): Promise<Sample[][]> {
    const results: Sample[][] = jobs.map(() => []);
    const total = jobs.length * this.options.samples;
    let done = 0;
    const perRun: number[] = [];
    for (let round = 0; round < this.options.samples; round++) {
      for (const [i, job] of jobs.entries()) {
        const started = performance.now();
        const left = perRun.length === 0 ? '' : `, ~${Math.ceil(((total - done) * median(perRun)) / 60_000)} min left`;
        const status = `[${done + 1}/${total}] ${job.key}, sample ${round + 1}/${this.options.samples}${left}`;
        const seedDir = await this.seed(job, status);
        this.progress.update(status);
        results[i]!.push(await this.sample(job, seedDir));
        perRun.push(performance.now() - started);
        done++;
      }
    }
    return results;
  }

  /** Stops the worker running now, if any, and removes every store this harness made. */
  cleanup(): void {
    this.current?.kill();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The seed a job starts from: a LevelDB store made by another process (scale only), or null. */
  private seed(job: Job, status: string): Promise<string | null> {
    if (job.group !== 'scale' || job.target === 'sqlite') return Promise.resolve(null);
    const key = String(job.storeSize);
    let made = this.seeds.get(key);
    if (made === undefined) {
      const dir = join(this.root, `seed-${key}`);
      mkdirSync(dir);
      const label = `${status}: seeding a store of ${job.storeSize.toLocaleString('en')} requests`;
      this.progress.update(label);
      made = this.call({ kind: 'seed', api: this.options.api, dir, requests: job.storeSize, builders: this.options.builders, masters: this.options.masters }, (reply) =>
        this.progress.update(`${label} (${Math.round((100 * reply.done) / reply.of)}%)`, true),
      ).then(() => dir);
      this.seeds.set(key, made);
    }
    return made;
  }

  private async sample(job: Job, seedDir: string | null): Promise<Sample> {
    const workDir = join(this.root, `run-${++this.runs}`);
    const profile = this.options.profileDir === null ? null : join(this.options.profileDir, `${this.runs}-${job.key.replace(/[^\w]+/g, '-')}.cpuprofile`);
    const sample = await this.call({ kind: 'sample', api: this.options.api, job, seedDir, workDir, masters: this.options.masters, builders: this.options.builders, profile });
    return sample!;
  }

  private call(task: Task, onProgress?: (reply: Extract<Reply, { kind: 'progress' }>) => void): Promise<Sample | null> {
    const execArgv = [...process.execArgv, '--expose-gc'];
    return new Promise((resolve, reject) => {
      const child = (this.current = fork(WORKER, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      let answer: Reply | null = null;
      child.on('message', (reply: Reply) => {
        if (reply.kind === 'progress') onProgress?.(reply);
        else answer = reply;
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        this.current = null;
        const reply = answer as Reply | null;
        if (reply?.kind === 'done' && code === 0) resolve(reply.result);
        else if (reply?.kind === 'failed') reject(new Error(`bench worker failed:\n${reply.error}`));
        else reject(new Error(`bench worker exited with ${signal ?? `code ${code}`} before answering`));
      });
      child.send(task);
    });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
