/**
 * Reads a shared PostgreSQL store's final contents for the checks (the
 * torture run's and test/shared's), through
 * a backend of its own (no coordinator: connecting a master would change
 * the store), and runs verifyBackend on it.
 */
import type { VerifyReport } from '../src/api.ts';
import { verifyBackend } from '../src/api.ts';
import type { PersistedActor } from '../src/actors/hosted.ts';
import type { MasterRecord } from '../src/connector/model.ts';
import { buildRequests, buildsets, changeSources, masters, states, users } from '../src/connector/model.ts';
import type { BuildRequestContext } from '../src/machines/buildRequest.ts';
import type { ChangeSourceContext } from '../src/machines/changeSource.ts';
import { recordPrefix } from '../src/persistence/keys.ts';
import { postgresBackend } from '../src/persistence/postgres/backend.ts';
import type { PostgresBackend } from '../src/persistence/postgres/backend.ts';
import { idsUnder, readRecords, StoreReader } from '../src/persistence/records.ts';

export interface RequestState {
  brid: number;
  buildsetid: number;
  complete: boolean;
  claimedBy: number | null;
  claimedAt: number | null;
}

export class StoreInspector {
  private constructor(
    private readonly backend: PostgresBackend,
    private readonly reader: StoreReader,
  ) {}

  static async open(url: string): Promise<StoreInspector> {
    const backend = postgresBackend(url, { sync: true });
    await backend.open();
    return new StoreInspector(backend, new StoreReader(backend));
  }

  private async all<R>(kind: { name: string; indexes(record: R): string[] }): Promise<R[]> {
    return readRecords(this.reader, kind, await idsUnder(this.reader, recordPrefix(kind.name)));
  }

  async requests(): Promise<Map<number, RequestState>> {
    const found = (await this.all(buildRequests)) as PersistedActor<BuildRequestContext>[];
    return new Map(
      found.map(({ value, context: c }) => [c.brid, { brid: c.brid, buildsetid: c.buildsetid, complete: value === 'complete', claimedBy: c.claimedBy, claimedAt: c.claimedAt }]),
    );
  }

  async changeSources(): Promise<{ id: number; name: string; masterid: number | null }[]> {
    return ((await this.all(changeSources)) as PersistedActor<ChangeSourceContext>[]).map(({ context: c }) => ({ id: c.id, name: c.name, masterid: c.masterid }));
  }

  async masters(): Promise<MasterRecord[]> {
    return this.all(masters);
  }

  async buildsetIds(): Promise<Set<number>> {
    return new Set((await this.all(buildsets)).map(({ bsid }) => bsid));
  }

  /** Every state value, as its JSON text, by `objectid/name`. */
  async states(): Promise<Map<string, string>> {
    return new Map((await this.all(states)).map(({ objectid, name, value }) => [`${objectid}/${name}`, value]));
  }

  async users(): Promise<{ uid: number; identifier: string }[]> {
    return (await this.all(users)).map(({ uid, identifier }) => ({ uid, identifier }));
  }

  verify(): Promise<VerifyReport> {
    return verifyBackend(this.backend);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}

/** Opens an inspector, runs `work`, closes it. */
export async function inspect<T>(url: string, work: (store: StoreInspector) => Promise<T>): Promise<T> {
  const store = await StoreInspector.open(url);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
