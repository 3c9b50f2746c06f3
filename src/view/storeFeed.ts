import type { BuildRequestContext, BuildRequestState } from '../machines/buildRequest.ts';
import type { ChangeSourceContext, ChangeSourceState } from '../machines/changeSource.ts';
import type { PersistedActor } from '../actors/hosted.ts';
import { buildRequestIndex, buildRequests, changeSources } from '../connector/model.ts';
import { prefixRange } from '../persistence/backend.ts';
import { decodeStored } from '../persistence/codec.ts';
import { idOfKey, recordKey, recordPrefix } from '../persistence/keys.ts';
import { isShared } from '../persistence/shared/contract.ts';
import type { SharedBackend, SnapshotView } from '../persistence/shared/contract.ts';
import { backendAt } from '../persistence/stores.ts';
import { InvalidArgumentError } from '../errors.ts';
import { TransitionLog } from './feed.ts';
import type { LiveFeed, LiveFeedOptions, Transition } from './feed.ts';

export interface StoreFeedOptions extends LiveFeedOptions {
  /** How often the store is read, in ms (default 1000); 0: only when `poll()` is called. */
  intervalMs?: number;
  /** Told of a reading that failed (a lost connection, say); the next interval reads again. */
  onError?: (error: unknown) => void;
}

export interface StoreFeed extends LiveFeed {
  /** Reads the store now (or joins the reading under way) and resolves with the transitions it found. */
  poll(): Promise<Transition[]>;
  /** Stops reading, once a reading under way has delivered; closes the store if the feed opened it (`openStoreFeed`). */
  close(): Promise<void>;
}

/** What the feed remembers of a request or change source between readings. */
interface Seen {
  /** Its machine's state: the machines own these names, so a renamed state fails to compile here. */
  value: BuildRequestState | ChangeSourceState;
  /** A request's claimer, or a change source's owner. */
  masterid: number | null;
  /** A request's claim time: a new one under the same claimer is a reclaim. */
  claimedAt: number | null;
  label: string;
}

/** Records read per query. */
const CHUNK = 1_000;
/** An id handed out but whose record is not there is looked for this long (a commit in flight), then taken as never used. */
const WAIT_MS = 60_000;

const UNCLAIMED: Seen = { value: 'unclaimed', masterid: null, claimedAt: null, label: '' };

/**
 * A live feed of a shared store (PostgreSQL): the transitions of every
 * process's build requests and change sources, found by reading the store
 * rather than by inspecting actors, so a process that hosts none (`buildcoord
 * serve`, the demo's parent) shows the whole farm moving. Each transition is
 * marked `source: 'store'`.
 *
 * Each reading is one snapshot, and bounded by what can have changed: the
 * incomplete requests (their index), the requests it saw incomplete last
 * time (now complete, or still not), the ids handed out since (new
 * requests, complete or not), and the change sources (a handful: one per
 * configured source). A complete request changes state no more, so it is
 * forgotten. The first reading only learns the store as it is.
 *
 * What happened between two readings is told as the difference, in the
 * machine's order: a request claimed by another master than before was
 * released and claimed again; `event` is the machine's event where the
 * difference names it (`request.claim`, `request.reclaim`,
 * `request.complete`, `changesource.setMaster`) and `released` for a claim
 * or a change source let go (an unclaim, an expiry and a master marked
 * inactive look the same from the store). Steps that cancel out between two
 * readings are not seen.
 *
 * Its `inspect` observer ignores every event: on a shared store the local
 * actors' steps reach the store too, and are reported from there.
 *
 * @example
 * const backend = backendAt(url, { sync: true }) as SharedBackend;
 * await backend.open();
 * const feed = createStoreFeed(backend);
 * const view = await startLiveView(connector, { feed });
 */
