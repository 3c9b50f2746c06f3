/** Keys are text in the layout and bytea in PostgreSQL (UTF-8, compared bytewise like LevelDB); values are bytes. */
export const toKey = (key: string): Buffer => Buffer.from(key, 'utf8');
export const fromKey = (bytes: Buffer): string => bytes.toString('utf8');
export const toBytes = (bytes: Buffer): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
export const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
