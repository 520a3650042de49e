/**
 * `sselfie prepare` as users run it: the built binary, no token, no database (not even opened),
 * no Replicate; the contract's JSON; exit 2 with the output still written when images fail.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";
import { NO_FACE_CHECKS } from "../support/cli-env.js";
import { writeFiles } from "../support/images.js";
import { fixture, photoSet } from "../support/photos.js";
import { tempDir } from "../support/temp-dirs.js";

const IMAGE_KEYS = [
  "converted",
  "face",
  "format",
  "height",
  "metadataRemoved",
  "name",
  "problems",
  "rotated",
  "sha256",
  "source",
  "sourceHeight",
  "sourceSha256",
  "sourceWidth",
  "width",
].sort();

let good: string;
beforeAll(async () => {
  const files = await photoSet(10, 900);
  files.set("IMG_5910.jpg", fixture("IMG_5910.jpg"));
  good = writeFiles(tempDir("sselfie-cli-prep-"), files);
});

/** An environment where any attempt to open a database fails loudly. */
function offlineEnv() {
  const home = tempDir("sselfie-cli-prep-home-");
  return { home, env: { SSELFIE_HOME: home, DATABASE_URL: "postgres://nobody@127.0.0.1:9/none", ...NO_FACE_CHECKS } };
}

it("prepare --json needs no token, database or Replicate, prints the contract's document and writes the folder", async () => {
  const { home, env } = offlineEnv();
  const cwd = tempDir("sselfie-cli-prep-cwd-");
  const r = await runCli(["prepare", "--images", good, "--json"], { env, cwd });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  expect(Object.keys(r.json).sort()).toEqual(["count", "images", "ok", "problems"]);
  expect(r.json).toMatchObject({ ok: true, count: 11, problems: [] });
  for (const image of r.json.images) expect(Object.keys(image).sort()).toEqual(IMAGE_KEYS);
  expect(r.json.images[0]).toMatchObject({ source: "IMG_5910.jpg", name: "01-img_5910.jpg", metadataRemoved: ["exif", "gps", "xmp", "iptc", "icc"] });

  const out = join(cwd, "sselfie-prepared");
  expect(readdirSync(out)).toHaveLength(13);
  expect(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"))).toEqual(r.json);
  // The embedded database was never created (nor the server at DATABASE_URL reached).
  expect(readdirSync(home)).toEqual([]);
});

it("exits 2 with every problem listed, and still writes the prepared images, manifest and contact sheet", async () => {
  const { env } = offlineEnv();
  const source = writeFiles(tempDir("sselfie-cli-prep-bad-"), [
    ...(await photoSet(9, 950)),
    ["broken.jpg", "not a photo at all"],
    ["empty.png", Buffer.alloc(0)],
  ]);
  const out = join(tempDir("sselfie-cli-prep-out-"), "checked");
  const r = await runCli(["prepare", "--images", source, "--out", out, "--json"], { env });
  expect(r.code).toBe(2);
  expect(r.json.ok).toBe(false);
  expect(r.json.images.filter((i: { problems: unknown[] }) => i.problems.length).map((i: { source: string }) => i.source)).toEqual([
    "broken.jpg",
    "empty.png",
  ]);
  expect(r.json.problems.map((p: { code: string }) => p.code)).toEqual(["TOO_FEW_IMAGES"]);
  expect(existsSync(join(out, "contact-sheet.png"))).toBe(true);
  expect(readdirSync(out).filter((n) => n.endsWith(".jpg"))).toHaveLength(9);

  const text = await runCli(["prepare", "--images", source, "--out", join(out, "..", "again")], { env });
  expect(text.code).toBe(2);
  expect(text.stdout).toContain("broken.jpg: is not a JPEG, PNG, WebP, HEIC/HEIF or AVIF image");
  expect(text.stdout).toContain("[EMPTY_FILE]");
});

it("refuses an output folder that is not empty (exit 2) and touches nothing in it", async () => {
  const { env } = offlineEnv();
  const out = tempDir("sselfie-cli-prep-busy-");
  writeFileSync(join(out, "mine.jpg"), "keep");
  const r = await runCli(["prepare", "--images", good, "--out", out, "--json"], { env });
  expect(r.code).toBe(2);
  expect(r.json.error.code).toBe("OUT_DIR_NOT_EMPTY");
  expect(readdirSync(out)).toEqual(["mine.jpg"]);
});

it("Ctrl-C while preparing exits 130 and leaves no output folder and no temporary files", async () => {
  const { env } = offlineEnv();
  const source = writeFiles(tempDir("sselfie-cli-prep-int-"), await photoSet(16, 970, { width: 2400, height: 3000 }));
  const parent = tempDir("sselfie-cli-prep-intout-");
  const child = spawn(process.execPath, [BIN, "prepare", "--images", source, "--out", join(parent, "out")], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // Interrupted mid-work, whatever the machine's speed: once the first prepared photo is in the
  // staging folder beside the output (a fixed delay let a fast machine finish first).
  const staged = () =>
    readdirSync(parent)
      .filter((name) => name.startsWith(".sselfie-prepare-"))
      .some((name) => readdirSync(join(parent, name)).length > 0);
  const watch = setInterval(() => {
    if (staged()) {
      clearInterval(watch);
      child.kill("SIGINT");
    }
  }, 5);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearInterval(watch);
  expect(code, stderr).toBe(130);
  expect(stderr).toContain("Interrupted");
  expect(readdirSync(parent)).toEqual([]);
});
