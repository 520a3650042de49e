/**
 * Incremental parsing of image files without holding them in memory.
 *
 * A format parser is a generator that asks for bytes (`take` a few header bytes, `skip` a chunk's
 * payload, look at the next `chunk` of scan data) and returns what it learnt. The driver feeds it
 * whatever a stream delivers, so the same parser reads a Buffer, a file or an inflating zip entry,
 * and memory is bounded by the largest `take` (a JPEG segment, at most 64 KiB), not by the file.
 */
import type { DetectResult, ImageInfo } from "./types.js";

/** A user-facing reason a file is not a usable image; thrown by parsers. */
export class ImageProblem extends Error {}

export type ParseRequest =
  | { readonly op: "take"; readonly n: number; readonly where: string }
  | { readonly op: "skip"; readonly n: number; readonly where: string; readonly each?: (bytes: Uint8Array) => void }
  | { readonly op: "chunk" }
  | { readonly op: "unread"; readonly bytes: Uint8Array }
  | { readonly op: "info"; readonly info: ImageInfo };

type Resumed = Uint8Array | null | undefined;
export type ParseSteps<T> = Generator<ParseRequest, T, Resumed>;
export type ImageParser = ParseSteps<ImageInfo>;

/** Exactly `n` bytes; `where` completes "truncated: the file ends ..." if they never come. */
export function* take(n: number, where: string): ParseSteps<Uint8Array> {
  return (yield { op: "take", n, where }) as Uint8Array;
}

/** Passes over `n` bytes without keeping them, showing each piece to `each`. */
export function* skip(n: number, where: string, each?: (bytes: Uint8Array) => void): ParseSteps<void> {
  if (n > 0) yield each ? { op: "skip", n, where, each } : { op: "skip", n, where };
}

/** The next bytes available, however many (at least one), or null at the end of the input. */
export function* nextChunk(): ParseSteps<Uint8Array | null> {
  return (yield { op: "chunk" }) as Uint8Array | null;
}

/** Gives back bytes a parser took too many of; they are delivered again first. */
export function* unread(bytes: Uint8Array): ParseSteps<void> {
  if (bytes.length > 0) yield { op: "unread", bytes };
}

/** Announces the format and size as soon as they are known, for callers that only have a head. */
export function* announce(info: ImageInfo): ParseSteps<void> {
  yield { op: "info", info };
}

export class ParserDriver {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private request: ParseRequest | undefined;
  private skipLeft = 0;
  private result: ImageInfo | undefined;
  private problem: string | undefined;
  private announced: ImageInfo | undefined;

  constructor(private readonly parser: ImageParser) {
    this.resume(undefined);
  }

  /** True once the parser has finished or failed: further bytes change nothing. */
  get settled(): boolean {
    return this.result !== undefined || this.problem !== undefined;
  }

  get failed(): boolean {
    return this.problem !== undefined;
  }

  push(chunk: Uint8Array): void {
    if (this.settled || chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.pump(false);
  }

  /**
   * Ends the input. With `partial`, the bytes were only the head of a file: once the format and
   * size are known, running out of bytes is expected rather than truncation.
   */
  finish(partial = false): DetectResult {
    this.pump(true);
    if (this.result) return this.result;
    if (partial && this.announced && this.problem?.startsWith("truncated")) return this.announced;
    return { problem: this.problem ?? "unreadable" };
  }

  private pump(atEnd: boolean): void {
    while (!this.settled && this.request) {
      const r = this.request;
      switch (r.op) {
        case "take":
          if (this.queued >= r.n) this.resume(this.read(r.n));
          else if (atEnd) this.fail(`truncated: the file ends ${r.where}`);
          else return;
          break;
        case "skip":
          this.skipLeft -= this.drop(this.skipLeft, r.each);
          if (this.skipLeft === 0) this.resume(undefined);
          else if (atEnd) this.fail(`truncated: the file ends ${r.where}`);
          else return;
          break;
        case "chunk":
          if (this.queued > 0) {
            const first = this.queue.shift()!;
            this.queued -= first.length;
            this.resume(first);
          } else if (atEnd) this.resume(null);
          else return;
          break;
        case "unread":
          this.queue.unshift(r.bytes);
          this.queued += r.bytes.length;
          this.resume(undefined);
          break;
        case "info":
          this.announced = r.info;
          this.resume(undefined);
          break;
      }
    }
  }

  private resume(value: Resumed): void {
    try {
      const step = this.parser.next(value);
      if (step.done) {
        this.result = step.value;
        this.release();
      } else {
        this.request = step.value;
        if (step.value.op === "skip") this.skipLeft = step.value.n;
      }
    } catch (err) {
      if (!(err instanceof ImageProblem)) throw err;
      this.fail(err.message);
    }
  }

  private fail(problem: string): void {
    this.problem = problem;
    this.release();
  }

  private release(): void {
    this.request = undefined;
    this.queue = [];
    this.queued = 0;
  }

  private read(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.queue[0]!;
      const part = Math.min(head.length, n - filled);
      out.set(head.subarray(0, part), filled);
      filled += part;
      if (part === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(part);
    }
    this.queued -= n;
    return out;
  }

  private drop(n: number, each: ((bytes: Uint8Array) => void) | undefined): number {
    let dropped = 0;
    while (dropped < n && this.queue.length > 0) {
      const head = this.queue[0]!;
      const part = Math.min(head.length, n - dropped);
      each?.(head.subarray(0, part));
      dropped += part;
      if (part === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(part);
    }
    this.queued -= dropped;
    return dropped;
  }
}

export function u16be(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u24le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
}

export function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
