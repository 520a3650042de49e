import type { IncomingMessage } from "node:http";

/** What a handler answers; server.ts turns it into bytes on the wire. */
export interface Reply {
  status: number;
  json?: unknown;
  bytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Handler streams the answer itself (server-sent events). */
  stream?: (res: import("node:http").ServerResponse) => Promise<void>;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, json: body, ...(headers ? { headers } : {}) };
}

/** Replicate's errors are application/problem+json `{detail, status}`, sometimes with `title`. */
export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): Reply {
  const { title, ...rest } = extra;
  const body = title === undefined ? { detail, status, ...rest } : { title, detail, status, ...rest };
  return { status, json: body, contentType: "application/problem+json" };
}

export const notFound = (): Reply => problem(404, "Not found.");

export class BodyTooLargeError extends Error {}

/** Reads the whole body, refusing more than `limit` bytes (the rest is never buffered); at most `bytesPerSecond` when given. */
export function readBody(req: IncomingMessage, limit: number, bytesPerSecond?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
      if (bytesPerSecond) {
        req.pause();
        setTimeout(() => req.resume(), (chunk.length / bytesPerSecond) * 1000);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
