/**
 * AbortSignal while downloading: every download stops, nothing this call wrote stays on disk
 * (neither a partial `.part` file nor an image already complete, since none is recorded), and the
 * call rejects with the signal's reason instead of reporting failed downloads.
 */
import { createServer, type Server } from "node:http";
import { readdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { downloadOutputs } from "../../src/generation/download.js";
import { tempDir } from "../support/temp-dirs.js";
import { makePng } from "../support/images.js";

let server: Server;
let base: string;
const stalled: Array<() => void> = [];

beforeAll(async () => {
  const png = makePng({ width: 16, height: 16 });
  server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "image/png" });
    if (req.url === "/whole.png") return res.end(png);
    // Half an image, then nothing until the test ends.
    res.write(png.subarray(0, png.length >> 1));
    stalled.push(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const end of stalled) end();
  await new Promise((r) => server.close(r));
});

it("an abort stops the downloads, removes every file the call wrote and rejects with the signal's reason", async () => {
  const dir = tempDir("sselfie-abort-");
  const controller = new AbortController();
  const reason = new DOMException("stop", "AbortError");
  const started = Date.now();
  const pending = downloadOutputs([`${base}/whole.png`, `${base}/stall-1.png`, `${base}/stall-2.png`], dir, "p1", {
    signal: controller.signal,
    timeoutMs: 30_000,
  });
  // The whole image is saved and the other two are mid-body before the abort.
  const seen = () => readdirSync(dir).map((f) => (f.endsWith(".part") ? "part" : f)).sort().join(",");
  await expect.poll(seen, { timeout: 10_000 }).toBe("p1-0.png,part,part");
  controller.abort(reason);
  await expect(pending).rejects.toBe(reason);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(readdirSync(dir)).toEqual([]);
});

it("without an abort, a failed output is reported and the others are kept", async () => {
  const dir = tempDir("sselfie-abort-");
  const outputs = await downloadOutputs([`${base}/whole.png`, `${base}/stall-3.png`], dir, "p2", { timeoutMs: 300, attempts: 1 });
  expect(outputs[0]).toMatchObject({ file: expect.stringMatching(/p2-0\.png$/) });
  expect(outputs[1]).toMatchObject({ file: null, error: expect.stringMatching(/timed out/) });
  expect(readdirSync(dir)).toEqual(["p2-0.png"]);
});
