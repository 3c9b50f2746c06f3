/** A CPU profile of part of a run, taken with the inspector in the process itself. */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Starts profiling now; the function returned stops and writes the profile to `file` (a no-op when `file` is null). */
export async function profiler(file: string | null): Promise<() => Promise<void>> {
  if (file === null) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
