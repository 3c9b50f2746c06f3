/**
 * buildcoord: Buildbot's database connector API, hosted as XState actors
 * over LevelDB, in memory or on PostgreSQL. docs/api.md describes every method.
 */
export { openCoordinator, Coordinator } from './coordinator.ts';
export type { CoordinatorOptions, Durability } from './coordinator.ts';
export { Connector } from './connector/connector.ts';
export {
  CoordinatorError,
  AlreadyClaimedError,
  NotClaimedError,
  ChangeSourceAlreadyClaimedError,
  KeyError,
  SerializationError,
  InvalidArgumentError,
  StorageError,
  StoreLockedError,
  StoreDamagedError,
  ClosedError,
} from './errors.ts';
export type { FileProblem } from './errors.ts';
export type { Backend, BackendCapabilities, KeyRange, WriteBatch } from './persistence/backend.ts';
export { memoryBackend } from './persistence/memory/backend.ts';
export { levelDBBackend } from './persistence/leveldb/backend.ts';
export { BackendWrapper } from './persistence/wrapper.ts';
export type { BrDict, BsDict, SsDict, BDict, ChDict, UsDict, UserSummary, ChangeSourceDict, MasterDict, Properties } from './types.ts';
export type { AddChangeArgs } from './connector/changes.ts';
export type { Classifications } from './connector/schedulers.ts';
export type { FindUserByAttrArgs, UpdateUserArgs } from './connector/users.ts';
export { verify, verifyBackend } from './verify.ts';
export { salvage } from './salvage.ts';
export { LIMITS } from './validate.ts';
export type { SalvageReport } from './salvage.ts';
export type { VerifyReport, Problem } from './verify.ts';
