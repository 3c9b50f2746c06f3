/**
 * Every refusal is a CoordinatorError subclass with a stable `code`; the
 * wording is for people, the class and code are for programs. A refusal
 * means nothing changed.
 */
export class CoordinatorError extends Error {
  readonly code: string = 'COORDINATOR_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A build request is claimed by someone else, complete, or missing. */
export class AlreadyClaimedError extends CoordinatorError {
  override readonly code = 'ALREADY_CLAIMED';
  constructor(
    readonly brids: readonly number[],
    reason: string,
  ) {
    super(`build request ${brids.join(', ')} ${reason}`);
  }
}

/** A build request to complete is already complete or missing. */
export class NotClaimedError extends CoordinatorError {
  override readonly code = 'NOT_CLAIMED';
  constructor(
    readonly brids: readonly number[],
    reason: string,
  ) {
    super(`build request ${brids.join(', ')} ${reason}`);
  }
}

/** A change source is linked to an active master. */
export class ChangeSourceAlreadyClaimedError extends CoordinatorError {
  override readonly code = 'CHANGESOURCE_ALREADY_CLAIMED';
  constructor(
    readonly changesourceid: number,
    readonly masterid: number,
  ) {
    super(`change source ${changesourceid} is claimed by active master ${masterid}`);
  }
}

/** The spec's KeyError: a missing name or row where one must exist. */
export class KeyError extends CoordinatorError {
  override readonly code = 'KEY_ERROR';
}

/** The spec's TypeError from JSON: a value JSON cannot represent faithfully. */
export class SerializationError extends CoordinatorError {
  override readonly code = 'NOT_SERIALIZABLE';
}

/** An argument of the wrong type, shape or range, or an unknown option. */
export class InvalidArgumentError extends CoordinatorError {
  override readonly code = 'INVALID_ARGUMENT';
}

/** The store refused or failed: locked by another process, unreadable, or a failed write. */
export class StorageError extends CoordinatorError {
  override readonly code: string = 'STORAGE_ERROR';
}

/** The store directory is held by another process. */
export class StoreLockedError extends StorageError {
  override readonly code = 'STORE_LOCKED';
}

/** The coordinator was closed; no more calls are taken. */
export class ClosedError extends CoordinatorError {
  override readonly code = 'CLOSED';
}

/** One damaged file of a store, and where in it. */
export interface FileProblem {
  /** The file's name inside the store directory. */
  file: string;
  /** The byte offset of the damage, where one can be named. */
  offset?: number;
  reason: string;
}

/** Where a file problem is, for people: `000005.log at byte 65543`. */
export function problemPlace({ file, offset }: FileProblem): string {
  return `${file}${offset === undefined ? '' : ` at byte ${offset}`}`;
}

/** A file problem for people: `000005.log at byte 65543: checksum mismatch`. */
export function describeProblem(problem: FileProblem): string {
  return `${problemPlace(problem)}: ${problem.reason}`;
}

/**
 * The store's files are damaged, missing or inconsistent, so it was not
 * opened, and its files were left as they were.
 */
export class StoreDamagedError extends StorageError {
  override readonly code = 'STORE_DAMAGED';
  constructor(
    readonly location: string,
    readonly problems: readonly FileProblem[],
    options: { situation?: string; advice?: string } = {},
  ) {
    const situation = options.situation ?? 'is damaged and was not opened (its files are left as they were)';
    const advice = options.advice ?? 'Restore it from a backup, or run `buildcoord salvage` on it to keep what can still be read.';
    const shown = problems.slice(0, 5).map(describeProblem).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    super(`store ${location} ${situation}: ${shown}${more}. ${advice}`);
  }
}

/** No store at the location: a missing directory, an unreachable server, a schema that holds none. */
export class NoStoreError extends StorageError {
  override readonly code = 'NO_STORE';
}
