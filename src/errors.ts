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
  constructor(readonly brids: readonly number[], reason: string) {
    super(`build request ${brids.join(', ')} ${reason}`);
  }
}

/** A build request to complete is already complete or missing. */
export class NotClaimedError extends CoordinatorError {
  override readonly code = 'NOT_CLAIMED';
  constructor(readonly brids: readonly number[], reason: string) {
    super(`build request ${brids.join(', ')} ${reason}`);
  }
}

/** A change source is linked to an active master. */
export class ChangeSourceAlreadyClaimedError extends CoordinatorError {
  override readonly code = 'CHANGESOURCE_ALREADY_CLAIMED';
  constructor(readonly changesourceid: number, readonly masterid: number) {
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
