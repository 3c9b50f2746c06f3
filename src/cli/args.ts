import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';

/** A TCP port, 0 to 65535 (0: any free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return port;
}

/** A positive number of seconds (fractions allowed). */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('give a positive number of seconds.');
  return seconds;
}

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`give a whole number from ${min} to ${max}.`);
    return n;
  };
}

/**
 * An address or host name to listen on (`[::1]` may keep its brackets). Whether
 * this machine can listen there is only known by trying: see `checkHost`.
 */
export function parseHost(value: string): string {
  const trimmed = value.trim();
  const host = /^\[(.*)\]$/.exec(trimmed)?.[1] ?? trimmed;
  if (host === '') throw new InvalidArgumentError('give an address or host name, such as 127.0.0.1 or 0.0.0.0.');
  if (/[\s/@]/.test(host) || (host.includes(':') && isIP(host) !== 6)) {
    throw new InvalidArgumentError('give an address or host name alone (no scheme, port or path), such as 127.0.0.1, 0.0.0.0 or ::1.');
  }
  return host;
}
