import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, KeyError, SerializationError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

/** Values JSON must bring back exactly. */
function awkwardValues(): unknown[] {
  return [
    0,
    -1.5,
    2 ** 53 - 1,
    1e300,
    'ünïcødé ☃ 😀 中文',
    '',
    '\u0000\u2028',
    true,
    false,
    null,
    [],
    {},
    [1, [2, [3, [4]]]],
    { a: { b: { c: [null, 'x', { ключ: '值' }] } } },
    'x'.repeat(1_000_000),
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}'),
  ];
}

export default function state(h: Harness) {
  describe(`state [${h.name}]`, () => {
    let db: Connector;
    const fixture = oneMaster(h);
    const setup = async () => {
      db = await fixture.open();
    };

    it('getObjectId: same name and class, same id; another class or name, another, larger id', async () => {
      await setup();
      const a = await db.state.getObjectId('nightly', 'Nightly');
      expect(await db.state.getObjectId('nightly', 'Nightly')).toBe(a);
      const otherClass = await db.state.getObjectId('nightly', 'Periodic');
      const otherName = await db.state.getObjectId('other', 'Nightly');
      expect(otherClass).toBeGreaterThan(a);
      expect(otherName).toBeGreaterThan(otherClass);
      expect(await db.state.getObjectId('nightly', 'Periodic')).toBe(otherClass);
    });

    it('getObjectId keeps name and class apart: ("ab", "c") is not ("a", "bc"), and "" is a name', async () => {
      await setup();
      const ids = [
        await db.state.getObjectId('ab', 'c'),
        await db.state.getObjectId('a', 'bc'),
        await db.state.getObjectId('', 'abc'),
        await db.state.getObjectId('abc', ''),
        await db.state.getObjectId('a\u0000b', 'c'),
        await db.state.getObjectId('a', 'b\u0000c'),
        await db.state.getObjectId('😀', 'Ünïcode'),
      ];
      expect(new Set(ids).size).toBe(ids.length);
      expect(await db.state.getObjectId('a', 'bc')).toBe(ids[1]);
      expect(await db.state.getObjectId('😀', 'Ünïcode')).toBe(ids[6]);
    });

    it('setState then getState round-trips values exactly as JSON does', async () => {
      await setup();
      const id = await db.state.getObjectId('s', 'C');
      const values = awkwardValues();
      for (const [i, value] of values.entries()) await db.state.setState(id, `v${i}`, value);
      for (const [i, value] of values.entries()) {
        const back = await db.state.getState(id, `v${i}`);
        expect(back).toEqual(value);
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
      }
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('names are any string, kept apart', async () => {
      await setup();
      const id = await db.state.getObjectId('s', 'C');
      const names = ['', 'a', 'a\u0000', 'ä', '__proto__', 'x'.repeat(10_000)];
      for (const [i, name] of names.entries()) await db.state.setState(id, name, i);
      for (const [i, name] of names.entries()) expect(await db.state.getState(id, name)).toBe(i);
    });

    it('setState overwrites; values are per object and name', async () => {
      await setup();
      const a = await db.state.getObjectId('a', 'C');
      const b = await db.state.getObjectId('b', 'C');
      await db.state.setState(a, 'x', 1);
      await db.state.setState(a, 'x', { now: 'an object' });
      await db.state.setState(a, 'y', 'other name');
      await db.state.setState(b, 'x', 3);
      expect(await db.state.getState(a, 'x')).toEqual({ now: 'an object' });
      expect(await db.state.getState(a, 'y')).toBe('other name');
      expect(await db.state.getState(b, 'x')).toBe(3);
      await db.state.setState(a, 'x', null);
      expect(await db.state.getState(a, 'x', { default: 'unused' })).toBeNull();
    });

    it('values are copies: changing what was set or what was got changes nothing stored', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      const value = { list: [1, 2], nested: { n: 1 } };
      await db.state.setState(id, 'v', value);
      value.list.push(3);
      value.nested.n = 2;
      const got = (await db.state.getState(id, 'v')) as typeof value;
      expect(got).toEqual({ list: [1, 2], nested: { n: 1 } });
      got.list.length = 0;
      expect(await db.state.getState(id, 'v')).toEqual({ list: [1, 2], nested: { n: 1 } });
    });

    it('getState of a missing name: the default if one is given (null included), else KeyError', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      await db.state.setState(id, 'there', 1);
      expect(await db.state.getState(id, 'nope', { default: 17 })).toBe(17);
      expect(await db.state.getState(id, 'nope', { default: null })).toBeNull();
      expect(await db.state.getState(id, 'nope', { default: { a: [1] } })).toEqual({ a: [1] });
      expect(await db.state.getState(id, 'there', { default: 17 })).toBe(1);
      await expect(db.state.getState(id, 'nope')).rejects.toThrow(KeyError);
      await expect(db.state.getState(id, 'nope', {})).rejects.toThrow(KeyError);
      // An absent option is "not given", undefined included.
      await expect(db.state.getState(id, 'nope', { default: undefined })).rejects.toThrow(KeyError);
      // An object that does not exist has no values either.
      await expect(db.state.getState(id + 1000, 'there')).rejects.toThrow(KeyError);
      expect(await db.state.getState(id + 1000, 'there', { default: 'd' })).toBe('d');
    });

    it('values JSON cannot represent are SerializationError and store nothing', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      await db.state.setState(id, 'kept', 'old');
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const bad = [
        undefined,
        NaN,
        Infinity,
        -Infinity,
        () => 1,
        Symbol('s'),
        1n,
        circular,
        [circular],
        { a: undefined },
        [1, undefined],
        { d: new Date() },
        new Date(),
        new Map(),
        new Set(),
        new Uint8Array(2),
      ];
      for (const value of bad) {
        await expect(db.state.setState(id, 'bad', value), String(typeof value)).rejects.toThrow(SerializationError);
        await expect(db.state.setState(id, 'kept', value)).rejects.toThrow(SerializationError);
      }
      await expect(db.state.getState(id, 'bad')).rejects.toThrow(KeyError);
      expect(await db.state.getState(id, 'kept')).toBe('old');
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      await db.state.setState(id, 'x', 'old');
      const bad: [string, () => Promise<unknown>][] = [
        ['getObjectId name number', () => db.state.getObjectId(1 as never, 'C')],
        ['getObjectId class null', () => db.state.getObjectId('a', null as never)],
        ['getObjectId class missing', () => (db.state.getObjectId as (name: string) => Promise<number>)('a')],
        ['getObjectId name with a lone surrogate', () => db.state.getObjectId('\uDC00', 'C')],
        ['setState missing object', () => db.state.setState(id + 1000, 'x', 1)],
        ['setState objectid string', () => db.state.setState(String(id) as never, 'x', 1)],
        ['setState objectid 0', () => db.state.setState(0, 'x', 1)],
        ['setState name number', () => db.state.setState(id, 5 as never, 1)],
        ['setState name null', () => db.state.setState(id, null as never, 1)],
        ['getState objectid negative', () => db.state.getState(-1, 'x')],
        ['getState objectid fraction', () => db.state.getState(1.5, 'x')],
        ['getState name number', () => db.state.getState(id, 1 as never)],
        ['getState unknown option', () => db.state.getState(id, 'x', { fallback: 1 } as never)],
        ['getState options not an object', () => db.state.getState(id, 'x', 17 as never)],
      ];
      for (const [name, call] of bad) await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      expect(await db.state.getState(id, 'x')).toBe('old');
      await expect(db.state.getState(id + 1000, 'x')).rejects.toThrow(KeyError);
      expect(await db.state.getObjectId('a', 'C')).toBe(id);
    });

    it.runIf(h.capabilities.permanence)('objects and their values are back after reopen, and objectids keep increasing', async () => {
      await setup();
      const a = await db.state.getObjectId('nightly', 'Nightly');
      const b = await db.state.getObjectId('nightly', 'Periodic');
      const values = awkwardValues();
      for (const [i, value] of values.entries()) await db.state.setState(a, `v${i}`, value);
      await db.state.setState(b, 'v0', 'b');

      db = await fixture.reopen();
      expect(await db.state.getObjectId('nightly', 'Nightly')).toBe(a);
      expect(await db.state.getObjectId('nightly', 'Periodic')).toBe(b);
      for (const [i, value] of values.entries()) expect(await db.state.getState(a, `v${i}`)).toEqual(value);
      expect(await db.state.getState(b, 'v0')).toBe('b');
      expect(await db.state.getObjectId('new', 'Nightly')).toBeGreaterThan(b);
      await db.state.setState(a, 'v0', 'overwritten');
      expect(await db.state.getState(a, 'v0')).toBe('overwritten');
    });
  });
}
