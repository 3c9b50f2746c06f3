import { describe, expect, it } from 'vitest';
import { SerializationError } from '../../src/api.ts';
import { LIMITS } from '../../src/validate.ts';
import { expectRefused, storeFixture, STORES, untouchable } from './stores.ts';

/**
 * Stored values are bounded by the UTF-8 bytes of their JSON text (exactly
 * JSON.stringify's), by the number of values in it, and by its depth. One
 * past a bound is refused, naming the argument and the limit, with the
 * store unchanged; exactly at it the value is stored and comes back.
 */

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** A string whose JSON text is exactly `size` bytes: one- two- and three-byte characters and escapes, so the count is not just its length. */
function stringOfJsonBytes(size: number): string {
  const mixed = 'é€\n"'; // 2 + 3 + 2 (\n) + 2 (\") bytes in JSON
  const body = mixed.repeat(Math.floor((size - 2) / 9));
  return body + 'x'.repeat(size - bytes(body));
}

/** An array holding `count` JSON values in all: itself and count - 1 zeros. */
const valuesArray = (count: number) => new Array<number>(count - 1).fill(0);

/** Arrays nested `depth` deep. */
function nested(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

describe.each(STORES)('value limits [%s]', (kind) => {
  const open = storeFixture(kind);

  it('setState: a value whose JSON text is valueBytes + 1 bytes is refused; valueBytes bytes are stored and come back', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    const at = { text: stringOfJsonBytes(LIMITS.valueBytes - bytes({ text: '' }) + 2) };
    expect(bytes(at)).toBe(LIMITS.valueBytes);
    await expectRefused(store, () => store.db.state.setState(objectid, 'v', { ...at, x: 0 }), 'value', 'valueBytes');
    await expectRefused(store, () => store.db.state.setState(objectid, 'v', { text: `${at.text}x` }), 'value', 'valueBytes');
    await store.db.state.setState(objectid, 'v', at);
    expect(await store.db.state.getState(objectid, 'v')).toEqual(at);
  });

  it('addBuildset and addChange: properties whose JSON text, all together, is valueBytes + 1 bytes are refused; valueBytes are stored', async () => {
    const store = await open();
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const fill = (source: string, others: Record<string, [unknown, string]> = {}) => {
      const shell = { ...others, big: ['', source] as [unknown, string] };
      return { ...others, big: [stringOfJsonBytes(LIMITS.valueBytes - bytes(shell) + 2), source] as [unknown, string] };
    };
    const at = fill('Scheduler', { small: [{ a: [1, null, true] }, 'Scheduler'] });
    expect(bytes(at)).toBe(LIMITS.valueBytes);
    const over = { ...at, z: [0, 'S'] as [unknown, string] };
    const add = (properties: Record<string, [unknown, string]>) => store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties, builderNames: [] });
    await expectRefused(store, () => add(over), 'properties', 'valueBytes');
    const [bsid] = await add(at);
    expect(bytes(await store.db.buildsets.getBuildsetProperties(bsid))).toBe(LIMITS.valueBytes);

    const change = fill('Change');
    await expectRefused(store, () => store.db.changes.addChange({ properties: { ...change, z: [0, 'Change'] } }), 'properties', 'valueBytes');
    const changeid = await store.db.changes.addChange({ properties: change });
    expect((await store.db.changes.getChange(changeid))!.properties).toEqual(change);
  });

  it('setState and addBuildset: jsonItems + 1 JSON values are refused; jsonItems are stored', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    await expectRefused(store, () => store.db.state.setState(objectid, 'v', valuesArray(LIMITS.jsonItems + 1)), 'value', 'jsonItems');
    await store.db.state.setState(objectid, 'v', valuesArray(LIMITS.jsonItems));
    expect(await store.db.state.getState(objectid, 'v')).toHaveLength(LIMITS.jsonItems - 1);

    // The properties object, each pair and each source are values too: { p: [array, 'S'] } is 4 values and the array's items.
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const add = (count: number) => store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: { p: [valuesArray(count - 3), 'S'] }, builderNames: [] });
    await expectRefused(store, () => add(LIMITS.jsonItems + 1), 'properties', 'jsonItems');
    const [bsid] = await add(LIMITS.jsonItems);
    expect((await store.db.buildsets.getBuildsetProperties(bsid)).p![0]).toHaveLength(LIMITS.jsonItems - 4);
  });

  it('setState: arrays nested jsonDepth + 1 deep are refused; jsonDepth deep are stored', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    await expectRefused(store, () => store.db.state.setState(objectid, 'v', nested(LIMITS.jsonDepth + 1)), 'value', 'jsonDepth');
    await store.db.state.setState(objectid, 'v', nested(LIMITS.jsonDepth));
    expect(JSON.stringify(await store.db.state.getState(objectid, 'v'))).toBe('['.repeat(LIMITS.jsonDepth) + ']'.repeat(LIMITS.jsonDepth));
  });

  it('a circular value is still a SerializationError, not a size or depth refusal', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    const circular: Record<string, unknown> = { big: 'x'.repeat(1000) };
    circular.self = circular;
    await expect(store.db.state.setState(objectid, 'v', circular)).rejects.toThrow(SerializationError);
  });

  it('a value that answers differently when read again (a getter) is a SerializationError, and nothing is stored', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    let reads = 0;
    const shifty = {
      get grows() {
        return 'x'.repeat(++reads);
      },
    };
    const before = await store.dump();
    await expect(store.db.state.setState(objectid, 'v', shifty)).rejects.toThrow(SerializationError);
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const afterSet = await store.dump();
    await expect(store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: { p: [shifty, 'S'] }, builderNames: [] })).rejects.toThrow(SerializationError);
    expect(await store.dump()).toBe(afterSet);
    expect(before).not.toBe(afterSet);
  });

  it('findUserByAttr and updateUser: attr_data of valueBytes + 1 bytes as UTF-8 is refused; valueBytes bytes are taken', async () => {
    const store = await open();
    // Three bytes a character, so its length alone (a third of the limit) does not decide.
    const at = '€'.repeat(Math.floor(LIMITS.valueBytes / 3)) + 'x'.repeat(LIMITS.valueBytes % 3);
    expect(Buffer.byteLength(at)).toBe(LIMITS.valueBytes);
    const over = `${at.slice(0, -1)}é`;
    await expectRefused(store, () => store.db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: over }), 'attr_data', 'valueBytes');
    const uid = await store.db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: at });
    await expectRefused(store, () => store.db.users.updateUser({ uid, attr_type: 'svn', attr_data: over }), 'attr_data', 'valueBytes');
    await store.db.users.updateUser({ uid, attr_type: 'svn', attr_data: `${at.slice(1)}x` });
    expect((await store.db.users.getUser(uid))!.svn).toBe(`${at.slice(1)}x`);
  });

  it('a JSON array of 10,000,000 items is refused without reading one of them', async () => {
    const store = await open();
    const objectid = await store.db.state.getObjectId('o', 'C');
    const { list, reads } = untouchable(10_000_000);
    await expectRefused(store, () => store.db.state.setState(objectid, 'v', list), 'value', 'valueBytes');
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    await expectRefused(
      store,
      () => store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: { p: [list, 'S'] }, builderNames: [] }),
      'properties',
      'valueBytes',
    );
    expect(reads).toEqual([]);
  });
});
