/**
 * Variants of real HEIC files for tests. sharp's prebuilt libvips cannot encode HEVC, so a rotated
 * or mirrored HEIC is made the way a camera marks one: by adding HEIF's own `irot` (rotation) and
 * `imir` (mirror) properties to the primary image, and by rewriting the EXIF orientation tag that
 * iPhones also write (HEIF says it is informative only: it must not be applied on top).
 */

interface Box {
  type: string;
  start: number;
  size: number;
  header: number;
}

function boxes(b: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let off = start; off + 8 <= end; ) {
    let size = b.readUInt32BE(off);
    let header = 8;
    if (size === 1) {
      size = Number(b.readBigUInt64BE(off + 8));
      header = 16;
    } else if (size === 0) size = end - off;
    out.push({ type: b.toString("latin1", off + 4, off + 8), start: off, size, header });
    off += size;
  }
  return out;
}

function child(b: Buffer, parent: Box, type: string, skip = 0): Box {
  const found = boxes(b, parent.start + parent.header + skip, parent.start + parent.size).find((x) => x.type === type);
  if (!found) throw new Error(`no ${type} box in ${parent.type}`);
  return found;
}

function grow(b: Buffer, box: Box, by: number): void {
  b.writeUInt32BE(box.size + by, box.start);
}

/**
 * Adds `irot` (anticlockwise quarter turns, 0..3) and/or `imir` (axis 0: vertical axis, i.e.
 * left-right; 1: horizontal axis) to the primary item of a HEIF file whose `mdat` follows `meta`.
 */
export function withHeifTransforms(source: Buffer, t: { rotate?: 0 | 1 | 2 | 3; mirror?: 0 | 1 }): Buffer {
  const top = boxes(source, 0, source.length);
  const metaBox = top.find((x) => x.type === "meta");
  if (!metaBox) throw new Error("no meta box");
  const b = Buffer.from(source);
  const meta = metaBox;
  const pitm = child(b, meta, "pitm", 4);
  const primary = b.readUInt8(pitm.start + 8) === 0 ? b.readUInt16BE(pitm.start + 12) : b.readUInt32BE(pitm.start + 12);
  const iprp = child(b, meta, "iprp", 4);
  const ipco = child(b, iprp, "ipco");
  const ipma = child(b, iprp, "ipma");
  const iloc = child(b, meta, "iloc", 4);

  const added: Buffer[] = [];
  if (t.rotate !== undefined) added.push(Buffer.from([0, 0, 0, 9, ...Buffer.from("irot"), t.rotate]));
  if (t.mirror !== undefined) added.push(Buffer.from([0, 0, 0, 9, ...Buffer.from("imir"), t.mirror]));
  const props = Buffer.concat(added);
  const firstIndex = boxes(b, ipco.start + ipco.header, ipco.start + ipco.size).length + 1;

  // ipma (version 0, flags 0: 2-byte item ids, 1-byte associations): find the primary's entry.
  const ipmaVersion = b.readUInt8(ipma.start + 8);
  const ipmaFlags = b.readUIntBE(ipma.start + 9, 3);
  if (ipmaVersion !== 0 || (ipmaFlags & 1) !== 0) throw new Error("ipma layout not supported");
  let p = ipma.start + 12;
  const entries = b.readUInt32BE(p);
  p += 4;
  let insertAt = -1;
  let countAt = -1;
  for (let i = 0; i < entries; i++) {
    const id = b.readUInt16BE(p);
    const n = b.readUInt8(p + 2);
    if (id === primary) {
      countAt = p + 2;
      insertAt = p + 3 + n;
    }
    p += 3 + n;
  }
  if (insertAt < 0) throw new Error("primary item has no properties");
  const assoc = Buffer.from(added.map((_, i) => 0x80 | (firstIndex + i)));
  const delta = props.length + assoc.length;

  // iloc offsets point into mdat, after meta: every extent moves by delta.
  const ilocVersion = b.readUInt8(iloc.start + 8);
  let q = iloc.start + 12;
  const sizes = b.readUInt16BE(q);
  q += 2;
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 15;
  const baseSize = (sizes >> 4) & 15;
  const indexSize = ilocVersion === 1 || ilocVersion === 2 ? sizes & 15 : 0;
  const itemCount = ilocVersion < 2 ? b.readUInt16BE(q) : b.readUInt32BE(q);
  q += ilocVersion < 2 ? 2 : 4;
  const bump = (at: number, size: number) => {
    if (size === 4) b.writeUInt32BE(b.readUInt32BE(at) + delta, at);
    else if (size === 8) b.writeBigUInt64BE(b.readBigUInt64BE(at) + BigInt(delta), at);
  };
  for (let i = 0; i < itemCount; i++) {
    q += ilocVersion < 2 ? 2 : 4;
    const construction = ilocVersion === 0 ? 0 : b.readUInt16BE(q) & 15;
    if (ilocVersion !== 0) q += 2;
    q += 2; // data reference index
    const baseAt = q;
    q += baseSize;
    const extents = b.readUInt16BE(q);
    q += 2;
    if (construction === 0 && baseSize > 0 && b.readUIntBE(baseAt, baseSize) > 0) bump(baseAt, baseSize);
    for (let e = 0; e < extents; e++) {
      q += indexSize;
      if (construction === 0 && (baseSize === 0 || b.readUIntBE(baseAt, baseSize) === 0)) bump(q, offsetSize);
      q += offsetSize + lengthSize;
    }
  }

  b.writeUInt8(b.readUInt8(countAt) + assoc.length, countAt);
  grow(b, meta, delta);
  grow(b, iprp, delta);
  grow(b, ipco, props.length);
  grow(b, ipma, assoc.length);
  const ipcoEnd = ipco.start + ipco.size;
  return Buffer.concat([b.subarray(0, ipcoEnd), props, b.subarray(ipcoEnd, insertAt), assoc, b.subarray(insertAt)]);
}

/** Rewrites the EXIF orientation tag (0x0112) of a file's first `Exif\0\0` block in place. */
export function withExifOrientationTag(source: Buffer, orientation: number): Buffer {
  const b = Buffer.from(source);
  const big = b.indexOf(Buffer.from("Exif\0\0MM\0*", "latin1"));
  const at = big >= 0 ? big : b.indexOf(Buffer.from("Exif\0\0II*\0", "latin1"));
  if (at < 0) throw new Error("no EXIF block");
  const tiff = at + 6;
  const le = b.toString("latin1", tiff, tiff + 2) === "II";
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = tiff + u32(tiff + 4);
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) === 0x0112) {
      if (le) b.writeUInt16LE(orientation, entry + 8);
      else b.writeUInt16BE(orientation, entry + 8);
      return b;
    }
  }
  throw new Error("no orientation tag in IFD0");
}
