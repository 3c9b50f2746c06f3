import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_HOST, allowedHosts, urlHost } from './hosts.ts';

export interface InspectorServerOptions {
  /**
   * The address to listen on: 127.0.0.1 (the default, this machine only), an
   * address of one interface, a host name, or 0.0.0.0 / :: for every interface.
   */
  host?: string;
  /** TCP port (default 8080); 0 takes a free one, see `InspectorServer.port`. */
  port?: number;
}

export interface InspectorServer {
  /** The page to open: Stately's inspector UI (from stately.ai), fed by this server. `http://127.0.0.1:<port>/` by default. */
  readonly url: string;
  /** Where to report: `createWebSocketInspector({ url: server.wsUrl })`. `ws://127.0.0.1:<port>` by default. */
  readonly wsUrl: string;
  readonly port: number;
  /** The address it listens on, as the socket tells it: `127.0.0.1` unless told otherwise. */
  readonly host: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** Messages a page that connects late is sent first (as @statelyai/inspect's server keeps). */
const KEEP = 200;

/**
 * The bridge page of @statelyai/inspect's server: Stately's inspector UI in a
 * frame, and the events this server relays passed on to it once it is ready.
 * It connects back to the address it was loaded from, whatever that is.
 */
const BRIDGE_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Stately inspector: buildcoord</title>
  <style>
    html, body { height: 100%; margin: 0; }
    iframe { display: block; width: 100%; height: 100%; border: none; }
  </style>
</head>
<body>
  <iframe id="inspector" src="https://stately.ai/inspect"></iframe>
  <script>
    const frame = document.getElementById('inspector');
    const waiting = [];
    let ready = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        ready = true;
        for (const event of waiting.splice(0)) frame.contentWindow.postMessage(event, '*');
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (e) => {
      const event = JSON.parse(e.data);
      if (ready) frame.contentWindow.postMessage(event, '*');
      else waiting.push(event);
    };
  </script>
</body>
</html>`;

function text(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}

/**
 * A local server for the Stately inspector, as `createInspectorServer` from
 * `@statelyai/inspect/server` is (a page that frames stately.ai's inspector,
 * and a WebSocket relay between the reporting process and that page), but
 * listening on 127.0.0.1 unless told otherwise: that one takes a port only
 * and listens on every interface. Like the live view, it answers only to
 * the names of the address it listens on (no DNS rebinding), and takes
 * WebSocket connections only from its own page or from clients that send no
 * Origin (Node's).
 *
 * @example
 * const server = await startInspectorServer({ port: 8080 });
 * const inspector = createWebSocketInspector({ url: server.wsUrl }); // from '@statelyai/inspect'
 * const coordinator = await openCoordinator({ location: 'state', inspect: inspector.inspect });
 * console.log(`Stately inspector: ${server.url}`);
 * // ...
 * await coordinator.close();
 * inspector.stop();
 * await server.close();
 */
export async function startInspectorServer(options: InspectorServerOptions = {}): Promise<InspectorServer> {
  const host = options.host ?? DEFAULT_HOST;
  let allowed = new Set<string>();
  const http = createServer((req, res) => {
    if (!allowed.has((req.headers.host ?? '').toLowerCase())) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(BRIDGE_PAGE);
  });
  // Listen first: a failure (a port in use, an address not on this machine) rejects here and leaves nothing open.
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8080, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  allowed = allowedHosts(host, address.port);
  const origins = new Set([...allowed].map((h) => `http://${h}`));

  const wss = new WebSocketServer({
    server: http,
    verifyClient: ({ origin, req }, done) => {
      const hostOk = allowed.has((req.headers.host ?? '').toLowerCase());
      const originOk = origin === undefined || origins.has(origin.toLowerCase());
      done(hostOk && originOk, 403, 'forbidden');
    },
  });
  const recent: string[] = [];
  wss.on('connection', (socket) => {
    socket.on('error', () => {}); // a broken frame: ws closes the socket itself
    for (const message of recent) socket.send(message);
    socket.on('message', (data) => {
      const message = text(data);
      recent.push(message);
      if (recent.length > KEEP) recent.shift();
      for (const client of wss.clients) if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });

  let closing: Promise<void> | null = null;
  const where = `${urlHost(host)}:${address.port}`;
  return {
    url: `http://${where}/`,
    wsUrl: `ws://${where}`,
    port: address.port,
    host: address.address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
