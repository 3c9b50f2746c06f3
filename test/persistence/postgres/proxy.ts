/**
 * A TCP proxy in front of the test server that can lose a connection at a
 * chosen point of the PostgreSQL protocol: when the client sends COMMIT
 * (a simple-protocol 'Q' message), the proxy can pass it on and drop the
 * answer (the commit lands, the client never hears), pass it on late, or
 * never pass it on (the commit does not land), or go silent both ways
 * without closing anything (a network partition). It can also refuse every
 * connection, like a server that is down.
 */
import net from 'node:net';
import pg from 'pg';
import { pgConfig } from '../../support/postgres.ts';

export type CommitFault =
  /** COMMIT reaches the server; its answer is dropped and both sides are cut once it comes. */
  | { kind: 'answer-lost' }
  /** The client is cut at once; COMMIT reaches the server `delayMs` later (the transaction holds its locks meanwhile). */
  | { kind: 'commit-late'; delayMs: number }
  /** The client is cut at once; the server's side is closed `delayMs` later without COMMIT, so it rolls back. */
  | { kind: 'never-sent'; delayMs: number }
  /** The client is cut at once; the server's side stays open, without COMMIT, until `release()`. */
  | { kind: 'held' }
  /** A network partition that sends no reset: nothing more passes either way and neither side is closed, until `release()`. */
  | { kind: 'silent' };

type Upstream = { path: string } | { host: string; port: number };

export class PgProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private refusing = false;
  private fault: CommitFault | null = null;
  private held: net.Socket[] = [];
  private fired: (() => void) | null = null;
  /** How many COMMITs passed through (faulted or not). */
  commits = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly upstream: Upstream,
    private readonly user: string,
    private readonly database: string,
  ) {}

  /** A proxy to the server of `url` (a test URL: unix socket or TCP). */
  static async start(url: string): Promise<PgProxy> {
    const probe = new pg.Client(pgConfig(url));
    const host = probe.host ?? 'localhost';
    const upstream: Upstream = host.startsWith('/') ? { path: `${host}/.s.PGSQL.${probe.port}` } : { host, port: probe.port };
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new PgProxy(server, (server.address() as net.AddressInfo).port, upstream, probe.user ?? 'postgres', probe.database ?? 'postgres');
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** A URL that goes through the proxy, for `schema`. */
  url(schema: string): string {
    return `postgresql://${encodeURIComponent(this.user)}@127.0.0.1:${this.port}/${encodeURIComponent(this.database)}?schema=${schema}`;
  }

  /** The next COMMIT on any connection meets `fault`; resolves once it has. */
  armCommit(fault: CommitFault): Promise<void> {
    this.fault = fault;
    return new Promise((resolve) => (this.fired = resolve));
  }

  /** Ends the server side of a 'held' transaction: the server rolls it back. */
  release(): void {
    for (const socket of this.held) socket.destroy();
    this.held = [];
  }

  /** While on, every connection is cut and new ones are cut at once (a server that is down). */
  refuse(on: boolean): void {
    this.refusing = on;
    if (on) this.cutAll();
  }

  private cutAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.release();
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = 'path' in this.upstream ? net.connect(this.upstream.path) : net.connect(this.upstream.port, this.upstream.host);
    upstream.on('error', () => {});
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    let faulted = false; // from here the fault, not the client, decides the server side's fate
    let dropAnswer = false;
    let silent = false;
    upstream.on('data', (data) => {
      if (silent) return;
      if (!dropAnswer) return void client.write(data);
      client.destroy();
      upstream.destroy();
    });
    upstream.on('close', () => {
      this.pairs.delete(pair);
      client.destroy();
    });
    client.on('close', () => {
      this.pairs.delete(pair);
      if (!faulted) upstream.destroy();
    });

    let pending = Buffer.alloc(0);
    let started = false;
    client.on('data', (data) => {
      if (faulted) return;
      pending = Buffer.concat([pending, data]);
      for (;;) {
        // The startup message has no type byte; every later one is a type byte and a length that counts itself.
        const head = started ? 1 : 0;
        if (pending.length < head + 4) return;
        const size = head + pending.readInt32BE(head);
        if (pending.length < size) return;
        const message = pending.subarray(0, size);
        pending = pending.subarray(size);
        started = true;
        const isCommit = head === 1 && message[0] === 0x51 && message.subarray(5, size - 1).toString() === 'COMMIT';
        if (isCommit) this.commits++;
        if (isCommit && this.fault !== null) {
          faulted = true;
          const fault = this.fault;
          this.fault = null;
          if (fault.kind === 'silent') {
            silent = true;
            this.held.push(client, upstream);
          } else this.inject(fault, message, client, upstream, () => (dropAnswer = true));
          this.fired?.();
          return;
        }
        upstream.write(message);
      }
    });
  }

  private inject(fault: CommitFault, commit: Buffer, client: net.Socket, upstream: net.Socket, dropAnswer: () => void): void {
    switch (fault.kind) {
      case 'answer-lost':
        dropAnswer();
        upstream.write(commit);
        return;
      case 'commit-late':
        client.destroy();
        upstream.removeAllListeners('data');
        {
          // Answers to statements pipelined before COMMIT may still come; once COMMIT is sent, an answer means it committed.
          let sent = false;
          upstream.on('data', () => sent && upstream.destroy());
          setTimeout(() => {
            sent = true;
            upstream.write(commit);
          }, fault.delayMs);
        }
        return;
      case 'never-sent':
        client.destroy();
        setTimeout(() => upstream.destroy(), fault.delayMs);
        return;
      case 'held':
        client.destroy();
        this.held.push(upstream);
        return;
      case 'silent':
        return; // handled where the connection's traffic is passed on
    }
  }
}
