/**
 * Writes the "newc" cpio archive the kernel unpacks as its initramfs. Written here rather than
 * piped through cpio(1) so the archive is byte-for-byte a function of its entries.
 */

export type CpioEntry =
  | { kind: 'directory'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string };

const typeBits = { directory: 0o040000, file: 0o100000, symlink: 0o120000 } as const;

export function buildCpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const push = (part: Buffer): void => {
    parts.push(part);
    length += part.length;
  };
  const pad = (): void => {
    const remainder = length % 4;
    if (remainder) push(Buffer.alloc(4 - remainder));
  };
  const writeEntry = (path: string, mode: number, data: Uint8Array, inode: number, links: number): void => {
    const name = Buffer.from(`${path}\0`);
    const fields = [inode, mode, 0, 0, links, 0, data.length, 0, 0, 0, 0, name.length, 0];
    push(Buffer.from(`070701${fields.map((field) => field.toString(16).padStart(8, '0')).join('')}`, 'ascii'));
    push(name);
    pad();
    if (data.length) {
      push(Buffer.from(data.buffer, data.byteOffset, data.length));
      pad();
    }
  };

  entries.forEach((entry, index) => {
    const path = entry.path.replace(/^\/+/, '');
    if (!path) throw new Error('cpio entries need a path below the root');
    switch (entry.kind) {
      case 'directory':
        writeEntry(path, typeBits.directory | (entry.mode ?? 0o755), new Uint8Array(), index + 1, 2);
        break;
      case 'file':
        writeEntry(path, typeBits.file | (entry.mode ?? 0o644), entry.data, index + 1, 1);
        break;
      case 'symlink':
        writeEntry(path, typeBits.symlink | 0o777, Buffer.from(entry.target), index + 1, 1);
        break;
    }
  });
  writeEntry('TRAILER!!!', 0, new Uint8Array(), 0, 1);
  return Buffer.concat(parts, length);
}
