import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, KeyError, SerializationError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

export default function state(h: Harness) {
  describe(`state [${h.name}]`, () => {
    let coordinator: Coordinator;
    let db: Connector;
    afterEach(() => coordinator?.close());
    const setup = async () => {
      coordinator = await h.open();
      db = await coordinator.connect('m1');
    };

    it('getObjectId: same name and class, same id; another class, another id', async () => {
      await setup();
      const a = await db.state.getObjectId('nightly', 'Nightly');
      expect(await db.state.getObjectId('nightly', 'Nightly')).toBe(a);
      expect(await db.state.getObjectId('nightly', 'Periodic')).not.toBe(a);
      expect(await db.state.getObjectId('other', 'Nightly')).not.toBe(a);
    });

    it('setState then getState round-trips values as JSON does', async () => {
      await setup();
      const id = await db.state.getObjectId('s', 'C');
      const proto = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
      const values: unknown[] = [0, -1.5, 'ünïcødé ☃ 😀', true, null, [], {}, [1, [2, [3]]], { a: { b: { c: [null, 'x'] } } }, 'x'.repeat(1_000_000), proto];
      for (const [i, value] of values.entries()) {
        await db.state.setState(id, `v${i}`, value);
        expect(await db.state.getState(id, `v${i}`)).toEqual(value);
      }
      expect(JSON.stringify(await db.state.getState(id, `v${values.length - 1}`))).toBe(JSON.stringify(proto));
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('setState overwrites; values are per object and name', async () => {
      await setup();
      const a = await db.state.getObjectId('a', 'C');
      const b = await db.state.getObjectId('b', 'C');
      await db.state.setState(a, 'x', 1);
      await db.state.setState(a, 'x', 2);
      await db.state.setState(b, 'x', 3);
      expect(await db.state.getState(a, 'x')).toBe(2);
      expect(await db.state.getState(b, 'x')).toBe(3);
    });

    it('getState of a missing name: the default if given (null included), else KeyError', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      expect(await db.state.getState(id, 'nope', { default: 17 })).toBe(17);
      expect(await db.state.getState(id, 'nope', { default: null })).toBeNull();
      await expect(db.state.getState(id, 'nope')).rejects.toThrow(KeyError);
    });

    it('values JSON cannot represent are SerializationError and store nothing', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const value of [undefined, NaN, Infinity, () => 1, Symbol('s'), 1n, circular, { a: undefined }, new Date(), new Map()]) {
        await expect(db.state.setState(id, 'bad', value)).rejects.toThrow(SerializationError);
      }
      await expect(db.state.getState(id, 'bad')).rejects.toThrow(KeyError);
    });

    it('bad arguments are InvalidArgumentError', async () => {
      await setup();
      const id = await db.state.getObjectId('a', 'C');
      await expect(db.state.getObjectId(1 as never, 'C')).rejects.toThrow(InvalidArgumentError);
      await expect(db.state.getObjectId('a', null as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.state.setState(9999, 'x', 1)).rejects.toThrow(InvalidArgumentError);
      await expect(db.state.setState(id, 5 as never, 1)).rejects.toThrow(InvalidArgumentError);
      await expect(db.state.getState(id, 'x', { fallback: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.state.getState(-1, 'x')).rejects.toThrow(InvalidArgumentError);
    });
  });
}
