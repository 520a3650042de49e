/**
 * Uploads: the timeout grows with the file (a slow uplink must not fail a big zip), and a failed
 * upload is tried again (an orphan file on Replicate costs nothing).
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { timeoutFor, UPLOAD_MIN_BYTES_PER_SECOND } from "../../src/replicate/http.js";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/types.js";
import { tempDir } from "../support/temp-dirs.js";
import { gatewayFor } from "./gateway-helpers.js";

let emu: Emulator;
emulatorForFile({}, (started) => {
  emu = started;
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function zipOf(bytes: number): { path: string; content: Buffer } {
  const content = Buffer.alloc(bytes, 7);
  const path = join(tempDir("upload-"), "images.zip");
  writeFileSync(path, content);
  return { path, content };
}

describe("the upload timeout", () => {
  it("gives a 40 MB zip more than an 8 Mbit/s uplink needs, on top of the request timeout", () => {
    const form = new FormData();
    form.append("content", new Blob([new Uint8Array(40_000_000)]), "images.zip");
    const at8Mbits = (40_000_000 / (8_000_000 / 8)) * 1000;
    expect(timeoutFor({ method: "POST", body: form }, 30_000)).toBeGreaterThan(30_000 + at8Mbits);
    expect(timeoutFor({ method: "POST", body: form }, 30_000)).toBe(30_000 + Math.ceil((40_000_000 / UPLOAD_MIN_BYTES_PER_SECOND) * 1000));
    expect(timeoutFor({ method: "GET" }, 30_000)).toBe(30_000);
  });

  it("lets an upload through a slow uplink that takes longer than the request timeout", async () => {
    const { path, content } = zipOf(64 * 1024);
    // 64 KiB at 32 KiB/s: about 2 s, four times the 500 ms request timeout.
    emu.inject({ kind: "slow-read", method: "POST", path: "/v1/files", bytesPerSecond: 32 * 1024 });
    const gw = gatewayFor(emu, { timeoutMs: 500, uploadBytesPerSecond: 16 * 1024 });
    const started = Date.now();
    const file = await gw.uploadFile(path, { contentType: "application/zip" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(sha256(emu.fileBytesFromUrl(file.urls.get)!)).toBe(sha256(content));
    expect(emu.requestsTo("POST", "/v1/files")).toHaveLength(1);
  });

  it("without the size allowance the same upload times out (the defect this guards)", async () => {
    const { path } = zipOf(64 * 1024);
    emu.inject({ kind: "slow-read", method: "POST", path: "/v1/files", bytesPerSecond: 32 * 1024 });
    const gw = gatewayFor(emu, { timeoutMs: 500, uploadBytesPerSecond: 1e12, maxRetries: 0 });
    const err = await caught(gw.uploadFile(path, { contentType: "application/zip" }));
    expect(err.message).toMatch(/timed out after 50\d ms/);
  });
});

describe("a failed upload is tried again", () => {
  it("after a dropped connection: two POSTs, the file arrives intact", async () => {
    const { path, content } = zipOf(10_000);
    emu.inject({ kind: "drop", method: "POST", path: "/v1/files" });
    const gw = gatewayFor(emu);
    const file = await gw.uploadFile(path, { filename: "u1.zip", contentType: "application/zip" });
    expect(emu.requestsTo("POST", "/v1/files").map((r) => r.status)).toEqual([0, 201]);
    expect(gw.waits).toHaveLength(1);
    expect(sha256(emu.fileBytesFromUrl(file.urls.get)!)).toBe(sha256(content));
    expect(file).toMatchObject({ name: "u1.zip", size: content.length });
  });

  it("after a 502", async () => {
    const { path, content } = zipOf(10_000);
    emu.inject({ kind: "status", method: "POST", path: "/v1/files", status: 502 });
    const gw = gatewayFor(emu);
    const file = await gw.uploadFile(path, { contentType: "application/zip" });
    expect(emu.requestsTo("POST", "/v1/files").map((r) => r.status)).toEqual([502, 201]);
    expect(sha256(emu.fileBytesFromUrl(file.urls.get)!)).toBe(sha256(content));
  });

  it("but not after a 413: the file is too large whatever the attempt", async () => {
    const { path } = zipOf(10_000);
    emu.inject({ kind: "status", method: "POST", path: "/v1/files", status: 413, body: { detail: "Files must be less than 100MB in size", status: 413 } });
    const err = await caught(gatewayFor(emu).uploadFile(path, { contentType: "application/zip" }));
    expect(err.code).toBe("REPLICATE_INVALID_INPUT");
    expect(emu.requestsTo("POST", "/v1/files")).toHaveLength(1);
  });
});
