import type { Command } from 'commander';
import { startLiveView } from '../view/server.ts';
import { parsePort } from './args.ts';
import { CliError, EXIT } from './exit.ts';
import { openReadOnly } from './store.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the live view of a store on 127.0.0.1 until interrupted')
    .argument('<dir>', 'the store directory (LevelDB)')
    .option('-p, --port <n>', 'TCP port on 127.0.0.1 (0: any free port)', parsePort, 8010)
    .addHelpText('after', `
Opens DIR read-only and serves a page (no internet needed) with its masters,
build requests by state and builder, and change sources. A LevelDB directory
is open in one process at a time: stop the master (or demo) using DIR first.
To watch a running farm live, host the view in the master's own process with
startLiveView() from 'buildcoord/view', or run "buildcoord demo".
Stop with Ctrl-C.`)
    .action(async (dir: string, options: { port: number }) => {
      const store = await openReadOnly(dir);
      try {
        const view = await startLiveView(store.connector(), { port: options.port, title: `buildcoord: ${dir}` }).catch((error: unknown) => {
          throw listenError(options.port, error);
        });
        process.stdout.write(`live view of ${dir}: ${view.url}\n(Ctrl-C to stop)\n`);
        await untilInterrupted();
        await view.close();
      } finally {
        await store.close();
      }
    });
}

/** The command line's reading of a failure to listen. */
export function listenError(port: number, error: unknown): unknown {
  if ((error as { code?: string }).code === 'EADDRINUSE') return new CliError(`port ${port} on 127.0.0.1 is in use; give another with --port (0: any free port)`, EXIT.usage, { cause: error });
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
