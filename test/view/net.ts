// Where a server listens, seen from outside it. Every connection goes to an
// address of this machine: loopback or one of its own interfaces.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * An IPv4 address of this machine that is not loopback, or undefined when it
 * has none (then a test can only ask the server's socket where it listens).
 */
export function externalIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal)?.address;
}

/** Does something accept a TCP connection at `host`:`port`? A refusal (or no answer in `ms`) is false. */
export function accepts(host: string, port: number, ms = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => done(true)).once('error', () => done(false));
  });
}

/** The status a WebSocket upgrade request to 127.0.0.1:`port` gets: 101 when the server takes it. */
export function upgradeStatus(port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode!);
    });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.once('error', reject);
    req.end();
  });
}

/** The status of a GET of `url` sent with the `Host` header `host`. */
export function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .once('error', reject)
      .end();
  });
}
