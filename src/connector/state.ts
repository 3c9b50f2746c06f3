// state: spec buildbot-database.md, "state". Objects are named by (name,
// class_name); each holds JSON values by name.
import { KeyError } from '../errors.ts';
import { firstIdUnder, readRecord, requireRecord } from '../persistence/records.ts';
import type { Reader } from '../persistence/records.ts';
import * as v from '../validate.ts';
import { jsonText } from '../validateJson.ts';
import type { Core } from './core.ts';
import { objectIndex, objects, stateIndex, states } from './model.ts';
import type { StateRecord } from './model.ts';

export class StateComponent {
  constructor(private readonly core: Core) {}

  /** The id of the object (name, class_name), adding it if new. */
  async getObjectId(name: string, class_name: string): Promise<number> {
    v.string(name, 'name');
    v.string(class_name, 'class_name');
    return this.core.runner.run(async (tx) => {
      const known = await firstIdUnder(tx, objectIndex.name(name, class_name));
      if (known !== undefined) return known;
      const id = await tx.allocateId(objects.name);
      tx.putRecord(objects, id, { id, name, class_name });
      return id;
    });
  }

  /** The value `name` of an object; `default` if it has none, or KeyError when no `default` key is given. */
  async getState(objectid: number, name: string, options?: { default?: unknown }): Promise<unknown> {
    v.id(objectid, 'objectid');
    v.string(name, 'name');
    const opts = v.options(options, 'getState options', ['default']);
    const found = await stateOf(this.core.reader, objectid, name);
    if (found !== undefined) return JSON.parse(found.value);
    if (opts.default !== undefined) return opts.default;
    throw new KeyError(`object ${objectid} has no state named ${v.quote(name)}`);
  }

  /** Sets the value `name` of an object; the value must be JSON-able (else SerializationError). */
  async setState(objectid: number, name: string, value: unknown): Promise<void> {
    v.id(objectid, 'objectid');
    v.string(name, 'name');
    const json = jsonText(value, 'value');
    await this.core.runner.run(async (tx) => {
      await requireRecord(tx, objects, objectid, 'object');
      const previous = await stateOf(tx, objectid, name);
      const id = previous?.id ?? (await tx.allocateId(states.name));
      tx.putRecord(states, id, { id, objectid, name, value: json }, previous);
    });
  }
}

async function stateOf(reader: Reader, objectid: number, name: string): Promise<StateRecord | undefined> {
  const id = await firstIdUnder(reader, stateIndex.of(objectid, name));
  return id === undefined ? undefined : readRecord(reader, states, id);
}
