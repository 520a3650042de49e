/** Whether an EXIF block (as sharp returns it, `Exif\0\0` + TIFF) points to a GPS directory. */
export function exifHasGps(exif: Buffer): boolean {
  try {
    const tiff = exif.subarray(0, 6).toString("latin1") === "Exif\0\0" ? 6 : 0;
    const order = exif.toString("latin1", tiff, tiff + 2);
    if (order !== "II" && order !== "MM") return false;
    const le = order === "II";
    const u16 = (o: number) => (le ? exif.readUInt16LE(o) : exif.readUInt16BE(o));
    const u32 = (o: number) => (le ? exif.readUInt32LE(o) : exif.readUInt32BE(o));
    const ifd0 = tiff + u32(tiff + 4);
    const entries = u16(ifd0);
    for (let i = 0; i < entries; i++) if (u16(ifd0 + 2 + i * 12) === 0x8825) return true;
  } catch {
    // Truncated EXIF: what it may have held is removed all the same.
  }
  return false;
}
