/**
 * Recognises a JPEG, PNG or WebP by its content and reads its size from its own headers, with
 * small parsers of our own (no image library). Feed it a whole file, a stream of chunks, or just
 * a file's head when only the format and size are wanted.
 */
import { parseJpeg } from "./jpeg-parser.js";
import { parsePng } from "./png-parser.js";
import { describeOtherContent, sniffImageFormat, SNIFF_BYTES } from "./sniff-format.js";
import { ParserDriver, type ImageParser } from "./stream-parser.js";
import type { DetectResult, ImageFormat } from "./types.js";
import { parseWebp } from "./webp-parser.js";

const PARSERS: Record<ImageFormat, () => ImageParser> = { jpeg: parseJpeg, png: parsePng, webp: parseWebp };

export const ACCEPTED_FORMATS = "JPEG, PNG or WebP";

export interface ImageScanner {
  push(chunk: Uint8Array): void;
  /** True once more bytes cannot change the verdict (the image ended, or it is refused). */
  readonly settled: boolean;
  /** True once the file is known to be unusable: reading the rest is pointless. */
  readonly failed: boolean;
  /** `partial`: the bytes were only the file's head; see detectImage. */
  finish(partial?: boolean): DetectResult;
}

function unsupported(head: Uint8Array): string {
  if (head.length === 0) return "empty file";
  const kind = describeOtherContent(head);
  return kind
    ? `${kind}, not a ${ACCEPTED_FORMATS}: convert it to JPEG, PNG or WebP`
    : `not a ${ACCEPTED_FORMATS} image (its content is not one of these, whatever its name says)`;
}

class SniffingScanner implements ImageScanner {
  private head: Uint8Array[] = [];
  private headBytes = 0;
  private driver: ParserDriver | undefined;
  private refusal: string | undefined;

  get settled(): boolean {
    return this.refusal !== undefined || (this.driver?.settled ?? false);
  }

  get failed(): boolean {
    return this.refusal !== undefined || (this.driver?.failed ?? false);
  }

  push(chunk: Uint8Array): void {
    if (this.driver) return this.driver.push(chunk);
    if (this.refusal !== undefined) return;
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes >= SNIFF_BYTES) this.choose();
  }

  finish(partial = false): DetectResult {
    if (!this.driver && this.refusal === undefined) this.choose();
    if (this.refusal !== undefined) return { problem: this.refusal };
    return this.driver!.finish(partial);
  }

  private choose(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    const format = sniffImageFormat(head);
    if (!format) {
      this.refusal = unsupported(head);
      return;
    }
    this.driver = new ParserDriver(PARSERS[format]());
    this.driver.push(head);
  }
}

export function createImageScanner(): ImageScanner {
  return new SniffingScanner();
}

/**
 * The format and size of the image in `bytes`, or why it is not a usable JPEG, PNG or WebP.
 * By default `bytes` is the whole file and its structure is checked to the end (truncation,
 * PNG CRCs, the WebP RIFF size). With `{ partial: true }` it may be just the file's head: the
 * answer comes as soon as the headers give the size.
 */
export function detectImage(bytes: Uint8Array, options: { partial?: boolean } = {}): DetectResult {
  const scanner = createImageScanner();
  scanner.push(bytes);
  return scanner.finish(options.partial ?? false);
}

export function isImageInfo(result: DetectResult): result is Exclude<DetectResult, { problem: string }> {
  return !("problem" in result);
}
