import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** Where the live view and the inspector server listen unless told otherwise: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

/** Does listening on `host` mean every interface (0.0.0.0, ::)? */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** `host` as it goes in a URL on this machine: a wildcard becomes 127.0.0.1, an IPv6 address goes in brackets. */
export function urlHost(host: string): string {
  const name = isWildcard(host) ? DEFAULT_HOST : host;
  return isIP(name) === 6 ? `[${name}]` : name;
}

/**
 * The `Host` headers (lower case, with the port) that a server listening on
 * `host` answers: the loopback names, `host` itself and, when it listens on
 * every interface, this machine's addresses and host name. Anything else is a
 * page under another name (DNS rebinding) and gets nothing.
 */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', urlHost(host)]);
  if (isWildcard(host)) {
    names.add(hostname());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) names.add(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    }
  }
  const lower = [...names].map((name) => name.toLowerCase());
  // A browser leaves out the default port.
  return new Set([...lower.map((name) => `${name}:${port}`), ...(port === 80 ? lower : [])]);
}
