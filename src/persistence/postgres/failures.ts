/**
 * What a failed PostgreSQL call means, and how long to keep trying.
 *
 * - `conflict`: a serialization failure or a deadlock (SQLSTATE 40001,
 *   40P01). The transaction was rolled back; running it again may succeed.
 * - `connection`: the connection could not be made or was lost (socket
 *   errors, pg's "Connection terminated", SQLSTATE class 08, the server
 *   shutting down or ending the session). Whatever the session had not
 *   committed is gone; a new connection may succeed.
 * - `other`: the server refused the statement (a unique violation, a full
 *   disk, a read-only server, ...). Running it again would fail again.
 */
import pg from 'pg';
import { StorageError } from '../../errors.ts';
import { maskLocation } from './location.ts';

export type FailureKind = 'conflict' | 'connection' | 'other';

/** How long connection failures are retried before the call gives up (ms). */
export const RETRY_WINDOW_MS = 10_000;
/** How many serialization failures one transaction tolerates. */
export const MAX_CONFLICTS = 30;
/** How long the resolution of a lost COMMIT waits for that transaction's row lock (ms). */
export const OUTCOME_LOCK_TIMEOUT_MS = 20_000;

/**
 * How long a statement may go unanswered before its session is taken as
 * lost (ms): a connection that went silent (a network partition that sends
 * no reset) would otherwise hold its calls until TCP gives up, many minutes
 * on. Long enough for any statement of ours, a bulk commit included.
 */
export const QUERY_TIMEOUT_MS = 60_000;

const CONFLICT_STATES = new Set(['40001', '40P01']);
/**
 * Server states that end or refuse the session: admin_shutdown,
 * crash_shutdown, cannot_connect_now, too_many_connections, the idle in
 * transaction timeout (the session is gone), statement_completion_unknown.
 */
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03', '53300', '25P03', '40003']);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOENT', // a unix socket that is not there: the server is down or restarting
]);
// pg's own words for a connection that ended or broke, and for a connect that timed out.
// "Query read timeout": a statement unanswered for QUERY_TIMEOUT_MS (pg's query_timeout). The session is taken as
// lost: pg destroys a pipelined one (the committer's), and a pooled one is released broken, so destroyed.
const LOST_MESSAGES = [/^Connection terminated/, /not queryable/, /^timeout expired$/, /^timeout exceeded when trying to connect$/, /^Query read timeout$/];

/** The SQLSTATE of an error the server sent, if it is one. */
export function sqlstateOf(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

export function classify(error: unknown): FailureKind {
  const state = sqlstateOf(error);
  if (state !== undefined) {
    if (CONFLICT_STATES.has(state)) return 'conflict';
    if (state.startsWith('08') || CONNECTION_STATES.has(state)) return 'connection';
    return 'other';
  }
  if (!(error instanceof Error)) return 'other';
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && SOCKET_CODES.has(code)) return 'connection';
  if (LOST_MESSAGES.some((pattern) => pattern.test(error.message))) return 'connection';
  return 'other';
}

/** An error for people: the server's message with its SQLSTATE, or the socket error's. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const state = sqlstateOf(error);
  if (state !== undefined) {
    const detail = (error as pg.DatabaseError).detail;
    return `${error.message}${detail ? ` (${detail})` : ''} [SQLSTATE ${state}]`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${error.message} [${code}]` : error.message;
}

/** The pause before reconnect attempt `attempt` (0, 1, ...): 50 ms doubling to 1 s, jittered by up to a half. */
export function reconnectDelay(attempt: number): number {
  const full = Math.min(1_000, 50 * 2 ** Math.min(attempt, 10));
  return full / 2 + (Math.random() * full) / 2;
}

/** The pause before re-running a transaction after its `attempt`th serialization failure: a few ms, random. */
export function conflictDelay(attempt: number): number {
  return Math.random() * Math.min(50, 2 * 2 ** Math.min(attempt, 5));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A duration for people. */
export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** A StorageError for people: what failed, where (`shown`, masked), and PostgreSQL's words with the SQLSTATE. */
export function failure(shown: string, what: string, error: unknown): StorageError {
  if (error instanceof StorageError && what === 'cannot open') {
    return error.message.includes(shown) ? error : new StorageError(maskLocation(`cannot open the PostgreSQL store ${shown}: ${error.message}`), { cause: error });
  }
  if (error instanceof StorageError) return error;
  const message = what === 'cannot open' ? `cannot open the PostgreSQL store ${shown}` : `PostgreSQL store ${shown}: ${what}`;
  return new StorageError(maskLocation(`${message}: ${describeFailure(error)}`), { cause: error });
}
