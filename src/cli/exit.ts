/** Exit codes of every `buildcoord` command; `buildcoord --help` lists them. */
export const EXIT = {
  /** Done; for verify, the store is sound. */
  ok: 0,
  /** The command ran and failed: verify found problems, the demo or a benchmark broke. */
  failed: 1,
  /** Bad command line: unknown command or option, a missing or ill-formed argument, a port in use or an address it cannot listen on. */
  usage: 2,
  /** The store directory is missing or is not a store that can be opened. */
  noStore: 3,
  /** The store is held by another process (a running master, demo or serve). */
  locked: 4,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM before it was done. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the command line reports in one line, with the exit code that names it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const EXIT_CODES_HELP = `Exit codes:
  0  done (verify: the store is sound)
  1  the command failed (verify: problems found; demo or bench broke)
  2  bad command line, or a port or address it names cannot be listened on
  3  no store at DIR, or not one that can be opened
  4  the store is held by another process
  130  the demo was interrupted (serve and demo --hold end with Ctrl-C normally: 0)`;