export function createStoreFeed(backend: SharedBackend, options: StoreFeedOptions = {}): StoreFeed {
  const now = options.now ?? (() => new Date());
  const log = new TransitionLog(options.keep ?? 200);
  const intervalMs = options.intervalMs ?? 1_000;
  /** Requests seen incomplete at the last reading. */
  const requests = new Map<number, Seen>();
  const sources = new Map<number, Seen>();
  /** Ids handed out but not found yet: when they were first looked for (ms, wall clock). */
  const waiting = new Map<number, number>();
  /** The last request id handed out as of the last reading. */
  let lastSeenId = 0;
  let learned = false;
  let seq = 0;
  let reading: Promise<Transition[]> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function emit(out: Transition[], kind: Transition['kind'], id: number, event: string, from: string | null, to: string, masterid: number | null, label: string): void {
    out.push({
      seq: ++seq,
      at: now().toISOString(),
      actor: `${kind === 'buildrequest' ? 'br' : 'cs'}:${id}`,
      kind,
      id,
      event,
      from,
      to,
      masterid,
      label,
      source: 'store',
    });
  }

  /** The steps from `before` to `after` of a request, in the machine's order. */
  function requestSteps(out: Transition[], id: number, before: Seen | undefined, after: Seen): void {
    if (before === undefined) emit(out, 'buildrequest', id, 'new', null, 'unclaimed', null, after.label);
    let at = before ?? { ...UNCLAIMED, label: after.label };
    if (at.value === 'claimed' && (after.value === 'unclaimed' || after.masterid !== at.masterid)) {
      emit(out, 'buildrequest', id, 'released', 'claimed', 'unclaimed', at.masterid, after.label);
      at = { ...UNCLAIMED, label: after.label };
    }
    if (at.value === 'unclaimed' && after.value !== 'unclaimed' && after.masterid !== null) {
      emit(out, 'buildrequest', id, 'request.claim', 'unclaimed', 'claimed', after.masterid, after.label);
      at = { value: 'claimed', masterid: after.masterid, claimedAt: after.claimedAt, label: after.label };
    }
    if (after.value === 'complete' && at.value !== 'complete') {
      emit(out, 'buildrequest', id, 'request.complete', at.value, 'complete', after.masterid ?? at.masterid, after.label);
    } else if (after.value === 'claimed' && at === before && after.claimedAt !== at.claimedAt) {
      emit(out, 'buildrequest', id, 'request.reclaim', 'claimed', 'claimed', after.masterid, after.label);
    }
  }

  function sourceSteps(out: Transition[], id: number, before: Seen | undefined, after: Seen): void {
    if (before === undefined) emit(out, 'changesource', id, 'new', null, 'unclaimed', null, after.label);
    const from = before ?? { ...UNCLAIMED, label: after.label };
    if (from.value === after.value && from.masterid === after.masterid) return;
    if (after.value === 'unclaimed') emit(out, 'changesource', id, 'released', from.value, 'unclaimed', from.masterid, after.label);
    else emit(out, 'changesource', id, 'changesource.setMaster', from.value, after.value, after.masterid, after.label);
  }

  /** One snapshot: the records that can have changed since the last reading. */
  async function read(view: SnapshotView) {
    const incomplete = (await view.keys(prefixRange(buildRequestIndex.incomplete()))).map(idOfKey);
    const lastId = await view.lastId(buildRequests.name);
    const ids = new Set([...requests.keys(), ...incomplete, ...waiting.keys()]);
    if (learned) for (let id = lastSeenId + 1; id <= lastId; id++) ids.add(id);
    const list = [...ids].sort((a, b) => a - b);
    const found: (Uint8Array | undefined)[] = [];
    for (let i = 0; i < list.length; i += CHUNK) {
      found.push(...(await view.getMany(list.slice(i, i + CHUNK).map((id) => recordKey(buildRequests.name, id)))));
    }
    const sourceEntries = await view.entries(prefixRange(recordPrefix(changeSources.name)));
    return { list, found, sourceEntries, lastId };
  }

  function compare({ list, found, sourceEntries, lastId }: Awaited<ReturnType<typeof read>>): Transition[] {
    const out: Transition[] = [];
    const wall = Date.now();
    list.forEach((id, i) => {
      const bytes = found[i];
      if (bytes === undefined) {
        requests.delete(id);
        if (learned && (id > lastSeenId || waiting.has(id))) {
          const since = waiting.get(id) ?? wall;
          if (wall - since < WAIT_MS) waiting.set(id, since);
          else waiting.delete(id);
        }
        return;
      }
      waiting.delete(id);
      const { value, context: c } = decodeStored<PersistedActor<BuildRequestContext>>(recordKey(buildRequests.name, id), bytes);
      const after: Seen = { value: value as BuildRequestState, masterid: c.claimedBy, claimedAt: c.claimedAt, label: c.buildername };
      const before = requests.get(id);
      if (learned) requestSteps(out, id, before, after);
      if (buildRequests.settled(value)) requests.delete(id);
      else requests.set(id, after);
    });
    lastSeenId = Math.max(lastSeenId, lastId);
    for (const [key, bytes] of sourceEntries) {
      const id = idOfKey(key);
      const { value, context: c } = decodeStored<PersistedActor<ChangeSourceContext>>(key, bytes);
      const after: Seen = { value: value as ChangeSourceState, masterid: c.masterid, claimedAt: null, label: c.name };
      if (learned) sourceSteps(out, id, sources.get(id), after);
      sources.set(id, after);
    }
    learned = true;
    return out;
  }

  function poll(): Promise<Transition[]> {
    reading ??= backend
      .readSnapshot(read)
      .then((snapshot) => {
        const transitions = compare(snapshot);
        for (const transition of transitions) log.add(transition);
        return transitions;
      })
      .finally(() => {
        reading = null;
      });
    return reading;
  }

  function tick(): void {
    timer = undefined;
    poll()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        if (!closed) timer = setTimeout(tick, intervalMs).unref();
      });
  }
  if (intervalMs > 0) timer = setTimeout(tick, 0).unref();

  return {
    inspect: { next: () => {} },
    recent: log.recent,
    subscribe: log.subscribe,
    poll,
    async close() {
      closed = true;
      clearTimeout(timer);
      await reading?.catch(() => {});
    },
  };
}

/**
 * A store feed on its own connection to the PostgreSQL store at `location`
 * (a URL): for a master that hosts the live view on a shared store, so that
 * the view shows every process's masters at work, not only its own.
 *
 * @example
 * const coordinator = await openCoordinator({ location: url });
 * const db = await coordinator.connect('master-1');
 * const feed = await openStoreFeed(url);
 * const view = await startLiveView(db, { feed });
 * // ...
 * await view.close();
 * await feed.close();
 * await coordinator.close();
 */
export async function openStoreFeed(location: string, options: StoreFeedOptions = {}): Promise<StoreFeed> {
  const backend = backendAt(location, { sync: true });
  if (!isShared(backend)) throw new InvalidArgumentError(`a store feed reads a store that other processes write; ${location} is not one`);
  await backend.open();
  const feed = createStoreFeed(backend, options);
  return {
    ...feed,
    async close() {
      await feed.close();
      await backend.close();
    },
  };
}
