import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEStreamingApi } from 'hono/streaming';
import type { Connector } from '../connector/connector.ts';
import { maskLocation } from '../persistence/stores.ts';
import type { LiveFeed, Transition } from './feed.ts';
import { DEFAULT_HOST, allowedHosts, urlHost } from './hosts.ts';
import { renderPage } from './page.ts';
import { readSummary } from './summary.ts';
import type { Summary } from './summary.ts';

export interface LiveViewOptions {
  /**
   * The address to listen on: 127.0.0.1 (the default, this machine only), an
   * address of one interface, a host name, or 0.0.0.0 / :: for every
   * interface. Anyone who can reach that address can read the view.
   */
  host?: string;
  /** TCP port; 0 (the default) takes a free one, see `LiveView.url`. */
  port?: number;
  /** The transitions to stream; without one the page shows the counts only. */
  feed?: LiveFeed;
  /** The clock the page measures "last active" against; give the coordinator's own when it is injected. */
  now?: () => Date;
  /** Shown as the page's title. */
  title?: string;
  /** While a page is open, how often the counts are read again when no actor moves (default 2000 ms). */
  idleRefreshMs?: number;
  /**
   * How a reading of the counts runs `read`: by default on `db` as it is.
   * On a shared store, give one that runs it on one snapshot, so that
   * masters writing meanwhile never make the counts disagree.
   */
  reads?: (read: (db: Connector) => Promise<Summary>) => Promise<Summary>;
}

export interface LiveView {
  /** `http://127.0.0.1:<port>/`, or the host it was given (a wildcard host gives 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  /** The address it listens on, as the socket tells it: `127.0.0.1` unless told otherwise, `0.0.0.0` or `::` for every interface. */
  readonly host: string;
  /** Reads the counts now and pushes them to every open page. */
  refresh(): Promise<Summary>;
  /** Ends every page's stream and stops listening. */
  close(): Promise<void>;
}

/** The shortest gap between two readings of the counts; a slow store widens it (4x the last reading's time). */
const MIN_GAP_MS = 250;
/** Events a slow page may have waiting before it is dropped (it reconnects and starts over). */
const MAX_BACKLOG = 1_000;

interface Client {
  stream: SSEStreamingApi;
  backlog: number;
  end: () => void;
}

/**
 * Serves the live view of a coordinator on 127.0.0.1 (or `options.host`): masters, build
 * requests by state and builder, change sources and their owners, and the
 * feed's transitions as they happen, pushed to the page with server-sent
 * events. The page is one self-contained HTML document (no CDN), so it
 * works offline.
 *
 * The counts are read from the store, so on a shared (PostgreSQL) store
 * they cover every process's masters; for the transitions to do as well,
 * give a feed that reads the store (`openStoreFeed(url)`), since a
 * `createLiveFeed` sees only this process's actors. Nothing it shows or
 * answers carries a store URL's password.
 *
 * @example
 * const feed = createLiveFeed();
 * const coordinator = await openCoordinator({ location: 'state', inspect: feed.inspect });
 * const db = await coordinator.connect('master-1');
 * const view = await startLiveView(db, { feed, port: 8010 });
 * console.log(`live view: ${view.url}`);
 * // ...
 * await view.close();
 * await coordinator.close();
 */
