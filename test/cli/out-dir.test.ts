/**
 * `--out` where no folder can be made fails at once, with the path and the reason, exit 2
 * `OUTPUT_DIR_UNWRITABLE`: under /proc (where Node's recursive mkdir never returned: `prepare
 * --out /proc/x/y/z` looped until killed), under a file, and nothing is started first (no
 * prediction is paid for, no photo prepared).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { runCli } from "../support/cli.js";
import { embeddedEnvWithModel, NO_FACE_CHECKS } from "../support/cli-env.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { type Emulator } from "../support/emulator/index.js";
import { goodImages, writeFiles } from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

vi.setConfig({ testTimeout: 120_000 });

const HAS_PROC = existsSync("/proc/self");
/** Each case must end well within this; a loop on mkdir is killed here and fails the test. */
const QUICK_MS = 30_000;

/** A file to put a folder under: every level below it is ENOTDIR. */
function aFile(): string {
  const file = join(tempDir("sselfie-out-file-"), "a-file");
  writeFileSync(file, "not a folder");
  return file;
}

let emulator: Emulator;
emulatorForFile({}, (started) => {
  emulator = started;
});

describe("generate --out", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = await embeddedEnvWithModel(emulator);
  });

  const cases: [string, () => string, boolean][] = [
    ["/proc/x", () => "/proc/x", HAS_PROC],
    ["/proc/x/y/z", () => "/proc/x/y/z", HAS_PROC],
    ["a folder under a file", () => join(aFile(), "x", "y"), true],
  ];
  for (const [name, out, runs] of cases) {
    it.skipIf(!runs)(`${name}: exit 2 OUTPUT_DIR_UNWRITABLE at once, before any prediction`, async () => {
      const dir = out();
      const r = await runCli(["generate", "--user", "42", "--prompt", "a portrait", "--out", dir, "--json"], { env, timeoutMs: QUICK_MS });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.json.error.code).toBe("OUTPUT_DIR_UNWRITABLE");
      expect(r.json.error.message).toContain(dir);
      expect(emulator.requestsTo("POST", "/v1/predictions")).toHaveLength(0);
    });
  }
});

describe("prepare --out", () => {
  let photos: string;
  beforeAll(() => {
    photos = writeFiles(tempDir("sselfie-out-photos-"), goodImages(3));
  });
  // No token, no database: prepare opens neither.
  const env = () => ({ SSELFIE_HOME: tempDir("sselfie-out-home-"), DATABASE_URL: "postgres://nobody@127.0.0.1:9/none", ...NO_FACE_CHECKS });

  const cases: [string, () => string, boolean][] = [
    ["/proc/x", () => "/proc/x", HAS_PROC],
    ["/proc/x/y/z", () => "/proc/x/y/z", HAS_PROC],
    ["a folder under a file", () => join(aFile(), "x", "y"), true],
  ];
  for (const [name, out, runs] of cases) {
    it.skipIf(!runs)(`${name}: exit 2 OUTPUT_DIR_UNWRITABLE at once, with the path and the reason`, async () => {
      const dir = out();
      const started = Date.now();
      const r = await runCli(["prepare", "--images", photos, "--out", dir, "--json"], { env: env(), timeoutMs: QUICK_MS });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.json.error.code).toBe("OUTPUT_DIR_UNWRITABLE");
      expect(r.json.error.message).toMatch(new RegExp(`Cannot write the prepared photos to ${dir.replaceAll("/", "\\/")}: .*(ENOENT|ENOTDIR|EACCES).*Choose another folder \\(--out\\)`));
      expect(Date.now() - started).toBeLessThan(QUICK_MS);
    });
  }
});
