/** PNG signature, the IHDR chunk header that must follow it, and the IEND chunk every complete PNG ends with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IHDR_HEADER = Buffer.from([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
export const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
/** Bytes of the start and the end that checkPngEnds needs. */
export const PNG_HEAD_BYTES = 16;
export const PNG_TAIL_BYTES = PNG_IEND.length;

/** Why a file that starts with `head` and ends with `tail` is not a whole PNG, or null. */
export function checkPngEnds(head: Buffer, tail: Buffer): string | null {
  if (head.length < PNG_HEAD_BYTES || !head.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return "it does not start with the PNG signature";
  }
  if (!head.subarray(8, 16).equals(IHDR_HEADER)) return "its first chunk is not IHDR";
  if (tail.length < PNG_TAIL_BYTES || !tail.subarray(-PNG_TAIL_BYTES).equals(PNG_IEND)) {
    return "it does not end with the IEND chunk (truncated?)";
  }
  return null;
}
