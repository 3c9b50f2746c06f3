import { createServer } from 'node:net';

/** A port nobody listens on now, for servers that take a port number and cannot report the one 0 gave them. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
