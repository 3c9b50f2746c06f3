import { describe, expect, it } from 'vitest';
import { torture } from '../../reliability/torture.ts';

describe('crash-kill torture [leveldb]', () => {
  it('20 SIGKILL cycles lose no acknowledged write and leave a sound store', async () => {
    const result = await torture({ cycles: 20, seed: 20261122 });
    expect(result.violations).toEqual([]);
    expect(result.cycles).toBe(20);
    expect(result.acknowledged).toBeGreaterThan(20 * 20);
  }, 240_000);

  it('the checker catches a worker that acknowledges before the write is durable', async () => {
    const result = await torture({ cycles: 8, seed: 7, ackEarly: true });
    expect(result.violations.length).toBeGreaterThan(0);
  }, 120_000);
});
