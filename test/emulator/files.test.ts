import { createHash } from "node:crypto";
import Replicate from "replicate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../support/emulator/index.js";
import { call } from "./helpers.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ maxFileBytes: 64 * 1024 });
});
afterAll(() => emu.close());

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function form(bytes: Buffer, fields: Record<string, string> = {}, filename = "images.zip", type = "application/zip"): FormData {
  const f = new FormData();
  f.append("content", new Blob([bytes], { type }), filename);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

describe("POST /files", () => {
  it("keeps the bytes and describes them like the real API", async () => {
    const bytes = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff));
    const res = await call(emu, "POST", "/files", { body: form(bytes, { filename: "u42.zip", metadata: JSON.stringify({ user: "u42" }) }) });
    expect(res.status).toBe(201);
    expect(res.contentType).toBe("application/json; charset=UTF-8");
    expect(res.json).toMatchObject({
      name: "u42.zip",
      content_type: "application/zip",
      size: bytes.length,
      checksums: { sha256: sha256(bytes), md5: createHash("md5").update(bytes).digest("hex") },
      metadata: { user: "u42" },
      urls: { get: `${emu.url}/files/${res.json.id}` },
    });
    expect(Date.parse(res.json.expires_at) - Date.parse(res.json.created_at)).toBe(24 * 3600 * 1000);
    expect(res.json.id).toMatch(/^[A-Za-z0-9]+$/);
    expect(sha256(emu.fileBytesFromUrl(res.json.urls.get)!)).toBe(sha256(bytes));
    expect(emu.files.get(res.json.id)?.bytes.equals(bytes)).toBe(true);

    const meta = await call(emu, "GET", res.json.urls.get);
    expect(meta.json.checksums.sha256).toBe(sha256(bytes));
    const download = await fetch(`${res.json.urls.get}/download`, { headers: { authorization: `Bearer ${emu.token}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/zip");
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes));
    expect((await fetch(`${res.json.urls.get}/download`)).status).toBe(401);

    const [recorded] = emu.requestsTo("POST", "/v1/files").slice(-1);
    expect(recorded?.body).toEqual({
      fields: { filename: "u42.zip", metadata: '{"user":"u42"}' },
      files: [{ name: "content", filename: "images.zip", size: bytes.length, sha256: sha256(bytes) }],
    });
  });

  it("uses the part's filename and type when the fields are absent", async () => {
    const res = await call(emu, "POST", "/files", { body: form(Buffer.from("x"), {}, "a.txt", "text/plain") });
    expect(res.json).toMatchObject({ name: "a.txt", content_type: "text/plain", metadata: {} });
  });

  it("answers 413 over the size limit and keeps nothing", async () => {
    const before = emu.files.size;
    const res = await call(emu, "POST", "/files", { body: form(Buffer.alloc(64 * 1024 + 1)) });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ detail: "Files must be less than 100MB in size", status: 413 });
    const huge = await call(emu, "POST", "/files", { body: form(Buffer.alloc(2 * 1024 * 1024)) });
    expect(huge.status).toBe(413);
    expect(emu.files.size).toBe(before);
  });

  it("lists files by id, as the recorded list is, not by upload time", async () => {
    for (let i = 0; i < 6; i++) await call(emu, "POST", "/files", { body: form(Buffer.from(`f${i}`)) });
    const listed = (await call(emu, "GET", "/files")).json.results.map((f: { id: string }) => f.id) as string[];
    expect(listed.length).toBeGreaterThanOrEqual(6);
    expect(listed).toEqual([...listed].sort());
  });

  it("refuses a body without content, or with bad metadata", async () => {
    const noContent = new FormData();
    noContent.append("filename", "x");
    expect((await call(emu, "POST", "/files", { body: noContent })).status).toBe(400);
    expect((await call(emu, "POST", "/files", { body: form(Buffer.from("x"), { metadata: "{bad" }) })).status).toBe(400);
    expect((await call(emu, "POST", "/files", { body: { content: "x" } })).status).toBe(400);
  });

  it("works with the official client; delete and expiry make the file 404", async () => {
    const replicate = new Replicate({ auth: emu.token, baseUrl: emu.url });
    const bytes = Buffer.from("zip bytes");
    const file = (await replicate.files.create(bytes, { user: "u7" })) as { id: string; urls: { get: string }; metadata: unknown; size: number };
    expect(file).toMatchObject({ size: bytes.length, metadata: { user: "u7" } });
    expect(emu.fileBytesFromUrl(file.urls.get)?.equals(bytes)).toBe(true);
    expect(((await replicate.files.get(file.id)) as { id: string }).id).toBe(file.id);
    expect(await replicate.files.delete(file.id)).toBe(true);
    expect((await call(emu, "GET", `/files/${file.id}`)).status).toBe(404);
    expect(emu.fileBytesFromUrl(file.urls.get)).toBeUndefined();

    const later = await call(emu, "POST", "/files", { body: form(Buffer.from("y")) });
    emu.advance(24 * 3600 * 1000);
    expect((await call(emu, "GET", `/files/${later.json.id}`)).status).toBe(404);
    expect(emu.fileBytesFromUrl(later.json.urls.get)).toBeUndefined();
  });
});
