/**
 * How the upload zip is laid out: every entry stored (images are already compressed, and
 * storing makes the zip's size known in advance), a fixed timestamp and mode, and no extra
 * fields, so the same images always give a byte-identical zip with the same sha256.
 */

/** Local midnight, 1 January 1980: the first DOS date, whatever the machine's time zone. */
export const ZIP_ENTRY_OPTIONS = Object.freeze({
  compress: false,
  mtime: new Date(1980, 0, 1),
  mode: 0o100644,
  forceDosTimestamp: true,
});

const LOCAL_HEADER = 30;
const DATA_DESCRIPTOR = 16;
const CENTRAL_HEADER = 46;
const END_OF_DIRECTORY = 22;

/** The size of the zip that yazl writes with ZIP_ENTRY_OPTIONS (entries under 4 GB). */
export function storedZipSize(entries: Iterable<{ readonly name: string; readonly size: number }>): number {
  let total = END_OF_DIRECTORY;
  for (const { name, size } of entries) {
    const nameBytes = Buffer.byteLength(name);
    total += LOCAL_HEADER + nameBytes + size + DATA_DESCRIPTOR + CENTRAL_HEADER + nameBytes;
  }
  return total;
}
