/**
 * Two facts about a HEIF/AVIF container that its decoders do not tell: whether the primary image
 * carries its own rotation (`irot`) or mirror (`imir`) property (the decoders apply them; this only
 * tells the report that the image was turned), and whether every item's data is inside the file
 * (libheif decodes a cut-short HEIC's grid with tiles missing, without an error).
 */

interface Box {
  readonly type: string;
  readonly body: number;
  readonly end: number;
}

function* boxes(b: Buffer, start: number, end: number): Generator<Box> {
  for (let at = start; at + 8 <= end; ) {
    let size = b.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(b.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return;
    yield { type: b.toString("latin1", at + 4, at + 8), body: at + header, end: at + size };
    at += size;
  }
}

function find(b: Buffer, start: number, end: number, type: string): Box | undefined {
  for (const box of boxes(b, start, end)) if (box.type === type) return box;
  return undefined;
}

/** `{ rotated }` is true when the primary item has a non-zero irot or any imir. */
export function heifTransforms(b: Buffer): { rotated: boolean } {
  try {
    const meta = find(b, 0, b.length, "meta");
    if (!meta) return { rotated: false };
    const inner = meta.body + 4; // full box: version and flags
    const pitm = find(b, inner, meta.end, "pitm");
    const iprp = find(b, inner, meta.end, "iprp");
    if (!pitm || !iprp) return { rotated: false };
    const primary = b[pitm.body] === 0 ? b.readUInt16BE(pitm.body + 4) : b.readUInt32BE(pitm.body + 4);
    const ipco = find(b, iprp.body, iprp.end, "ipco");
    const ipma = find(b, iprp.body, iprp.end, "ipma");
    if (!ipco || !ipma) return { rotated: false };
    const props = [...boxes(b, ipco.body, ipco.end)];

    const version = b[ipma.body]!;
    const flags = b.readUIntBE(ipma.body + 1, 3);
    let at = ipma.body + 4;
    const count = b.readUInt32BE(at);
    at += 4;
    for (let i = 0; i < count && at < ipma.end; i++) {
      const id = version < 1 ? b.readUInt16BE(at) : b.readUInt32BE(at);
      at += version < 1 ? 2 : 4;
      const n = b[at]!;
      at += 1;
      for (let k = 0; k < n; k++) {
        const index = flags & 1 ? b.readUInt16BE(at) & 0x7fff : b[at]! & 0x7f;
        at += flags & 1 ? 2 : 1;
        if (id !== primary || index === 0) continue;
        const prop = props[index - 1];
        if (prop?.type === "imir") return { rotated: true };
        if (prop?.type === "irot" && (b[prop.body]! & 3) !== 0) return { rotated: true };
      }
    }
  } catch {
    // A malformed container is the decoder's to refuse; the report just says "not rotated".
  }
  return { rotated: false };
}

/**
 * False when an item's data (an `iloc` extent stored in the file) reaches past the file's end:
 * the file was cut short. True when there is nothing to check.
 */
export function heifExtentsInFile(b: Buffer): boolean {
  try {
    const meta = find(b, 0, b.length, "meta");
    if (!meta) return true;
    const iloc = find(b, meta.body + 4, meta.end, "iloc");
    if (!iloc) return true;
    const version = b[iloc.body]!;
    let at = iloc.body + 4;
    const sizes = b.readUInt16BE(at);
    at += 2;
    const offsetSize = sizes >> 12;
    const lengthSize = (sizes >> 8) & 15;
    const baseSize = (sizes >> 4) & 15;
    const indexSize = version === 1 || version === 2 ? sizes & 15 : 0;
    const uint = (size: number): number => {
      const value = size === 0 ? 0 : size === 8 ? Number(b.readBigUInt64BE(at)) : b.readUIntBE(at, size);
      at += size;
      return value;
    };
    const items = version < 2 ? uint(2) : uint(4);
    for (let i = 0; i < items; i++) {
      uint(version < 2 ? 2 : 4);
      const construction = version === 0 ? 0 : uint(2) & 15;
      uint(2);
      const base = uint(baseSize);
      const extents = uint(2);
      for (let e = 0; e < extents; e++) {
        uint(indexSize);
        const offset = uint(offsetSize);
        const length = uint(lengthSize);
        if (construction === 0 && base + offset + length > b.length) return false;
      }
    }
  } catch {
    return false;
  }
  return true;
}