export async function startLiveView(db: Connector, options: LiveViewOptions = {}): Promise<LiveView> {
  const now = options.now ?? (() => new Date());
  const feed = options.feed;
  const reads = options.reads ?? ((read) => read(db));
  const idleRefreshMs = options.idleRefreshMs ?? 2_000;
  const page = renderPage(maskLocation(options.title ?? 'buildcoord live view'));
  const host = options.host ?? DEFAULT_HOST;
  const clients = new Set<Client>();
  let latest: Summary | null = null;
  let closed = false;
  let port = 0;
  let allowed = new Set<string>();

  // --- readings of the counts: at most one at a time, throttled, only while someone watches ---
  let dirty = false;
  let reading: Promise<Summary> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let lastEnd = -Infinity;
  let lastTook = 0;

  function read(): Promise<Summary> {
    if (reading) return reading;
    dirty = false;
    const started = performance.now(); // pacing of our own reads, not a domain time
    reading = reads((connector) => readSummary(connector, now))
      .then((summary) => {
        latest = summary;
        broadcast('summary', summary);
        return summary;
      })
      .catch((error: unknown) => {
        // A store's message may name its location: never with a password.
        broadcast('problem', { message: maskLocation(error instanceof Error ? error.message : String(error)) });
        throw error;
      })
      .finally(() => {
        lastTook = performance.now() - started;
        lastEnd = performance.now();
        reading = null;
        if (dirty) schedule();
      });
    return reading;
  }

  function schedule(): void {
    dirty = true;
    if (timer !== undefined || reading !== null || clients.size === 0 || closed) return;
    const wait = Math.max(0, lastEnd + Math.max(MIN_GAP_MS, 4 * lastTook) - performance.now());
    timer = setTimeout(() => {
      timer = undefined;
      read().catch(() => {}); // told to the pages as a 'problem' event
    }, wait);
  }

  const idle = setInterval(() => {
    if (clients.size > 0) schedule();
  }, idleRefreshMs);
  idle.unref();

  const unsubscribe = feed?.subscribe((transition: Transition) => {
    broadcast('transition', transition);
    schedule();
  });

  function broadcast(event: string, data: unknown): void {
    const message = { event, data: JSON.stringify(data) };
    for (const client of clients) {
      if (client.backlog >= MAX_BACKLOG) {
        client.end();
        continue;
      }
      client.backlog++;
      client.stream.writeSSE(message).then(
        () => void client.backlog--,
        () => client.end(),
      );
    }
  }

  // --- routes ---
  const app = new Hono();
  // Only pages loaded from this address: a DNS-rebinding page under another name gets nothing.
  app.use('*', async (c, next) => {
    if (!allowed.has((c.req.header('host') ?? '').toLowerCase())) return c.text('forbidden host', 403);
    await next();
  });
  // A failed reading is told to the page, never logged; a store's message may name its location, never with a password.
  app.onError((error, c) => c.json({ error: maskLocation(error instanceof Error ? error.message : String(error)) }, 500));
  app.get('/', (c) => c.html(page));
  app.get('/api/summary', async (c) => c.json(await read()));
  app.get('/api/transitions', (c) => c.json(feed?.recent() ?? []));
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      if (closed) return;
      await new Promise<void>((resolve) => {
        const client: Client = {
          stream,
          backlog: 0,
          end: () => {
            clients.delete(client);
            resolve();
          },
        };
        stream.onAbort(client.end);
        clients.add(client);
        client.backlog++;
        stream.writeSSE({ event: 'transitions', data: JSON.stringify(feed?.recent() ?? []) }).then(() => void client.backlog--, client.end);
        if (latest) {
          client.backlog++;
          stream.writeSSE({ event: 'summary', data: JSON.stringify(latest) }).then(() => void client.backlog--, client.end);
        }
        schedule();
      });
    }),
  );

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host, overrideGlobalObjects: false }, () => resolve(s as Server));
    s.once('error', reject);
  }).catch((error: unknown) => {
    // Nothing listens (a port in use, an address not on this machine): leave nothing behind either.
    closed = true;
    clearInterval(idle);
    unsubscribe?.();
    throw error;
  });
  const address = server.address() as AddressInfo;
  port = address.port;
  allowed = allowedHosts(host, port);

  return {
    url: `http://${urlHost(host)}:${port}/`,
    port,
    host: address.address,
    refresh: () => read(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(idle);
      clearTimeout(timer);
      unsubscribe?.();
      for (const client of [...clients]) {
        client.end();
        await client.stream.close().catch(() => {});
      }
      await reading?.catch(() => {});
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
