import * as zlib from "node:zlib";

/** CRC-32 (ISO-HDLC), as PNG chunks and zip entries use it; `crc` continues an earlier value. */
export type Crc32 = (data: Uint8Array, crc?: number) => number;

let table: Uint32Array | undefined;

function crc32Table(): Uint32Array {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  return table;
}

export const crc32Js: Crc32 = (data, crc = 0) => {
  const t = crc32Table();
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
};

// zlib.crc32 arrived in Node 20.15; the engines field allows 20.11, which lacks it.
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export const crc32: Crc32 = native ? (data, crc = 0) => native(data, crc) : crc32Js;
