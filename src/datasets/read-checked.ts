/**
 * Reads one file or zip entry once, as a stream: hashing it, counting the bytes that actually
 * arrive (never trusting a declared size), checking a zip entry's CRC, and stopping early when
 * the bytes exceed their cap or inflate suspiciously far beyond their compressed size.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { formatBytes } from "./format-bytes.js";

export interface ReadCaps {
  readonly maxBytes: number;
  /** For a zip entry: its compressed size, CRC-32 and the ratio beyond which it is a bomb. */
  readonly zip?: { readonly compressedSize: number; readonly crc32: number; readonly maxRatio: number; readonly ratioFloor: number };
}

export type ReadOutcome<T> =
  | { readonly ok: true; readonly bytesRead: number; readonly size: number; readonly sha256: string; readonly value: T }
  | { readonly ok: false; readonly bytesRead: number; readonly problem: string };

interface Consumer<T> {
  /** Sees each chunk; answers a problem to stop reading. */
  push(chunk: Buffer): string | undefined;
  finish(): { value: T } | { problem: string };
}

function describeReadError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : String(err);
  if (e.code === "EACCES" || e.code === "EPERM") return "cannot be read (permission denied)";
  if (e.code === "ELOOP") return "was replaced by a symbolic link while it was being checked";
  if (/too many bytes in the stream/.test(message)) {
    return "inflates to more bytes than the zip declares for it (a zip bomb, or a damaged zip)";
  }
  if (/not enough bytes in the stream/.test(message)) return "is damaged in the zip (shorter than declared)";
  if (typeof e.code === "string" && e.code.startsWith("Z_")) return "is damaged in the zip (its data does not inflate)";
  return `could not be read (${message})`;
}

async function readChecked<T>(open: () => Promise<Readable>, caps: ReadCaps, consumer: Consumer<T>): Promise<ReadOutcome<T>> {
  const hash = createHash("sha256");
  let bytes = 0;
  let crc = 0;
  const stop = (problem: string): ReadOutcome<T> => ({ ok: false, bytesRead: bytes, problem });
  try {
    const stream = await open();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > caps.maxBytes) return stop(`is larger than the ${formatBytes(caps.maxBytes)} allowed`);
      const zip = caps.zip;
      if (zip && bytes > zip.ratioFloor && bytes > zip.compressedSize * zip.maxRatio) {
        return stop(`inflates to more than ${zip.maxRatio} times its compressed size (a zip bomb?)`);
      }
      hash.update(chunk);
      if (zip) crc = crc32(chunk, crc);
      const problem = consumer.push(chunk);
      if (problem !== undefined) return stop(problem);
    }
  } catch (err) {
    return stop(describeReadError(err));
  }
  if (caps.zip && crc !== caps.zip.crc32) return stop("is damaged in the zip (its CRC-32 does not match)");
  const done = consumer.finish();
  if ("problem" in done) return stop(done.problem);
  return { ok: true, bytesRead: bytes, size: bytes, sha256: hash.digest("hex"), value: done.value };
}

/** Reads a file's bytes whole (images are decoded from memory), under the same caps and checks. */
export function readBytes(open: () => Promise<Readable>, caps: ReadCaps): Promise<ReadOutcome<Buffer>> {
  const chunks: Buffer[] = [];
  return readChecked<Buffer>(open, caps, {
    push(chunk) {
      chunks.push(chunk);
      return undefined;
    },
    finish: () => ({ value: Buffer.concat(chunks) }),
  });
}
