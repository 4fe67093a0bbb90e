/**
 * Tar archives as a hostile client would make them: any entry name, any type flag, in any order.
 * (cli/pack.ts only writes what `helm package` writes.) For tests of archive readers.
 */
import { gzipSync } from 'node:zlib';

/** One entry: a name as written in the header, a type flag ('0' file, '5' directory, '2' symlink…). */
export interface RawEntry {
  readonly name: string;
  readonly type?: string;
  readonly data?: string | Buffer;
  /** A link's target. */
  readonly link?: string;
}

function header(name: string, size: number, type: string, link: string): Buffer {
  const block = Buffer.alloc(512, 0);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'ascii');
  block.write('0000000\0', 108, 'ascii');
  block.write('0000000\0', 116, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write('00000000000\0', 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write(link, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A gzipped tar of exactly these entries. */
export function rawTgz(entries: readonly RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '');
    parts.push(header(entry.name, data.length, entry.type ?? '0', entry.link ?? ''), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return gzipSync(Buffer.concat(parts));
}
