import { salvageStore } from './persistence/stores.ts';
import { verify } from './verify.ts';
import type { VerifyReport } from './verify.ts';

export interface SalvageReport {
  /** Where the store's files were copied, as they were, before anything changed. */
  evidence: string;
  /** The newest commit the salvaged store holds; the commit mark now names it. */
  sequence: number;
  /** verify() of the salvaged store: what the loss left inconsistent, by key. */
  report: VerifyReport;
}

/**
 * Accepts the loss in a store refused for a damaged write-ahead log or
 * commit mark, after keeping a copy of it as it was: LevelDB recovers what
 * it can read (dropping damaged log records whole), and the commit mark is
 * reset to the newest commit left. Damaged tables, CURRENT or MANIFEST are
 * not mended here (LevelDB could abort on them): restore those from a
 * backup. What the loss left inconsistent (an index entry whose record was
 * in a dropped write, say) is in the returned report.
 *
 * Directories only: a shared store is refused (StorageError), since its
 * server keeps its own files whole; check it with verify().
 */
export async function salvage(location: string, now: Date = new Date()): Promise<SalvageReport> {
  const { path, evidence, sequence } = await salvageStore(location, now);
  return { evidence, sequence, report: await verify(path) };
}
