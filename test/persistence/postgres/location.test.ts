import { describe, expect, it } from 'vitest';
import { isPostgresLocation, maskLocation } from '../../../src/persistence/postgres/location.ts';
import { openCoordinator, StorageError } from '../../../src/api.ts';

describe('PostgreSQL locations', () => {
  it('are told apart from directories', () => {
    for (const url of ['postgresql://u:p@h/db', 'postgres://h/db', 'POSTGRESQL://h/db?schema=x']) expect(isPostgresLocation(url)).toBe(true);
    for (const path of ['/var/lib/state', './postgresql', 'postgresql:/x', 'state']) expect(isPostgresLocation(path)).toBe(false);
  });

  it('never show a password', () => {
    expect(maskLocation('cannot reach postgresql://ann:s3cret@db.example:5432/farm?schema=m')).toBe('cannot reach postgresql://ann:***@db.example:5432/farm?schema=m');
    expect(maskLocation('postgres://ann:p%40ss@h/db and postgres://bob:x@h/db')).toBe('postgres://ann:***@h/db and postgres://bob:***@h/db');
    expect(maskLocation('postgresql://ann@h/db')).toBe('postgresql://ann@h/db'); // no password to hide
    expect(maskLocation('/var/lib/state')).toBe('/var/lib/state');
  });

  it('are not taken for a LevelDB directory named "postgresql:"', async () => {
    const refused = await openCoordinator({ location: 'postgresql://ann:s3cret@127.0.0.1:1/farm' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as Error).message).not.toContain('s3cret');
  });
});

describe('PostgreSQL locations where a directory is needed', () => {
  it('verify and salvage refuse them without showing the password', async () => {
    const { verify, salvage } = await import('../../../src/api.ts');
    for (const call of [verify, salvage]) {
      const refused = await call('postgresql://ann:s3cret@127.0.0.1:1/farm').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toContain('postgresql://ann:***@');
    }
  });
});

describe('the command line, given a PostgreSQL URL', () => {
  it('refuses it (exit 3) without printing the password', async () => {
    const { cli } = await import('../../cli/run.ts');
    for (const command of ['stats', 'verify', 'serve', 'salvage']) {
      const { code, stderr } = await cli([command, 'postgresql://ann:s3cret@127.0.0.1:1/farm']);
      expect([command, code]).toEqual([command, 3]);
      expect(stderr).not.toContain('s3cret');
      expect(stderr).toContain('postgresql://ann:***@');
    }
  }, 60_000);
});
