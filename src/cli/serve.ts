import { createServer } from 'node:net';
import type { Command } from 'commander';
import { LOCATION_FORMS } from '../persistence/stores.ts';
import { DEFAULT_HOST, isWildcard } from '../view/hosts.ts';
import { startLiveView } from '../view/server.ts';
import { parseHost, parsePort } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { createStoreFeed } from '../view/storeFeed.ts';
import { openReadOnly, sharedStore } from './store.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the live view of a store (on 127.0.0.1 unless --host) until interrupted')
    .argument('<dir>', `the store: ${LOCATION_FORMS}`)
    .option('-p, --port <n>', 'TCP port (0: any free port)', parsePort, 8010)
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', parseHost, DEFAULT_HOST)
    .addHelpText(
      'after',
      `
Opens the store read-only and serves a page (no internet needed) with its
masters, build requests by state and builder, and change sources.
A PostgreSQL store is served while its masters run, in any processes on any
machines: the page shows the whole store, and its transitions are those every
master makes, found by reading the store each second. A URL's password is
never shown.
A LevelDB directory is open in one process at a time: stop the master (or
demo) using DIR first. To watch a running farm on LevelDB live, host the view
in the master's own process with startLiveView() from 'buildcoord/view', or
run "buildcoord demo".
It listens on 127.0.0.1, this machine only; --host 0.0.0.0 (or one
interface's address) lets anyone who can reach that address read the store.
Stop with Ctrl-C.`,
    )
    .action(async (dir: string, options: { port: number; host: string }) => {
      await checkHost(options.host);
      const store = await openReadOnly(dir);
      const shared = sharedStore(store);
      // On a shared store every process's steps reach the store: read them from there.
      const feed = shared ? createStoreFeed(shared, { intervalMs: STORE_POLL_MS }) : undefined;
      try {
        const view = await startLiveView(store.connector(), {
          host: options.host,
          port: options.port,
          title: `buildcoord: ${store.shown}`,
          ...(feed ? { feed, reads: (read) => store.read((connectors) => read(connectors())) } : {}),
        }).catch((error: unknown) => {
          throw listenError(error, { host: options.host, port: options.port });
        });
        const stopped = untilInterrupted(); // listening before saying so: a Ctrl-C right after the line ends it cleanly
        process.stdout.write(`live view of ${store.shown}: ${view.url}${listeningOn(options.host)}\n(Ctrl-C to stop)\n`);
        await stopped;
        await view.close();
      } finally {
        await feed?.close();
        await store.close();
      }
    });
}

/** How often `serve` reads a shared store for transitions. */
export const STORE_POLL_MS = 1_000;

/** After a URL on 127.0.0.1 that is not the only way in: says so. */
export function listeningOn(host: string): string {
  return isWildcard(host) ? ` (listening on ${host}: every interface)` : '';
}

/**
 * Fails with a usage error unless this machine can listen on `host`, tried
 * on a free port closed at once: before a command opens a store or starts
 * anything.
 */
export function checkHost(host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const probe = createServer().once('error', (error) => reject(listenError(error, { host, port: 0 })));
    probe.listen(0, host, () => probe.close(() => resolve()));
  });
}

/** The command line's reading of a failure to listen on `host` port `port` (`option` names the port's option). */
export function listenError(error: unknown, where: { host: string; port: number; option?: string }): unknown {
  const { host, port, option = '--port' } = where;
  const code = (error as { code?: string }).code;
  const usage = (message: string) => new CliError(message, EXIT.usage, { cause: error });
  switch (code) {
    case 'EADDRINUSE':
      return usage(`port ${port} on ${host} is in use; give another with ${option}${option === '--port' ? ' (0: any free port)' : ''}`);
    case 'EACCES':
      return usage(`not allowed to listen on port ${port} on ${host}; give another with ${option}`);
    case 'EADDRNOTAVAIL':
      return usage(`cannot listen on --host ${host}: not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return usage(`cannot listen on --host ${host}: no such host`);
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAFNOSUPPORT':
    case 'EINVAL':
      return usage(`cannot listen on --host ${host} (${code})`);
  }
  return error;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
