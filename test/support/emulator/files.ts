/** POST /files (multipart) and the file resource: metadata at urls.get, the bytes at urls.get + "/download". */
import { createHash } from "node:crypto";
import { isoMillis } from "./clock.js";
import { notFound, problem, type Reply } from "./http-util.js";
import { fileId } from "./ids.js";
import { boundaryOf, parseMultipart } from "./multipart.js";
import { paginate } from "./pagination.js";
import type { Ctx } from "./router.js";
import { apiUrl, assignSeq, type State } from "./state.js";
import type { EmulatedFile } from "./types.js";

/** Files expire 24 hours after upload (seen in a recording). */
export const FILE_TTL_MS = 24 * 3600 * 1000;
const JSON_UTF8 = "application/json; charset=UTF-8";

export function createFileHandler(ctx: Ctx): Reply {
  const { state } = ctx;
  const boundary = boundaryOf(ctx.headers["content-type"]);
  if (!boundary) return problem(400, "The request must be multipart/form-data.");
  let parts;
  try {
    parts = parseMultipart(ctx.rawBody, boundary);
  } catch (err) {
    return problem(400, `Malformed multipart body: ${(err as Error).message}`);
  }
  const content = parts.find((p) => p.name === "content");
  if (!content) return problem(400, "content: This field is required.");
  if (content.data.length > state.options.maxFileBytes) return tooLarge();
  const field = (name: string) => parts.find((p) => p.name === name)?.data.toString("utf8");
  let metadata: unknown = {};
  const metadataText = field("metadata");
  if (metadataText !== undefined && metadataText !== "") {
    try {
      metadata = JSON.parse(metadataText);
    } catch {
      return problem(400, "metadata: must be valid JSON.");
    }
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return problem(400, "metadata: must be a JSON object.");
  }
  const name = field("filename") || content.filename || "file";
  if (Buffer.byteLength(name) > 255) return problem(400, "filename: must be at most 255 bytes.");
  const bytes = Buffer.from(content.data);
  const file: EmulatedFile = {
    id: fileId(),
    name,
    contentType: field("type") || content.contentType || "application/octet-stream",
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    md5: createHash("md5").update(bytes).digest("hex"),
    metadata: metadata as Record<string, unknown>,
    account: ctx.account.username,
    createdAt: state.clock.now(),
  };
  state.files.set(file.id, file);
  assignSeq(state, file);
  return { status: 201, json: renderFile(state, file), contentType: JSON_UTF8 };
}

export function tooLarge(): Reply {
  return problem(413, "Files must be less than 100MB in size");
}

export function renderFile(state: State, f: EmulatedFile): Record<string, unknown> {
  return {
    id: f.id,
    name: f.name,
    content_type: f.contentType,
    size: f.bytes.length,
    etag: f.md5,
    checksums: { sha256: f.sha256, md5: f.md5 },
    metadata: f.metadata,
    created_at: isoMillis(f.createdAt),
    expires_at: isoMillis(f.createdAt + FILE_TTL_MS),
    urls: { get: apiUrl(state, `/files/${f.id}`) },
  };
}

function liveFile(state: State, id: string | undefined): EmulatedFile | undefined {
  const f = id === undefined ? undefined : state.files.get(id);
  return f && state.clock.now() < f.createdAt + FILE_TTL_MS ? f : undefined;
}

function ownFile(ctx: Ctx): EmulatedFile | undefined {
  const f = liveFile(ctx.state, ctx.params[0]);
  return f && f.account === ctx.account.username ? f : undefined;
}

const fileNotFound = () => problem(404, "File not found");

export function getFileHandler(ctx: Ctx): Reply {
  const f = ownFile(ctx);
  return f ? { status: 200, json: renderFile(ctx.state, f), contentType: JSON_UTF8 } : fileNotFound();
}

export function downloadFileHandler(ctx: Ctx): Reply {
  const f = ownFile(ctx);
  return f ? { status: 200, bytes: f.bytes, contentType: f.contentType } : fileNotFound();
}

export function deleteFileHandler(ctx: Ctx): Reply {
  const f = ownFile(ctx);
  if (!f) return fileNotFound();
  ctx.state.files.delete(f.id);
  return { status: 204 };
}

export function listFilesHandler(ctx: Ctx): Reply {
  const { state } = ctx;
  const mine = [...state.files.values()].filter((f) => f.account === ctx.account.username && liveFile(state, f.id));
  // Ordered by id, as the recorded list is (not by upload time).
  const page = paginate(state, mine, ctx.query.get("cursor") ?? undefined, apiUrl(state, "/files"), undefined, (f) => f.id);
  if (!page) return notFound();
  return { status: 200, json: { ...page, results: page.results.map((f) => renderFile(state, f)) }, contentType: JSON_UTF8 };
}

/** The bytes behind a file's urls.get (or its /download URL, or a data: URL); undefined if unknown or expired. */
export function fileBytesFromUrl(state: State, url: string): Buffer | undefined {
  const data = /^data:[^,]*?(;base64)?,(.*)$/s.exec(url);
  if (data) return data[1] ? Buffer.from(data[2]!, "base64") : Buffer.from(decodeURIComponent(data[2]!));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.origin !== state.origin) return undefined;
  const m = /^\/v1\/files\/([^/]+)(?:\/download)?\/?$/.exec(parsed.pathname);
  return m ? liveFile(state, m[1])?.bytes : undefined;
}
