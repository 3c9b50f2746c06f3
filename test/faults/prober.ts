import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProbeCase, ProbeResult } from './probe.ts';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'probe.ts');

/** What a case came to: the probe's answer, or the way its process died. */
export type CaseResult = ProbeResult | { outcome: 'crashed'; signal: string | null; code: number | null; stderr: string };

/**
 * Runs cases in one long-lived child process (probe.ts), one at a time. If
 * the child dies mid-case (an abort, a segfault), that case comes back
 * `crashed` and the next case starts a fresh child.
 */
export class Prober {
  private child: ChildProcessWithoutNullStreams | null = null;
  private lines: Interface | null = null;
  private stderr = '';

  async run(probe: ProbeCase): Promise<CaseResult> {
    const child = this.start();
    let onExit: (code: number | null, signal: string | null) => void = () => {};
    const exited = new Promise<CaseResult>((resolve) => {
      onExit = (code, signal) => {
        this.child = null;
        resolve({ outcome: 'crashed', signal, code, stderr: this.stderr.slice(-2000) });
      };
      child.once('exit', onExit);
    });
    const answered = new Promise<CaseResult>((resolve) => this.lines!.once('line', (line) => resolve(JSON.parse(line) as ProbeResult)));
    child.stdin.write(`${JSON.stringify(probe)}\n`);
    const result = await Promise.race([answered, exited]);
    child.off('exit', onExit);
    return result;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    await exited;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child !== null) return this.child;
    const child = spawn(process.execPath, ['--import', 'tsx', PROBE], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    child.stderr.on('data', (chunk) => (this.stderr += chunk));
    this.lines = createInterface({ input: child.stdout });
    this.child = child;
    return child;
  }
}

/** Every file of a directory by name, with a hash of its bytes: to show a store was left exactly as it was. */
export function fingerprint(directory: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(directory).sort()) {
    out[name] = createHash('sha256')
      .update(readFileSync(join(directory, name)))
      .digest('hex');
  }
  return out;
}
